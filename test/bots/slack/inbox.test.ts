/**
 * Slack clicks are stored before they are acknowledged (issue 15 item 10), through real signed
 * HTTP to a real Baton on the test database:
 *  - a click delivered twice (Slack's retry, or a replayed capture) is stored once and applied once;
 *  - when the click cannot be stored the answer is 503, never 200 (Slack retries a 503);
 *  - a stored click whose lease expired unapplied is replayed by recovery and applied once;
 *  - two handlings of one stored click (a replay racing a slow first handling) apply it once;
 *  - a click that keeps failing is tried three times, then marked failed with a warning.
 */
import { CARD_ACTIONS, encodeSlackButtonValue } from '../../../blocks/actions.js';
import { InboxAlreadyAppliedError, PlatformInbox, startInboxRecovery } from '../../../src/platformInbox.js';
import type { Clock } from '../../../src/clock.js';
import { blockAction, exampleOf, FORM, postSigned, startSlackHarness, waitFor, type SlackHarness } from './helpers.js';

let h: SlackHarness;
let n = 0;

beforeAll(async () => {
  // Short lease and recovery interval, so a replay happens within the test's patience.
  h = await startSlackHarness({ plugin: { inbox: { leaseMs: 2_000, recoveryEveryMs: 200 } } });
});
afterAll(async () => {
  await h?.stop();
});

/** A posted handoff owned by sven, and the Accept click of its card. */
async function postedHandoff(): Promise<{ id: number; version: number; slackUser: string }> {
  const k = ++n;
  const req = await exampleOf(h.baton, 'marketing_to_sdr');
  req.account = { name: `Inbox ${k} ${process.pid}`, domain: `inbox-${k}-${process.pid}.example`, crmId: `IN-${k}-${process.pid}` };
  req.to = 'sven';
  const r = await h.baton.api('POST', '/api/handoffs', req);
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  const view = await waitFor('the card posted', async () => {
    const v = await h.baton.service.get(id, { events: false });
    return v.status === 'posted' ? v : undefined;
  });
  return { id, version: view.version, slackUser: h.playbook.people.find((p) => p.id === 'sven')!.slackUserId! };
}

async function eventsOf(id: number, type: string) {
  return (await h.baton.service.events(id)).filter((e) => e.type === type);
}

async function inboxRows(key: string) {
  return h.baton.db.prisma.platformInbox.findMany({ where: { platform: 'slack', key } });
}

it('a click delivered twice, together and again later, is stored once and applied once', async () => {
  const { id, version, slackUser } = await postedHandoff();
  const click = blockAction(h.fake, { user: slackUser, actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, version) });
  // The same signed bytes three times: two at once, and Slack's retry after.
  const together = await Promise.all([postSigned(h.baton, click.body, FORM), postSigned(h.baton, click.body, FORM)]);
  const retry = await postSigned(h.baton, click.body, FORM, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
  expect([...together, retry].map((r) => r.status)).toEqual([200, 200, 200]);
  await waitFor('the accept', async () => (await h.baton.service.get(id, { events: false })).status === 'accepted');
  const rows = await waitFor('the click marked applied', async () => {
    const r = await inboxRows(`trigger:${click.triggerId}`);
    return r.length && r[0]!.appliedAt ? r : undefined;
  });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ attempts: 1, failedAt: null });
  await new Promise((r) => setTimeout(r, 500)); // a second handling would have shown by now
  expect(await eventsOf(id, 'accepted')).toHaveLength(1);
  // Nobody was told "already accepted": the copies were never handled.
  expect(h.fake.responses.filter((r) => r.key === click.responseKey)).toEqual([]);
});

it('a click that cannot be stored is answered 503, not 200; Slack\'s retry then applies it', async () => {
  const { id, version, slackUser } = await postedHandoff();
  const click = blockAction(h.fake, { user: slackUser, actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, version) });
  // The store fails for real: the table is not there (what an unreachable database looks like to the receiver).
  await h.baton.db.sql.query('ALTER TABLE platform_inbox RENAME TO platform_inbox_away');
  let refused;
  try {
    refused = await postSigned(h.baton, click.body, FORM);
  } finally {
    await h.baton.db.sql.query('ALTER TABLE platform_inbox_away RENAME TO platform_inbox');
  }
  expect(refused.status).toBe(503);
  expect(refused.json).toMatchObject({ error: { code: 'unavailable' } });
  await new Promise((r) => setTimeout(r, 300));
  expect(await eventsOf(id, 'accepted')).toHaveLength(0);
  expect((await h.baton.service.get(id, { events: false })).status).toBe('posted');

  const retried = await postSigned(h.baton, click.body, FORM, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' } });
  expect(retried.status).toBe(200);
  await waitFor('the accept', async () => (await h.baton.service.get(id, { events: false })).status === 'accepted');
  expect(await eventsOf(id, 'accepted')).toHaveLength(1);
  expect(await inboxRows(`trigger:${click.triggerId}`)).toHaveLength(1);
});

it('a stored click whose lease expired unapplied is replayed and applied once; a late re-delivery changes nothing', async () => {
  const { id, version, slackUser } = await postedHandoff();
  const click = blockAction(h.fake, { user: slackUser, actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, version) });
  const payload = JSON.parse(new URLSearchParams(click.body).get('payload')!) as Record<string, unknown>;
  // What a process leaves behind when it dies right after the ack: the row, leased a minute ago, never applied.
  const past: Clock = { now: () => new Date(Date.now() - 60_000) };
  const stored = await new PlatformInbox(h.baton.db, past, 'slack').store(`trigger:${click.triggerId}`, payload);
  expect(stored.fresh).toBe(true);
  await waitFor('the replayed accept', async () => (await h.baton.service.get(id, { events: false })).status === 'accepted');
  const [row] = await waitFor('the row applied', async () => {
    const r = await inboxRows(`trigger:${click.triggerId}`);
    return r[0]?.appliedAt ? r : undefined;
  });
  expect(row).toMatchObject({ attempts: 2, failedAt: null });

  // Slack retrying the same click now: acknowledged, not stored again, not applied again.
  const late = await postSigned(h.baton, click.body, FORM, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
  expect(late.status).toBe(200);
  await new Promise((r) => setTimeout(r, 700)); // a few recovery passes
  expect(await eventsOf(id, 'accepted')).toHaveLength(1);
  expect(await inboxRows(`trigger:${click.triggerId}`)).toEqual([expect.objectContaining({ attempts: 2 })]);
});

it('two handlings of one stored click (a replay racing the first) apply it once, even a Snooze that keeps the version', async () => {
  const { id, slackUser } = await postedHandoff();
  const inbox = new PlatformInbox(h.baton.db, { now: () => new Date() }, 'slack');
  const stored = await inbox.store(`trigger:race-${id}`, { type: 'block_actions', user: { id: slackUser } });
  // Snooze is an annotation: the handoff's version guard does not stop a second one; the inbox row does.
  const act = () => h.baton.service.act(id, { action: 'snooze', actor: 'sven' }, { inTransaction: inbox.appliedIn(stored.id) });
  const outcomes = await Promise.allSettled([act(), act()]);
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
  expect(refused.reason).toBeInstanceOf(InboxAlreadyAppliedError);
  expect(await eventsOf(id, 'snoozed')).toHaveLength(1);
  // Without the inbox guard the same two snoozes both apply: the guard is what made it once.
  await Promise.all([h.baton.service.act(id, { action: 'snooze', actor: 'sven' }), h.baton.service.act(id, { action: 'snooze', actor: 'sven' })]);
  expect(await eventsOf(id, 'snoozed')).toHaveLength(3);
});

it('a click that keeps failing is tried three times in all, then marked failed with a warning', async () => {
  let now = Date.now();
  const clock: Clock = { now: () => new Date(now) };
  // Its own platform name: the harness's Slack recovery does not see these rows.
  const inbox = new PlatformInbox(h.baton.db, clock, `test-${process.pid}`, { leaseMs: 1_000 });
  const { id } = await inbox.store('trigger:doomed', { type: 'block_actions' });
  const warnings: unknown[] = [];
  const log = { info: () => undefined, warn: (o: unknown) => warnings.push(o) } as unknown as Parameters<typeof startInboxRecovery>[0]['log'];
  let replays = 0;
  const recovery = startInboxRecovery({
    inbox,
    log,
    everyMs: 60_000,
    replay: async () => {
      replays++;
      throw new Error('Slack is down');
    },
  });
  try {
    await recovery.runOnce(); // the lease of the first attempt (on receipt) has not expired: nothing
    expect(replays).toBe(0);
    for (const expected of [1, 2, 2]) {
      now += 1_001;
      await recovery.runOnce();
      expect(replays).toBe(expected);
    }
    const row = await h.baton.db.prisma.platformInbox.findUniqueOrThrow({ where: { id: BigInt(id) } });
    expect(row).toMatchObject({ attempts: 3, appliedAt: null });
    expect(row.failedAt).not.toBeNull();
    expect(warnings).toContainEqual(expect.objectContaining({ inboxId: id, key: 'trigger:doomed', attempts: 3 }));
    // Failed is final.
    now += 10_000;
    await recovery.runOnce();
    expect(replays).toBe(2);
  } finally {
    await recovery.stop();
  }
});
