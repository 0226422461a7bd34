/**
 * The Teams gateway under a misbehaving Bot Connector: 429 with Retry-After and 500 are retried
 * through the outbox until every card is delivered exactly once; 403 is not retried; posts to
 * one conversation are paced; reminders and escalations reach people proactively; and nothing
 * breaks when Teams has never been heard from.
 */
import { PlatformStore } from '../../../src/platformStore.js';
import { systemClock } from '../../../src/clock.js';
import { CARD_ACTIONS } from '../../../blocks/actions.js';
import { validateCard } from '../../blocks/teams/validate.js';
import { TENANT, cardAction, cardOf, eventually, personalConversation, personalInstall, startTeamsRig, teamInstall, type TeamsTestRig } from './helpers.js';

const SDR_CHANNEL = '19:76631129f34369aad80b891baf90d0d3@thread.tacv2';
const amelia = { id: '29:1799NksnRH9ucAUsdMlHUvTCQCyEZDz_TddJ8HyS5', name: 'Amelia Hughes' };
const oliver = { id: '29:1kwtDDb-xHKas1VOqg6YYZYn9ZhyiA4uoRgnatmUd', name: 'Oliver Bennett' };
const AMELIA_CHAT = personalConversation(amelia).id;

let rig: TeamsTestRig;
let store: PlatformStore;
beforeAll(async () => {
  rig = await startTeamsRig();
  store = new PlatformStore(rig.baton.db, systemClock);
});
afterAll(async () => {
  await rig?.stop();
});

let seq = 0;
/** A marketing → SDR handoff: EMEA goes to Amelia, APAC to Sven. */
async function intake(region = 'EMEA'): Promise<number> {
  seq += 1;
  const res = await rig.baton.api('POST', '/api/handoffs', {
    transition: 'marketing_to_sdr',
    account: { name: `Globex ${seq}`, domain: `globex${seq}.com`, region },
    from: 'maya.okafor@northwind.example',
    packet: { icp_fit: 'A', lifecycle_stage: 'MQL', intent_signals: ['x'], content_engaged: ['y'], source: 'webinar', routing_reason: 'r', consent_given: true, consent_basis: 'opt_in', next_best_action: 'Call' },
  });
  expect(res.status).toBe(201);
  return res.json.id as number;
}

const isCardFor = (id: number) => (c: { body: any }) => cardOf(c.body)?.fallbackText?.startsWith(`Handoff #${id} `);
async function teamsDeliveries(): Promise<{ delivered: number; failed: number; pending: number; errors: string[] }> {
  const rows = await rig.baton.db.sql.query<{ delivered_at: Date | null; failed_at: Date | null; last_error: string | null }>(
    `SELECT delivered_at, failed_at, last_error FROM outbox_delivery WHERE consumer = 'teams'`,
  );
  return {
    delivered: rows.filter((r) => r.delivered_at).length,
    failed: rows.filter((r) => r.failed_at).length,
    pending: rows.filter((r) => !r.delivered_at && !r.failed_at).length,
    errors: rows.filter((r) => r.failed_at).map((r) => r.last_error ?? ''),
  };
}

describe('before Teams has ever called the bot', () => {
  it('finishes the delivery without posting (no service URL known) and leaves the handoff routed', async () => {
    const id = await intake();
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'the delivery to finish');
    expect(await teamsDeliveries()).toMatchObject({ failed: 0 });
    expect(rig.fake.calls).toHaveLength(0);
    expect((await rig.baton.service.get(id)).status).toBe('routed');
  });
});

describe('with the app installed', () => {
  beforeAll(async () => {
    expect((await rig.post(teamInstall(rig.fake, oliver, SDR_CHANNEL))).status).toBe(200);
    expect((await rig.post(personalInstall(rig.fake, amelia))).status).toBe(200);
    rig.fake.reset();
  });

  it('429 (Retry-After) and 500 from the connector: every card is delivered exactly once after recovery', async () => {
    rig.fake.failNext(2, 429, { retryAfterSeconds: 1, match: (c) => c.kind === 'send' && c.conversationId === SDR_CHANNEL });
    rig.fake.failNext(1, 500, { match: (c) => c.kind === 'send' && c.conversationId === AMELIA_CHAT });
    const id = await intake();
    const sends = await eventually(() => {
      const all = rig.fake.calls.filter((c) => c.kind === 'send').filter(isCardFor(id));
      return all.filter((c) => c.status < 300).length === 2 ? all : undefined;
    }, 'both cards posted after the retries', 20_000);
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'all deliveries done');
    expect((await rig.baton.service.get(id)).status).toBe('posted');
    const ok = sends.filter((c) => c.status < 300);
    expect(ok.map((c) => c.conversationId).sort()).toEqual([AMELIA_CHAT, SDR_CHANNEL].sort());
    expect(sends.filter((c) => c.status === 429).map((c) => c.conversationId)).toEqual([SDR_CHANNEL, SDR_CHANNEL]);
    expect(sends.filter((c) => c.status === 500).map((c) => c.conversationId)).toEqual([AMELIA_CHAT]);
    // Retry-After was honoured: the channel was not tried again within a second of being throttled.
    const throttled = sends.filter((c) => c.status === 429);
    const channelOk = ok.find((c) => c.conversationId === SDR_CHANNEL)!;
    expect(throttled[1]!.at - throttled[0]!.at).toBeGreaterThanOrEqual(950);
    expect(channelOk.at - throttled[1]!.at).toBeGreaterThanOrEqual(950);
    const cards = await store.cards(id, 'teams');
    expect(cards.map((c) => c.messageId).sort()).toEqual(ok.map((c) => c.responseId).sort());
    expect((await teamsDeliveries()).failed).toBe(0);
  });

  it('a 429 holds the whole conversation back for its Retry-After: the next card to it waits too, instead of being throttled again', async () => {
    rig.fake.failNext(1, 429, { retryAfterSeconds: 2, match: (c) => c.kind === 'send' && c.conversationId === SDR_CHANNEL });
    const first = await intake();
    const throttledAt = await eventually(() => rig.fake.calls.find((c) => c.kind === 'send' && c.status === 429 && isCardFor(first)(c))?.at, 'the first card throttled');
    const second = await intake();
    for (const id of [first, second]) await eventually(async () => (await rig.baton.service.get(id)).status === 'posted', `#${id} posted`, 20_000);
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'all deliveries done', 20_000);
    const toChannel = rig.fake.calls.filter((c) => c.conversationId?.split(';')[0] === SDR_CHANNEL && c.at > throttledAt);
    // Nothing reached the conversation until Retry-After had passed; then both cards, once each.
    expect(toChannel.length).toBeGreaterThan(0);
    expect(Math.min(...toChannel.map((c) => c.at)) - throttledAt).toBeGreaterThanOrEqual(1_950);
    expect(toChannel.filter((c) => c.status === 429)).toHaveLength(0);
    for (const id of [first, second]) expect(toChannel.filter((c) => c.kind === 'send' && c.status < 300 && isCardFor(id)(c))).toHaveLength(1);
  });

  it('a 500 on an update is retried; the card ends up current', async () => {
    const id = await intake();
    await eventually(async () => (await rig.baton.service.get(id)).status === 'posted', 'posted');
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'post-posting updates done');
    rig.fake.failNext(1, 500, { match: (c) => c.kind === 'update' && c.conversationId?.startsWith(`${SDR_CHANNEL};`) === true });
    const v = (await rig.baton.service.get(id)).version;
    const res = await rig.post(cardAction(rig.fake, amelia, CARD_ACTIONS.accept.teams, { handoffId: id, version: v }));
    expect(JSON.stringify(res.json.value)).toContain('You accepted this handoff.');
    const channelCardId = (await store.cards(id, 'teams')).find((c) => c.kind === 'channel')!.messageId;
    const accepted = () => rig.fake.calls.filter((c) => c.kind === 'update' && c.activityId === channelCardId && JSON.stringify(cardOf(c.body)).includes('Accepted by Amelia Hughes'));
    await eventually(() => accepted().some((c) => c.status === 200), 'the channel card updated after the 500', 20_000);
    expect(accepted().map((c) => c.status)).toEqual([500, 200]);
  });

  it('a 403 is not retried: the delivery fails with a clear error and the other card is still posted', async () => {
    rig.fake.failNext(1, 403, { match: (c) => c.kind === 'send' && c.conversationId === SDR_CHANNEL });
    const id = await intake();
    await eventually(async () => (await teamsDeliveries()).failed === 1, 'the delivery to fail for good');
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'the other deliveries done');
    expect((await teamsDeliveries()).errors[0]).toMatch(/Teams refused posting to channel .* with 403: check MICROSOFT_APP_ID/);
    const sends = rig.fake.calls.filter((c) => c.kind === 'send').filter(isCardFor(id));
    expect(sends.map((c) => [c.conversationId, c.status])).toEqual(expect.arrayContaining([[SDR_CHANNEL, 403], [AMELIA_CHAT, 201]]));
    expect(sends).toHaveLength(2);
    expect((await rig.baton.service.get(id)).status).toBe('posted');
  });

  it('an owner who has not installed the app: the card goes to the channel only, and that is not a failure', async () => {
    const failedBefore = (await teamsDeliveries()).failed;
    const createdBefore = rig.fake.calls.filter((c) => c.kind === 'createConversation').length;
    // Teams refuses to open a chat with someone who has not installed the app.
    rig.fake.failNext(1, 403, { match: (c) => c.kind === 'createConversation' });
    const id = await intake('APAC');
    expect((await rig.baton.service.get(id)).owner.id).toBe('sven');
    await eventually(async () => (await rig.baton.service.get(id)).status === 'posted', 'posted in the channel');
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'deliveries done');
    const sends = rig.fake.ok('send').filter(isCardFor(id));
    expect(sends.map((c) => c.conversationId)).toEqual([SDR_CHANNEL]);
    // A reminder does not ask Teams again right away.
    await rig.baton.service.apply(id, 'nudge', null, { data: { sla: 'nudge', kind: 'accept', point: 0.5 } });
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'the reminder delivery done');
    expect(rig.fake.calls.filter((c) => c.kind === 'createConversation').slice(createdBefore).map((c) => c.status)).toEqual([403]);
    expect((await teamsDeliveries()).failed).toBe(failedBefore);
  });

  it('paces posts and updates to one conversation (Teams allows about 7 per second)', async () => {
    const start = rig.fake.calls.length;
    await Promise.all(Array.from({ length: 10 }, () => intake()));
    await eventually(() => rig.fake.calls.slice(start).filter((c) => c.baseConversationId === SDR_CHANNEL && c.status < 300).length >= 10, '10 posts in the channel', 20_000);
    const channel = rig.fake.calls.slice(start).filter((c) => c.baseConversationId === SDR_CHANNEL && (c.kind === 'send' || c.kind === 'update'));
    expect(channel.length).toBeGreaterThanOrEqual(10);
    // Unpaced, these 10 calls would arrive within a few milliseconds; paced, no second holds more than 7.
    for (const c of channel) expect(channel.filter((d) => d.at >= c.at && d.at < c.at + 1000).length).toBeLessThanOrEqual(7);
    expect(channel.at(-1)!.at - channel[0]!.at).toBeGreaterThanOrEqual(((channel.length - 1) * 1000) / 7 - 100);
    // Every outbound call carried a bearer token from the token endpoint, fetched once and reused.
    expect(rig.fake.calls.every((c) => c.authorization && rig.fake.issuedAccessTokens.includes(c.authorization.replace(/^Bearer /, '')))).toBe(true);
    expect(rig.fake.tokenRequests.length).toBeLessThanOrEqual(2);
  });

  it('sends a reminder to the owner\'s chat with Snooze, and Snooze records it', async () => {
    const id = await intake();
    await eventually(async () => (await rig.baton.service.get(id)).status === 'posted', 'posted');
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'post-posting updates done');
    const dueAt = (await rig.baton.service.get(id)).slaAcceptDueAt!;
    // The first attempt fails; the retry sends it, once.
    rig.fake.failNext(1, 500, { match: (c) => c.kind === 'send' && c.conversationId === AMELIA_CHAT });
    await rig.baton.service.apply(id, 'nudge', null, { data: { sla: 'nudge', kind: 'accept', step: 'accept:nudge:0.5', point: 0.5, dueAt, businessMsLeft: 1_800_000, snoozedUntil: null } });
    const isNudge = (c: { conversationId?: string; body: any }) => c.conversationId === AMELIA_CHAT && cardOf(c.body)?.fallbackText === `Reminder: handoff #${id} (Globex ${seq}) is waiting for you`;
    const nudge = await eventually(() => rig.fake.ok('send').find(isNudge), 'the reminder', 20_000);
    await eventually(async () => (await teamsDeliveries()).pending === 0, 'the reminder delivery done');
    expect(rig.fake.calls.filter((c) => c.kind === 'send' && isNudge(c)).map((c) => c.status)).toEqual([500, 201]);
    const card = cardOf(nudge.body);
    expect(validateCard(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('50 % of the accept SLA has passed.');
    expect(card.actions.map((a: any) => a.verb ?? a.title)).toEqual([CARD_ACTIONS.accept.teams, 'Reassign', CARD_ACTIONS.snooze.teams, CARD_ACTIONS.details.teams]);
    const snooze = card.actions.find((a: any) => a.verb === CARD_ACTIONS.snooze.teams);
    const res = await rig.post(cardAction(rig.fake, amelia, snooze.verb, snooze.data));
    expect(JSON.stringify(res.json.value)).toContain('Reminders snoozed.');
    expect((await rig.baton.service.events(id)).at(-1)).toMatchObject({ type: 'snoozed', actor: { id: 'amelia' } });
  });

  it('sends the escalation to the person escalated to, opening a chat with them, and re-renders the cards', async () => {
    const id = await intake();
    await eventually(async () => (await rig.baton.service.get(id)).status === 'posted', 'posted');
    const created = rig.fake.ok('createConversation').length;
    await rig.baton.service.apply(id, 'escalate', null, {
      data: { sla: 'escalation', kind: 'accept', step: 'accept:escalate:1', level: 1, breach: true, dueAt: new Date().toISOString(), escalatedTo: { id: 'oliver', name: 'Oliver Bennett' }, teamId: 'sdr' },
    });
    const open = await eventually(() => rig.fake.ok('createConversation')[created], 'a chat opened with Oliver');
    expect(open.body).toMatchObject({ members: [{ id: oliver.id }], tenantId: TENANT });
    const msg = await eventually(() => rig.fake.ok('send').find((c) => c.conversationId === open.responseId), 'the escalation message');
    const card = cardOf(msg.body);
    expect(validateCard(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain(`Escalation: handoff #${id} missed the accept SLA`);
    expect(card.actions.map((a: any) => a.verb ?? a.title)).toEqual([CARD_ACTIONS.accept.teams, 'Reassign', CARD_ACTIONS.snooze.teams, CARD_ACTIONS.details.teams]);
    await eventually(() => rig.fake.ok('update').some((c) => c.baseConversationId === SDR_CHANNEL && cardOf(c.body)?.fallbackText?.startsWith(`Handoff #${id} `) && JSON.stringify(cardOf(c.body)).includes('SLA breached')), 'the channel card shows the breach');
    // The escalation is also posted in the team's channel, read-only.
    const notice = await eventually(() => rig.fake.ok('send').find((c) => c.conversationId === SDR_CHANNEL && cardOf(c.body)?.fallbackText?.startsWith(`Escalation: handoff #${id} `)), 'the escalation in the channel');
    expect(cardOf(notice.body).actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    const notices = (await store.cards(id, 'teams')).filter((c) => c.kind.startsWith('notice:'));
    expect(notices.map((c) => c.conversationId).sort()).toEqual([open.responseId, SDR_CHANNEL].sort());
    // The chat is remembered for next time.
    expect(await store.conversation('teams', 'oliver')).toMatchObject({ conversation: { id: open.responseId }, user: { id: oliver.id } });
  });
});
