/**
 * The Slack builders with a maximal packet: every message, modal and Home view stays within Block
 * Kit's limits whatever the packet holds, and text typed into a packet can never ping anyone or
 * disguise a link.
 */
import type { HandoffEventView, HandoffView, PersonRef } from '../../../src/domain/view.js';
import type { HandoffStatus, UserAction } from '../../../src/domain/lifecycle.js';
import type { PacketField } from '../../../src/playbook/schema.js';
import type { CommandResult } from '../../../src/commands.js';
import { COMMAND_HELP } from '../../../src/commands.js';
import { CARD_ACTIONS, SLACK_VIEWS } from '../../../blocks/actions.js';
import { LIMITS, blockKitProblems } from '../../../blocks/slack/limits.js';
import { buildHandoffCard as buildCard, cardText, type CardContext } from '../../../blocks/slack/card.js';
import { buildDetailsModal, buildReassignModal, buildRejectModal } from '../../../blocks/slack/modals.js';
import { buildEscalationMessage, buildEventReply, buildNudgeMessage, buildRefusal } from '../../../blocks/slack/notices.js';
import { buildCommandReply } from '../../../blocks/slack/commands.js';
import { buildHomeView } from '../../../blocks/slack/home.js';
import { slackDate } from '../../../blocks/slack/format.js';
import { CHANNEL, viewFor, type AffordanceDirectory } from '../../../src/domain/affordances.js';
import { Policy } from '../../../src/domain/policy.js';

const NOW = new Date('2026-03-04T15:00:00Z');

/** A directory with nobody in it: the shared card's buttons depend on the status alone. */
const nobody: AffordanceDirectory = { byId: new Map(), teams: new Map(), playbook: { admins: [], people: [] }, leadsOf: () => new Set(), isAdmin: () => false };
/** The card as a channel sees it, with the core's affordances for that audience. */
const onChannel = (v: HandoffView) => viewFor(v, CHANNEL, { policy: new Policy(nobody), directory: nobody, transition: undefined, now: NOW });
const buildHandoffCard = (v: HandoffView, c: CardContext) => buildCard(onChannel(v), c);
const INJECTION = '<!channel> <!here> <!everyone> <@U0EVIL1234> <#C0SECRET99> <https://evil.example/login|Open your invoice> &amp; <b>';

const dana: PersonRef = { id: 'dana', name: 'Dana Kim', email: 'dana@example.com', slackUserId: 'U0DANA1234', teamsUserId: null };
const lee: PersonRef = { id: 'lee', name: 'Lee <!channel> Park', email: 'lee@example.com', slackUserId: null, teamsUserId: null };

function event(i: number, over: Partial<HandoffEventView> = {}): HandoffEventView {
  return { id: String(i), version: i, type: 'accepted', actor: dana, at: new Date(NOW.getTime() - 3600_000 + i * 1000).toISOString(), fromStatus: 'posted', toStatus: 'accepted', owner: dana, reasonCode: null, note: null, data: null, ...over };
}

function view(over: Partial<HandoffView> = {}): HandoffView {
  return {
    id: 4242,
    status: 'posted',
    version: 2,
    transition: 't',
    transitionName: 'Marketing → SDR',
    fromStage: 'marketing',
    toStage: 'sdr',
    teamId: 'sdr',
    account: { id: 1, name: 'Acme', domain: 'acme.example', crmId: '0015' },
    from: lee,
    owner: dana,
    routingReason: 'queue',
    slaDueAt: '2026-03-04T16:00:00Z',
    slaAcceptDueAt: '2026-03-04T16:00:00Z',
    slaFirstTouchDueAt: null,
    escalationLevel: 0,
    packet: { note: 'hello' },
    externalId: null,
    createdAt: '2026-03-04T14:00:00Z',
    updatedAt: '2026-03-04T14:00:00Z',
    acceptedAt: null,
    firstTouchAt: null,
    closedAt: null,
    events: [event(1, { type: 'routed', actor: null, fromStatus: 'received', toStatus: 'routed' }), event(2, { type: 'posted', actor: null, fromStatus: 'routed', toStatus: 'posted' })],
    ...over,
  };
}

/** 60 fields of every type, each value 10 000 characters full of mentions and links. */
const huge = (i: number) => `${INJECTION} field ${i} `.repeat(80).slice(0, 10_000);
const TYPES: PacketField['type'][] = ['string', 'text', 'number', 'boolean', 'enum', 'date', 'url', 'email', 'list'];
const maxFields: PacketField[] = Array.from({ length: 60 }, (_, i) => ({
  key: `field_${i}`,
  label: `${INJECTION} label ${i} ${'L'.repeat(300)}`,
  type: TYPES[i % TYPES.length]!,
  required: true,
  description: 'd',
  example: 'x',
}));
const maxPacket: Record<string, unknown> = Object.fromEntries(
  maxFields.map((f, i) => [f.key, f.type === 'list' ? Array.from({ length: 200 }, () => huge(i).slice(0, 500)) : f.type === 'number' ? 1e21 : f.type === 'boolean' ? true : huge(i)]),
);
const maxReasons = Array.from({ length: 150 }, (_, i) => ({ code: `reason_${i}_${'c'.repeat(200)}`, label: `${INJECTION} reason ${i}` }));
const maxTransition = { packet: maxFields, rejectReasons: maxReasons };
const maxEvents: HandoffEventView[] = Array.from({ length: 400 }, (_, i) =>
  event(i + 1, { type: ['accepted', 'rejected', 'reassigned', 'escalated', 'nudged', 'snoozed', 'first_touch'][i % 7]!, note: huge(i), reasonCode: `reason_${i % 150}`, data: { escalatedTo: { id: 'x', name: INJECTION }, point: 0.5, kind: 'accept' } }),
);
const maxView = view({
  account: { id: 9, name: `${INJECTION} ${'A'.repeat(500)}`, domain: 'a'.repeat(250) + '.example', crmId: INJECTION },
  routingReason: huge(1),
  externalId: huge(2),
  from: { ...lee, name: INJECTION + 'N'.repeat(500) },
  packet: { ...maxPacket, extra_unknown_key: huge(3) },
  events: maxEvents,
});

/** Every string in the JSON we send. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, out));
  return out;
}

/** The texts Slack parses for mentions and links: mrkdwn objects and a message's `text` (plain_text is shown verbatim). */
function parsedTexts(v: unknown, out: string[] = [], top = true): string[] {
  if (Array.isArray(v)) v.forEach((x) => parsedTexts(x, out, false));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.type === 'plain_text') return out;
    if ((o.type === 'mrkdwn' || top) && typeof o.text === 'string') out.push(o.text);
    for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') parsedTexts(x, out, false);
  }
  return out;
}

/** No live mention, broadcast, channel link or masked link from the packet survives; only Baton's own tokens remain. */
function expectInert(json: unknown) {
  const texts = parsedTexts(json);
  expect(texts.length).toBeGreaterThan(0);
  for (const s of texts) {
    expect(s).not.toMatch(/<!(channel|here|everyone)/);
    expect(s).not.toContain('<@U0EVIL1234');
    expect(s).not.toContain('<#C0SECRET99');
    expect(s).not.toContain('<https://evil');
    // Whatever is between < and > is ours: a date token or a playbook person's mention.
    for (const m of s.matchAll(/<([^>]*)>/g)) expect(m[1]).toMatch(/^(!date\^\d+\^[^|]+\|[^<>]*|@U0DANA1234)$/);
  }
}

const ALL_STATUSES: HandoffStatus[] = ['routed', 'posted', 'reassigned', 'escalated', 'accepted', 'rejected', 'completed', 'withdrawn'];
const ctx = (_status: HandoffStatus, transition: typeof maxTransition | undefined = maxTransition) => ({ transition, teamName: INJECTION, now: NOW });

describe('the handoff card with a maximal packet', () => {
  it.each(ALL_STATUSES)('stays within Block Kit limits and is inert when %s', (status) => {
    const v = { ...maxView, status };
    const card = buildHandoffCard(v, ctx(status));
    expect(blockKitProblems(card.blocks, 'message')).toEqual([]);
    expect(card.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
    expect(card.text.length).toBeLessThanOrEqual(LIMITS.messageText);
    expectInert(card);
  });

  it('cuts long values with an ellipsis and points to Full packet for fields that do not fit', () => {
    const card = buildHandoffCard(maxView, ctx('posted'));
    const text = strings(card.blocks).join('\n');
    expect(text).toContain('…');
    expect(text).toMatch(/…and \d+ more fields: open \*Full packet\* to see everything\./);
  });

  it('the full packet modal shows every field in full over several sections, within 100 blocks', () => {
    const modal = buildDetailsModal({ ...view(), packet: { a: '§'.repeat(7000), b: 'short' } }, { transition: undefined, now: NOW });
    expect(blockKitProblems(modal.blocks, 'modal', modal as unknown as Record<string, unknown>)).toEqual([]);
    const body = strings(modal.blocks).join('');
    expect(body.replace(/[^§]/g, '')).toHaveLength(7000); // nothing of the long value is lost
    const maximal = buildDetailsModal(maxView, { transition: maxTransition, now: NOW });
    expect(blockKitProblems(maximal.blocks, 'modal', maximal as unknown as Record<string, unknown>)).toEqual([]);
    expect(maximal.blocks.length).toBeLessThanOrEqual(LIMITS.modalBlocks);
    expect(strings(maximal.blocks).join('\n')).toContain('did not fit in Slack');
    expectInert(maximal);
  });

  it('the reject and reassign modals hold 100 options at most, with labels of 75 characters', () => {
    const reject = buildRejectModal(maxView, { reasons: maxReasons, channelId: 'C0123456' });
    const people = Array.from({ length: 300 }, (_, i) => ({ id: `p${i}`, name: `${INJECTION} person ${i}`, teamName: 'T'.repeat(100) }));
    const channelView = onChannel(maxView);
    const reassign = buildReassignModal({ ...channelView, affordances: { ...channelView.affordances, reassignCandidates: people, queueOffered: true } }, { channelId: 'C0123456' });
    for (const m of [reject, reassign]) {
      expect(blockKitProblems(m.blocks, 'modal', m as unknown as Record<string, unknown>)).toEqual([]);
      expect(JSON.parse(m.private_metadata!)).toEqual({ handoffId: 4242, version: 2, channelId: 'C0123456' });
      expectInert(m);
    }
    expect(reject.callback_id).toBe(SLACK_VIEWS.reject);
    expect(reassign.callback_id).toBe(SLACK_VIEWS.reassign);
  });

  it('reminders, escalations, thread replies and refusals stay within limits with any SLA data', () => {
    const messages = [
      buildNudgeMessage(onChannel(maxView), { kind: INJECTION, point: 0.5, dueAt: '2026-03-04T16:00:00Z' }, NOW),
      buildNudgeMessage(onChannel(maxView), 'garbage', NOW),
      buildEscalationMessage(onChannel(maxView), { escalatedTo: { id: 'x', name: INJECTION.repeat(50) }, level: 3 }, NOW),
      buildEscalationMessage(onChannel(maxView), { escalatedTo: 42, level: 'high', dueAt: 'never' }, NOW),
      ...maxEvents.slice(0, 7).map((e) => buildEventReply(e, maxReasons)),
      buildRefusal({ kind: 'forbidden', message: INJECTION.repeat(100) }),
      buildRefusal({ kind: 'conflict', status: 'accepted', by: INJECTION, at: NOW, message: '' }),
      buildRefusal({ kind: 'unknown_user', message: INJECTION.repeat(100) }),
    ];
    for (const m of messages) {
      expect(blockKitProblems(m.blocks, 'message')).toEqual([]);
      expect(m.text.length).toBeLessThanOrEqual(LIMITS.messageText);
      expectInert(m);
    }
  });

  it('command replies and the Home tab stay within limits with hundreds of handoffs', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ ...maxView, id: i + 1, events: [] }));
    const results: CommandResult[] = [
      { kind: 'help', problem: INJECTION, commands: COMMAND_HELP },
      { kind: 'pick_account', query: INJECTION, accounts: Array.from({ length: 10 }, (_, i) => ({ id: i, name: INJECTION, domain: `${i}.example`, crmId: INJECTION })) },
      { kind: 'owner', account: maxView.account, owners: Array.from({ length: 9 }, () => ({ stage: 's', stageName: INJECTION, owner: dana, since: NOW.toISOString() })), open: many },
      { kind: 'list', title: INJECTION, empty: 'none', handoffs: many, breachedIds: [1, 2, 3] },
      { kind: 'show', handoff: maxView },
      { kind: 'error', message: INJECTION },
    ];
    for (const r of results) {
      const m = buildCommandReply(r, { now: NOW, transitionOf: () => maxTransition });
      expect(blockKitProblems(m.blocks, 'message')).toEqual([]);
      expectInert(m);
    }
    const home = buildHomeView({ now: NOW, person: { name: INJECTION }, slackUserId: 'U0DANA1234', mine: many, breaches: { teams: INJECTION, handoffs: many } });
    expect(blockKitProblems(home.blocks, 'home')).toEqual([]);
    expect(home.blocks.length).toBeLessThanOrEqual(LIMITS.homeBlocks);
    expect(strings(home.blocks).join('\n')).toContain('Breached in');
    expectInert(home);
  });
});

describe('what the card says and offers', () => {
  const buttons = (status: HandoffStatus, over: Partial<HandoffView> = {}) =>
    buildHandoffCard(view({ status, ...over }), ctx(status, undefined)).blocks.flatMap((b) => (b.type === 'actions' ? b.elements.map((e) => ('action_id' in e ? e.action_id : '')) : []));
  const A = CARD_ACTIONS;

  it('awaiting acceptance: Accept (primary), Reject, Reassign, Full packet; the value is "id:version"', () => {
    for (const s of ['routed', 'posted', 'reassigned', 'escalated'] as const) expect(buttons(s)).toEqual([A.accept.slack, A.reject.slack, A.reassign.slack, A.details.slack]);
    const actions = buildHandoffCard(view(), ctx('posted')).blocks.find((b) => b.type === 'actions')!;
    const accept = actions.type === 'actions' ? actions.elements[0] : undefined;
    expect(accept).toMatchObject({ type: 'button', style: 'primary', value: '4242:2' });
  });
  it('accepted: Reassign, Log first touch (until logged), Complete, Full packet; closed: no buttons at all', () => {
    expect(buttons('accepted')).toEqual([A.reassign.slack, A.touch.slack, A.complete.slack, A.details.slack]);
    expect(buttons('accepted', { firstTouchAt: NOW.toISOString() })).toEqual([A.reassign.slack, A.complete.slack, A.details.slack]);
    for (const s of ['rejected', 'completed', 'withdrawn'] as const) expect(buttons(s)).toEqual([]);
  });
  it('the status line says who acted and when, with a date token each reader sees in their own zone', () => {
    const accepted = view({ status: 'accepted', version: 3, events: [...view().events!, event(3)] });
    const text = strings(buildHandoffCard(accepted, ctx('accepted', undefined)).blocks).join('\n');
    expect(text).toContain(`*Accepted* by <@U0DANA1234> · ${slackDate(event(3).at)}`);
    expect(slackDate('2026-03-04T16:00:00Z')).toBe('<!date^1772640000^{date_short_pretty} at {time}|2026-03-04 16:00 UTC>');
    const posted = strings(buildHandoffCard(view(), ctx('posted', undefined)).blocks).join('\n');
    expect(posted).toContain(`*Accept by*\n${slackDate('2026-03-04T16:00:00Z')}`);
    expect(text).toContain(`*First touch due*\n${slackDate('2026-03-04T16:00:00Z')}`);
    const rejected = view({ status: 'rejected', version: 3, events: [...view().events!, event(3, { type: 'rejected', reasonCode: 'not_icp', note: 'Student <!here>' })] });
    const rtext = strings(buildHandoffCard(rejected, { ...ctx('rejected', undefined), transition: { packet: [], rejectReasons: [{ code: 'not_icp', label: 'Not our ICP' }] } }).blocks).join('\n');
    expect(rtext).toContain('*Rejected* by <@U0DANA1234>');
    expect(rtext).toContain('Not our ICP');
    expect(rtext).toContain('Student &lt;!here&gt;');
  });
  it('people without a Slack id are named, escaped, not mentioned', () => {
    const text = strings(buildHandoffCard(view(), ctx('posted', undefined)).blocks).join('\n');
    expect(text).toContain('Lee &lt;!channel&gt; Park');
    expect(cardText(view())).toBe('Marketing → SDR: Acme for Dana Kim (awaiting acceptance)');
  });
  it('an overdue deadline is flagged', () => {
    const text = strings(buildHandoffCard(view({ slaDueAt: '2026-03-04T14:30:00Z' }), ctx('posted', undefined)).blocks).join('\n');
    expect(text).toContain(':warning: <!date^');
  });
});

describe('actions offered per status come from the lifecycle table (through the core\'s affordances)', () => {
  it.each([
    ['posted', ['accept', 'reject', 'reassign']],
    ['accepted', ['reassign', 'touch', 'complete']],
    ['rejected', []],
  ] as [HandoffStatus, UserAction[]][])('%s → %j', (status, actions) => {
    expect(onChannel(view({ status })).affordances.offered).toEqual(actions);
  });
});
