/**
 * The gateway beyond the first post: people linked by email only, SLA reminders and escalations
 * (as the SLA engine records them), thread replies exactly once even when a delivery runs twice,
 * and events that happen while Slack is down caught up in order.
 */
import { CARD_ACTIONS } from '../../../blocks/actions.js';
import type { Playbook } from '../../../src/playbook/schema.js';
import { defaultPlaybook } from '../../helpers/baton.js';
import { FORM, slashCommand, blockAction, blocksText, buttonIds, buttonValue, exampleOf, pendingSlackDeliveries, postSigned, startSlackHarness, waitFor, type SlackHarness } from './helpers.js';

const SDR_CHANNEL = 'C0ECEXM8EYG';
let h: SlackHarness;
let n = 0;
let svenSlackId: string;
let oliverSlackId: string;

beforeAll(async () => {
  // Sven is in the playbook by email only; Slack knows him (the fake's directory has every person).
  const pb = await defaultPlaybook();
  svenSlackId = pb.people.find((p) => p.id === 'sven')!.slackUserId!;
  oliverSlackId = pb.people.find((p) => p.id === 'oliver')!.slackUserId!;
  const emailOnly = new Set(['sven', 'oliver']);
  const playbook: Playbook = { ...pb, people: pb.people.map((p) => (emailOnly.has(p.id) ? { ...p, slackUserId: null } : p)) };
  h = await startSlackHarness({ playbook });
});
afterAll(async () => {
  await h?.stop();
});

const slackId = (id: string) => (id === 'sven' ? svenSlackId : id === 'oliver' ? oliverSlackId : h.playbook.people.find((p) => p.id === id)!.slackUserId!);

async function intake(to: string): Promise<number> {
  const k = ++n; // taken before any await: intakes may run concurrently
  const req = await exampleOf(h.baton, 'marketing_to_sdr');
  req.account = { name: `Gateway ${k}`, domain: `gateway-${k}.example`, crmId: `GW-${k}` };
  req.to = to;
  const r = await h.baton.api('POST', '/api/handoffs', req);
  expect(r.status).toBe(201);
  return r.json.id;
}

async function settled(): Promise<void> {
  await waitFor('outbox drained', async () => (await pendingSlackDeliveries(h.baton)) === 0, 20_000);
}

describe('people linked by email', () => {
  it('DMs a person listed only by email (users.lookupByEmail, cached) and maps their clicks back (users.info, cached)', async () => {
    const lookups = () => h.fake.okCalls('users.lookupByEmail').length;
    const infos = () => h.fake.okCalls('users.info').length;
    const first = await intake('sven');
    await waitFor('cards', () => h.fake.cardsFor(first).length === 2);
    expect(h.fake.cardsFor(first).map((c) => c.channel)).toContain(h.fake.dmChannelOf(svenSlackId));
    expect(lookups()).toBe(1);
    const second = await intake('sven');
    await waitFor('cards', () => h.fake.cardsFor(second).length === 2);
    expect(lookups()).toBe(1); // cached

    await settled();
    for (const id of [first, second]) {
      const card = h.fake.cardsFor(id)[0]!;
      const a = blockAction(h.fake, { user: svenSlackId, actionId: CARD_ACTIONS.accept.slack, value: buttonValue(card.blocks, CARD_ACTIONS.accept.slack)! });
      expect((await postSigned(h.baton, a.body, FORM)).status).toBe(200);
      await waitFor('accepted by sven', async () => {
        const v = await h.baton.service.get(id);
        return v.status === 'accepted' && v.events!.some((e) => e.type === 'accepted' && e.actor?.id === 'sven');
      });
    }
    // The lookup by email already told Baton who this Slack user is: no users.info needed.
    expect(infos()).toBe(0);
    // And it is recorded: a linked handle in the served workspace, with its audit row.
    expect(await linkedHandles(svenSlackId)).toEqual([{ platform: 'slack', workspace: h.fake.teamId, externalId: svenSlackId, personId: 'sven', source: 'linked' }]);
    expect(await linkAudit(svenSlackId)).toEqual([{ type: 'identity.linked', tenantId: h.fake.teamId, personId: 'sven', detail: 'linked by Slack profile email sven.lindqvist@northwind.example (users.lookupByEmail)' }]);
  });

  it('a Slack user Baton has not met yet is found by their profile email (users.info, cached)', async () => {
    const infos = () => h.fake.okCalls('users.info').filter((c) => c.args.user === oliverSlackId).length;
    for (let i = 0; i < 2; i++) {
      const c = slashCommand(h.fake, oliverSlackId, 'team');
      expect((await postSigned(h.baton, c.body, FORM)).status).toBe(200);
      const reply = await waitFor('reply', () => h.fake.responses.find((r) => r.key === c.responseKey));
      expect(blocksText(reply.body.blocks as unknown[])).toContain('Open handoffs for SDR'); // Oliver leads SDR
    }
    expect(infos()).toBe(1);
    expect(await linkedHandles(oliverSlackId)).toEqual([{ platform: 'slack', workspace: h.fake.teamId, externalId: oliverSlackId, personId: 'oliver', source: 'linked' }]);
    expect(await linkAudit(oliverSlackId)).toEqual([{ type: 'identity.linked', tenantId: h.fake.teamId, personId: 'oliver', detail: 'linked by Slack profile email oliver.bennett@northwind.example (users.info)' }]);
  });
});

async function linkedHandles(slackUserId: string) {
  const rows = await h.baton.db.prisma.personHandle.findMany({ where: { externalId: slackUserId } });
  return rows.map(({ platform, workspace, externalId, personId, source }) => ({ platform, workspace, externalId, personId, source }));
}
async function linkAudit(slackUserId: string) {
  const rows = await h.baton.db.prisma.directoryEvent.findMany({ where: { externalUserId: slackUserId }, orderBy: { id: 'asc' } });
  return rows.map(({ type, tenantId, personId, detail }) => ({ type, tenantId, personId, detail }));
}

describe('SLA reminders and escalations', () => {
  it('a nudge DMs the owner with the reminder buttons the core offers them (Accept, Reassign, Snooze, as on Teams); Snooze records it; both become thread replies', async () => {
    const id = await intake('amelia');
    await waitFor('cards', () => h.fake.cardsFor(id).length === 2);
    await settled();
    const view = await h.baton.service.get(id, { events: false });
    await h.baton.service.apply(id, 'nudge', null, { data: { kind: 'accept', point: 0.5, dueAt: view.slaDueAt, level: 0 } });
    const notice = await waitFor('nudge DM', () => h.fake.noticesFor(id)[0]);
    expect(notice.channel).toBe(h.fake.dmChannelOf(slackId('amelia')));
    const text = blocksText(notice.blocks);
    expect(text).toContain('Reminder (50% of the accept SLA used)');
    expect(text).toMatch(/Accept by <!date\^\d+\^/);
    expect(buttonIds(notice.blocks)).toEqual([CARD_ACTIONS.accept.slack, CARD_ACTIONS.reassign.slack, CARD_ACTIONS.snooze.slack, CARD_ACTIONS.details.slack]);

    const a = blockAction(h.fake, { user: slackId('amelia'), actionId: CARD_ACTIONS.snooze.slack, value: buttonValue(notice.blocks, CARD_ACTIONS.snooze.slack)!, channel: notice.channel });
    expect((await postSigned(h.baton, a.body, FORM)).status).toBe(200);
    const ok = await waitFor('snooze confirmation', () => h.fake.responses.find((r) => r.key === a.responseKey));
    expect(String(ok.body.text)).toContain('Snoozed');
    await waitFor('snoozed event', async () => (await h.baton.service.get(id)).events!.some((e) => e.type === 'snoozed' && e.actor?.id === 'amelia'));
    await settled();
    for (const card of h.fake.cardsFor(id)) {
      const replies = h.fake.replies(card.channel, card.ts).map((m) => m.text);
      expect(replies).toEqual([expect.stringContaining('Reminder sent'), expect.stringContaining('Snoozed')]);
    }
  });

  it('an escalation posts in the team channel, DMs the escalation target, and redraws the cards', async () => {
    const id = await intake('amelia');
    await waitFor('cards', () => h.fake.cardsFor(id).length === 2);
    await settled();
    const view = await h.baton.service.get(id, { events: false });
    await h.baton.service.apply(id, 'escalate', null, { data: { kind: 'accept', point: 1, dueAt: view.slaDueAt, level: 1, escalatedTo: { id: 'oliver', name: 'Oliver Bennett' } } });
    await waitFor('two escalation notices', () => h.fake.noticesFor(id).length === 2);
    const channels = h.fake.noticesFor(id).map((m) => m.channel).sort();
    expect(channels).toEqual([h.fake.dmChannelOf(slackId('oliver')), SDR_CHANNEL].sort());
    const text = blocksText(h.fake.noticesFor(id)[0]!.blocks);
    expect(text).toContain('*Escalated to Oliver Bennett* (level 1)');
    // Still awaiting acceptance: the channel (anyone may click; each click is checked) and Oliver,
    // the owner's lead, are offered what the core offers on a reminder — Accept, Reassign, Snooze.
    for (const notice of h.fake.noticesFor(id)) {
      expect(buttonIds(notice.blocks)).toEqual([CARD_ACTIONS.accept.slack, CARD_ACTIONS.reassign.slack, CARD_ACTIONS.snooze.slack, CARD_ACTIONS.details.slack]);
    }
    await waitFor('cards redrawn', () => h.fake.cardsFor(id).every((c) => blocksText(c.blocks).includes('*Escalated* (level 1)')));
    await settled();
    for (const card of h.fake.cardsFor(id)) expect(h.fake.replies(card.channel, card.ts).map((m) => m.text)).toEqual([expect.stringContaining('Escalated')]);
  });

  it('renders whatever the SLA engine sends: missing or malformed data still gives a readable escalation', async () => {
    const id = await intake('amelia');
    await waitFor('cards', () => h.fake.cardsFor(id).length === 2);
    await settled();
    await h.baton.service.apply(id, 'escalate', null, { data: { escalatedTo: 'oliver', level: 'high', dueAt: 'soon' } });
    const notice = await waitFor('channel notice', () => h.fake.noticesFor(id)[0]);
    expect(notice.channel).toBe(SDR_CHANNEL);
    expect(blocksText(notice.blocks)).toContain('*Escalated* (level 1)');
    await settled();
    expect(h.fake.noticesFor(id)).toHaveLength(1); // no target to DM
  });

  it('a delivery that runs again (a crash before it was recorded) posts no reply, notice or card twice', async () => {
    const id = await intake('amelia');
    await waitFor('cards', () => h.fake.cardsFor(id).length === 2);
    await settled();
    const v = await h.baton.service.get(id, { events: false });
    await h.baton.service.apply(id, 'nudge', null, { data: { kind: 'accept', point: 0.8, dueAt: v.slaDueAt } });
    await h.baton.service.act(id, { action: 'accept', actor: 'amelia' });
    await settled();
    const countAll = () => h.fake.messages.filter((m) => Number(m.metadata?.event_payload.handoff_id) === id).length;
    const before = countAll();
    expect(before).toBe(2 /* cards */ + 1 /* nudge DM */ + 2 * 2 /* nudged + accepted in two threads */);
    await h.baton.db.sql.query(
      `UPDATE outbox_delivery SET delivered_at = NULL, available_at = now() - interval '1 second' WHERE consumer = 'slack' AND event_id IN (SELECT id FROM outbox_event WHERE handoff_id = ${id})`,
    );
    h.baton.outbox.wake();
    await settled();
    expect(countAll()).toBe(before);
  });
});

describe('Slack down while things happen', () => {
  it('events during an outage are caught up: the card is posted as it is now, with the thread in order', async () => {
    h.fake.inject({ kind: 'http', status: 503 }, { method: 'chat.postMessage' });
    const id = await intake('amelia');
    await waitFor('a failed post', () => h.fake.calls.some((c) => c.method === 'chat.postMessage' && c.status === 503));
    await h.baton.service.act(id, { action: 'accept', actor: 'amelia' });
    await h.baton.service.act(id, { action: 'touch', actor: 'amelia' });
    h.fake.clearFaults();
    await waitFor('cards', () => h.fake.cardsFor(id).length === 2, 20_000);
    await settled();
    for (const card of h.fake.cardsFor(id)) {
      const text = blocksText(card.blocks);
      expect(text).toContain('*Accepted* by');
      expect(text).toContain('first touch');
      expect(buttonIds(card.blocks)).toEqual([CARD_ACTIONS.reassign.slack, CARD_ACTIONS.complete.slack, CARD_ACTIONS.details.slack]);
      expect(h.fake.replies(card.channel, card.ts).map((m) => m.text)).toEqual([expect.stringContaining('Accepted'), expect.stringContaining('First touch logged')]);
    }
  });
});
