import { loadPlaybook } from '../../../src/playbook/load.js';
import type { Playbook } from '../../../src/playbook/schema.js';
import type { HandoffView } from '../../../src/domain/view.js';
import { COMMAND_HELP, type CommandResult } from '../../../src/commands.js';
import { CARD_ACTIONS, QUEUE_TARGET, TEAMS_INPUTS } from '../../../blocks/actions.js';
import { buildDetailsCard, buildHandoffCard } from '../../../blocks/teams/handoffCard.js';
import { buildEscalationCard, buildNudgeCard } from '../../../blocks/teams/notifyCards.js';
import { buildCommandCard, buildWelcomeCard, errorCard } from '../../../blocks/teams/commandCards.js';
import { MAX_CARD_BYTES, cardBytes, localDateTime, md, plain, truncate, type AdaptiveCard } from '../../../blocks/teams/card.js';
import { asViewer, event, makeView, maximalPacket, ownerContext, personRef, transitionOf } from './fixtures.js';
import { literalTexts, markdownTexts, validateCard } from './validate.js';

let pb: Playbook;
beforeAll(async () => {
  pb = await loadPlaybook('playbook.yml');
});

const READ_ONLY = { refreshUserIds: [] } as const;

function actionsOf(card: AdaptiveCard): any[] {
  return (card.actions ?? []) as any[];
}

describe('the validator itself', () => {
  it('flags what adaptivecards misses: missing version, empty TextBlock, refresh.userIds not an array, unknown properties, size', () => {
    const good = errorCard('x');
    expect(validateCard(good)).toEqual([]);
    const bad = structuredClone(good) as any;
    delete bad.version;
    bad.body.push({ type: 'TextBlock', text: '' }, { type: 'TextBlock', txt: 'typo' });
    bad.refresh = { action: { type: 'Action.Execute', title: 'r', verb: 'v', data: {} }, userIds: 'everyone' };
    const problems = validateCard(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('version must be "1.5"'),
        expect.stringContaining('TextBlock without text'),
        expect.stringContaining('unknown property "txt"'),
        'refresh.userIds must be an array',
      ]),
    );
    // These come from the adaptivecards parser itself.
    const v16 = { ...good, version: '1.6' } as unknown as AdaptiveCard;
    expect(validateCard(v16)).toContain('validate: The specified card version (1.6) is not supported or still in preview. The latest released card version is 1.5.');
    const dup = structuredClone(good) as any;
    dup.body.push({ type: 'Input.Text', id: 'a', label: 'A' }, { type: 'Input.Text', id: 'a', label: 'B' });
    expect(validateCard(dup)).toContain('validate: Duplicate Id "a".');
    const huge = errorCard('x'.repeat(1000));
    huge.body.push(...Array.from({ length: 40 }, () => ({ type: 'TextBlock' as const, text: 'y'.repeat(1000) })));
    expect(validateCard(huge).join()).toMatch(/bytes \(limit 28672\)/);
  });
});

describe('buildHandoffCard', () => {
  it('renders the owner view with Accept, Reject and Reassign as Universal Actions', () => {
    const view = makeView(pb, 'marketing_to_sdr');
    const ctx = ownerContext(pb, view);
    const owner = asViewer(pb, view);
    const card = buildHandoffCard(owner, ctx);
    expect(validateCard(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    const [accept, reject, reassign, details] = actionsOf(card);
    expect(accept).toMatchObject({ type: 'Action.Execute', title: 'Accept', verb: CARD_ACTIONS.accept.teams, data: { handoffId: 42, version: 2 } });
    expect(reject.type).toBe('Action.ShowCard');
    const [reason, note] = reject.card.body;
    expect(reason).toMatchObject({ type: 'Input.ChoiceSet', id: TEAMS_INPUTS.rejectReason, isRequired: true });
    expect(reason.choices.map((c: any) => c.value)).toEqual(transitionOf(pb, 'marketing_to_sdr').rejectReasons.map((r) => r.code));
    expect(note).toMatchObject({ type: 'Input.Text', id: TEAMS_INPUTS.rejectNote, isRequired: true, isMultiline: true });
    expect(reject.card.actions[0]).toMatchObject({ type: 'Action.Execute', verb: CARD_ACTIONS.reject.teams, data: { handoffId: 42, version: 2 } });
    expect(reassign.type).toBe('Action.ShowCard');
    const [to, why] = reassign.card.body;
    expect(to.id).toBe(TEAMS_INPUTS.reassignTo);
    expect(to.choices[0]).toEqual({ title: 'Next in the queue', value: QUEUE_TARGET });
    expect(to.choices.map((c: any) => c.value)).not.toContain(view.owner.id);
    expect(to.choices.length).toBe(1 + owner.affordances.reassignCandidates.length);
    expect(why).toMatchObject({ id: TEAMS_INPUTS.reassignNote, isRequired: true });
    expect(reassign.card.actions[0]).toMatchObject({ verb: CARD_ACTIONS.reassign.teams });
    expect(details).toMatchObject({ type: 'Action.Execute', verb: CARD_ACTIONS.details.teams, data: { handoffId: 42 } });
    expect(card.refresh).toEqual({
      action: { type: 'Action.Execute', title: 'Refresh', verb: CARD_ACTIONS.refresh.teams, data: { handoffId: 42 } },
      userIds: ctx.refreshUserIds,
    });
  });

  it('renders the read-only view with only Details, and no refresh when nobody needs a per-user view', () => {
    const view = makeView(pb, 'sdr_to_ae');
    const card = buildHandoffCard(asViewer(pb, view, null), { ...READ_ONLY, transition: transitionOf(pb, 'sdr_to_ae') });
    expect(validateCard(card)).toEqual([]);
    expect(actionsOf(card).map((a) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    expect(card.refresh).toBeUndefined();
  });

  it('carries the same content as the Slack card: transition, account, owner, sender, routing reason, status, deadline, packet', () => {
    const view = makeView(pb, 'marketing_to_sdr');
    const card = buildHandoffCard(asViewer(pb, view), ownerContext(pb, view));
    const text = JSON.stringify(card);
    for (const s of ['Handoff #42', 'Marketing → SDR', 'Acme Corp', 'acme.com', view.owner.name, view.from.name, 'round robin: next in the queue', 'Awaiting acceptance by', 'ICP fit', 'Next-best action']) {
      expect(text).toContain(s);
    }
    // The deadline renders in each reader's own zone: RFC 3339 without milliseconds.
    expect(markdownTexts(card).join('\n')).toContain('**Accept by:** {{DATE(2026-05-04T14:30:00Z, SHORT)}} {{TIME(2026-05-04T14:30:00Z)}}');
    expect(card.fallbackText).toContain('Handoff #42');
  });

  it('limits refresh.userIds to 60', () => {
    const view = makeView(pb, 'marketing_to_sdr');
    const ids = Array.from({ length: 80 }, (_, i) => `29:user-${i}`);
    const card = buildHandoffCard(asViewer(pb, view), ownerContext(pb, view, { refreshUserIds: ids }));
    expect(card.refresh?.userIds).toHaveLength(60);
    expect(validateCard(card)).toEqual([]);
  });

  it.each([
    ['accepted', { status: 'accepted' as const, version: 3, acceptedAt: '2026-05-04T13:40:00.000Z', slaDueAt: '2026-05-04T17:40:00.000Z', slaFirstTouchDueAt: '2026-05-04T17:40:00.000Z' }, 'Accepted by', 'First touch due'],
    ['rejected', { status: 'rejected' as const, version: 3, slaDueAt: null, closedAt: '2026-05-04T13:40:00.000Z' }, 'Rejected by', 'Packet is missing context I need'],
    ['reassigned', { status: 'reassigned' as const, version: 3 }, 'Reassigned to', 'next in the SDR queue'],
    ['escalated', { status: 'escalated' as const, version: 3, escalationLevel: 1 }, 'SLA breached', 'overdue'],
    ['completed', { status: 'completed' as const, version: 4, slaDueAt: null }, 'Completed by', ''],
    ['withdrawn', { status: 'withdrawn' as const, version: 3, slaDueAt: null }, 'Withdrawn by', ''],
  ])('renders the %s status line', (_name, patch, expected, extra) => {
    const actor = personRef(pb, 'amelia');
    const view: HandoffView = {
      ...makeView(pb, 'marketing_to_sdr', patch),
      events: [
        event({ version: 1, type: 'routed', toStatus: 'routed' }),
        event({
          version: patch.version,
          type: patch.status === 'escalated' ? 'escalated' : patch.status,
          toStatus: patch.status,
          actor: patch.status === 'escalated' ? null : actor,
          reasonCode: patch.status === 'rejected' ? 'missing_context' : null,
          note: patch.status === 'rejected' ? 'No **budget** info' : null,
          data: patch.status === 'reassigned' ? { reason: 'next in the SDR queue' } : null,
        }),
      ],
    };
    const card = buildHandoffCard(asViewer(pb, view, null), { ...READ_ONLY, transition: transitionOf(pb, 'marketing_to_sdr') });
    expect(validateCard(card)).toEqual([]);
    const md = markdownTexts(card).join('\n');
    expect(md).toContain(expected);
    if (extra) expect(JSON.stringify(card)).toContain(extra);
    // Said once: after a reassign the status line carries who and why, so "Why this owner" (which
    // repeats it since routingReason says who reassigned and why) is left out; otherwise it is there.
    expect(JSON.stringify(card).includes('Why this owner')).toBe(patch.status !== 'reassigned');
    if (patch.status === 'rejected') {
      // The reject note is someone's free text: literal, never markdown.
      expect(literalTexts(card)).toContain('No **budget** info');
      expect(md).not.toContain('budget');
    }
  });

  it('shows packet text literally: links, emphasis, mentions and date functions from outside never become markup', () => {
    const hostile = ['[click](http://evil.example)', '**x**', '<at>Rachel Kim</at>', '{{DATE(2020-01-01T00:00:00Z, SHORT)}}', '- item\n1. item', '_it_'];
    const view = makeView(pb, 'marketing_to_sdr', {
      account: { id: 1, name: '**Acme** [pay](http://evil.example)', domain: 'acme.com', crmId: null },
      routingReason: '<at>Sam Torres</at> said so',
      packet: { ...makeView(pb, 'marketing_to_sdr').packet, next_best_action: hostile.join(' '), intent_signals: hostile, routing_reason: hostile[0] },
    });
    for (const card of [buildHandoffCard(asViewer(pb, view), ownerContext(pb, view)), buildDetailsCard(view, ownerContext(pb, view))]) {
      expect(validateCard(card)).toEqual([]);
      const markdown = markdownTexts(card).join('\n');
      for (const h of ['evil.example', '**x**', '**Acme**', '<at>', 'Sam Torres', '{{DATE(2020']) expect(markdown).not.toContain(h);
      const literal = literalTexts(card).join('\n');
      expect(literal).toContain('[click](http://evil.example)');
      expect(literal).toContain('**x**');
      expect(literal).toContain('**Acme** [pay](http://evil.example)');
      // Tags and date functions are split with a zero-width space so no host can interpret them.
      expect(literal).not.toContain('<at>');
      expect(literal).toContain('<\u200Bat>Rachel Kim<\u200B/at>');
      expect(literal).not.toContain('{{DATE(2020');
      expect(literal).toContain('{\u200B{DATE(2020-01-01T00:00:00Z, SHORT)}}');
    }
  });

  it('keeps the summary and the details card under 28 KB with a maximal packet, for every transition', () => {
    for (const t of pb.transitions) {
      const view = makeView(pb, t.id, { packet: maximalPacket(t), externalId: 'x'.repeat(200) });
      const ctx = ownerContext(pb, view, { refreshUserIds: Array.from({ length: 60 }, (_, i) => `29:1${'x'.repeat(40)}${i}`) });
      const summary = buildHandoffCard(asViewer(pb, view), ctx);
      const details = buildDetailsCard(view, ctx);
      expect(validateCard(summary)).toEqual([]);
      expect(validateCard(details)).toEqual([]);
      expect(cardBytes(summary)).toBeLessThan(MAX_CARD_BYTES);
      expect(cardBytes(details)).toBeLessThan(MAX_CARD_BYTES);
      // The details card shows more of each value than the summary.
      const longest = (c: AdaptiveCard) => Math.max(...literalTexts(c).map((s) => s.length));
      expect(longest(details)).toBeGreaterThan(longest(summary));
    }
  });

  it('truncates long values in the summary and shows them in full in the details card', () => {
    const long = 'Call today. '.repeat(150).trim(); // ~1800 characters
    const view = makeView(pb, 'marketing_to_sdr', { packet: { ...makeView(pb, 'marketing_to_sdr').packet, next_best_action: long } });
    const summary = buildHandoffCard(asViewer(pb, view), ownerContext(pb, view));
    const details = buildDetailsCard(view, ownerContext(pb, view));
    expect(literalTexts(summary)).toContain(truncate(long, 300));
    expect(literalTexts(summary)).not.toContain(long);
    expect(literalTexts(details)).toContain(long);
    expect(actionsOf(details).map((a) => a.verb)).toEqual([CARD_ACTIONS.refresh.teams]);
  });

  it('renders the timeline in the details card', () => {
    const view: HandoffView = {
      ...makeView(pb, 'marketing_to_sdr', { status: 'accepted', version: 3 }),
      events: [
        event({ version: 0, type: 'received', toStatus: 'received', actor: personRef(pb, 'maya') }),
        event({ version: 1, type: 'routed', toStatus: 'routed' }),
        event({ version: 3, type: 'accepted', toStatus: 'accepted', actor: personRef(pb, 'amelia'), note: '<at>x</at>' }),
      ],
    };
    const card = buildDetailsCard(view, { ...READ_ONLY, transition: transitionOf(pb, 'marketing_to_sdr') });
    expect(validateCard(card)).toEqual([]);
    const md = markdownTexts(card).join('\n');
    expect(md).toContain('Timeline');
    expect(md).toContain('**accepted** by Amelia Hughes');
    expect(literalTexts(card).join()).toContain('note: <\u200Bat>x<\u200B/at>');
  });
});

describe('reminder and escalation cards', () => {
  it('builds a nudge with Accept, Snooze and Details', () => {
    const view = makeView(pb, 'marketing_to_sdr');
    const card = buildNudgeCard(asViewer(pb, view, view.owner.id, { offeredOnReminder: ['accept', 'snooze'] }), { kind: 'accept', point: 0.5, dueAt: '2026-05-04T14:30:00.000Z', level: 0 }, {});
    expect(validateCard(card)).toEqual([]);
    expect(markdownTexts(card).join('\n')).toContain('50 % of the accept SLA has passed');
    expect(actionsOf(card).map((a) => a.verb)).toEqual([CARD_ACTIONS.accept.teams, CARD_ACTIONS.snooze.teams, CARD_ACTIONS.details.teams]);
  });

  it('builds an escalation naming the owner and the step, with Reassign and Snooze', () => {
    const view = makeView(pb, 'marketing_to_sdr', { status: 'escalated', escalationLevel: 1 });
    // The owner's lead, escalated to: the core offers Accept, Reassign and Snooze.
    const card = buildEscalationCard(asViewer(pb, view, 'oliver'), { kind: 'accept', level: 1, escalatedTo: { id: 'oliver', name: 'Oliver Bennett' } }, {});
    expect(validateCard(card)).toEqual([]);
    const md = markdownTexts(card).join('\n');
    expect(md).toContain(`${view.owner.name} (owner) has not accepted it`);
    expect(md).toContain('Escalation step 1: Oliver Bennett.');
    expect(md).toContain('Accept it for them, reassign it, or snooze the reminders.');
    expect(actionsOf(card).map((a) => a.verb ?? a.title)).toEqual([CARD_ACTIONS.accept.teams, 'Reassign', CARD_ACTIONS.snooze.teams, CARD_ACTIONS.details.teams]);
  });

  it('words a first-touch breach (still accepted) and the read-only channel notice', () => {
    const view = makeView(pb, 'marketing_to_sdr', { status: 'accepted', version: 3, slaDueAt: '2026-05-04T18:00:00.000Z' });
    const data = { kind: 'first_touch', level: 1, dueAt: '2026-05-04T18:00:00.000Z', escalatedTo: { id: 'oliver', name: 'Oliver Bennett' } };
    // Accepted: the core offers the lead Reassign and Snooze (no Accept).
    const lead = buildEscalationCard(asViewer(pb, view, 'oliver'), data, {});
    expect(validateCard(lead)).toEqual([]);
    expect(markdownTexts(lead).join('\n')).toContain('missed the first-touch SLA');
    expect(markdownTexts(lead).join('\n')).toContain('accepted it but has not recorded a first touch');
    expect(markdownTexts(lead).join('\n')).toContain('Follow up with the owner, reassign it, or snooze the reminders.');
    const channel = buildEscalationCard(asViewer(pb, view, null), data, {});
    expect(actionsOf(channel).map((a) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    expect(markdownTexts(channel).join('\n')).toContain('The owner and their leads can act on it.');
  });

  it('copes with missing SLA data', () => {
    const view = makeView(pb, 'marketing_to_sdr');
    expect(validateCard(buildNudgeCard(asViewer(pb, view, null), undefined, {}))).toEqual([]);
    expect(validateCard(buildEscalationCard(asViewer(pb, view, null), 'nonsense', {}))).toEqual([]);
  });
});

describe('command reply cards', () => {
  it('renders every command result as a valid card', () => {
    const view = makeView(pb, 'marketing_to_sdr');
    const results: CommandResult[] = [
      { kind: 'help', commands: COMMAND_HELP },
      { kind: 'help', problem: 'I don\'t know "**foo**".', commands: COMMAND_HELP },
      { kind: 'pick_account', query: 'acme', accounts: [{ id: 1, name: 'Acme', domain: 'acme.com', crmId: null }, { id: 2, name: 'Acme EU', domain: null, crmId: 'crm-2' }] },
      { kind: 'owner', account: view.account, owners: [{ stage: 'sdr', stageName: 'Sales development (SDR/BDR)', owner: view.owner, since: '2026-05-01T10:00:00.000Z' }], open: [view] },
      { kind: 'owner', account: view.account, owners: [], open: [] },
      { kind: 'list', title: 'Your open handoffs', empty: 'You have no open handoffs. 🎉', handoffs: [view, { ...view, id: 43 }], breachedIds: [43] },
      { kind: 'list', title: 'Your open handoffs', empty: 'You have no open handoffs. 🎉', handoffs: [], breachedIds: [] },
      { kind: 'show', handoff: view },
      { kind: 'error', message: 'No account matches "[x](http://evil)".' },
    ];
    for (const r of results) {
      const card = buildCommandCard(r);
      expect({ kind: r.kind, problems: validateCard(card) }).toEqual({ kind: r.kind, problems: [] });
    }
    const pick = buildCommandCard(results[2]!);
    expect(actionsOf(pick).map((a) => a.data.msteams.text)).toEqual(['owner acme.com', 'owner crm-2']);
    expect(actionsOf(pick).map((a) => a.data.command)).toEqual(['owner acme.com', 'owner crm-2']);
    const list = buildCommandCard(results[5]!);
    expect(markdownTexts(list).join('\n')).toContain('1 past their SLA');
    expect(markdownTexts(buildCommandCard(results[8]!)).join()).not.toContain('evil');
  });

  it('lists help commands from COMMAND_HELP and a welcome card for new installs', () => {
    const help = buildCommandCard({ kind: 'help', commands: COMMAND_HELP });
    const literal = literalTexts(help).join('\n');
    for (const c of COMMAND_HELP) expect(literal).toContain(plain(c.usage));
    const welcome = buildWelcomeCard('Amelia', COMMAND_HELP);
    expect(validateCard(welcome)).toEqual([]);
    expect(literalTexts(welcome).join()).toContain('Hi Amelia!');
  });

  it('keeps a long list under the size limit', () => {
    const view = makeView(pb, 'marketing_to_sdr', { account: { id: 1, name: 'A'.repeat(200), domain: null, crmId: null } });
    const handoffs = Array.from({ length: 200 }, (_, i) => ({ ...view, id: i + 1 }));
    const card = buildCommandCard({ kind: 'list', title: 'Open handoffs for SDR', empty: '', handoffs, breachedIds: handoffs.map((h) => h.id) });
    expect(validateCard(card)).toEqual([]);
    expect(markdownTexts(card).join()).toMatch(/and \d+ more/);
  });
});

describe('text helpers', () => {
  it('md defuses links, list markers, tags and date functions in playbook wording', () => {
    expect(md('[a](http://x)')).not.toContain('](');
    expect(md('- not a list')).toBe('\u200B- not a list');
    expect(md('<at>x</at>')).not.toContain('<at>');
    expect(md('{{TIME(x)}}')).not.toContain('{{');
    expect(md('Amelia Hughes')).toBe('Amelia Hughes');
  });

  it('truncate counts code points and marks the cut', () => {
    expect(truncate('🚀🚀🚀🚀', 3)).toBe('🚀🚀…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('localDateTime drops milliseconds (Teams shows the raw token otherwise)', () => {
    expect(localDateTime('2026-05-04T14:30:00.123Z')).toBe('{{DATE(2026-05-04T14:30:00Z, SHORT)}} {{TIME(2026-05-04T14:30:00Z)}}');
  });
});
