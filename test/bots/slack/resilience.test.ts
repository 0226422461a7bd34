/**
 * The Slack gateway under a misbehaving Slack: a 429 storm then 5xx errors, an answer lost after
 * Slack posted, a timeout, permanent refusals. Every card is posted exactly once, nothing is lost,
 * and posts to one channel are paced.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { exampleOf, pendingSlackDeliveries, startSlackHarness, waitFor, type SlackHarness } from './helpers.js';
import { startTestBaton } from '../../helpers/baton.js';
import { slackPlugin } from '../../../bots/slack/plugin.js';

const SDR_CHANNEL = 'C0ECEXM8EYG';
const SALES_CHANNEL = 'C0W4D8NFSK1';
const PACE_MS = 200;

let h: SlackHarness;
let n = 0;

beforeAll(async () => {
  h = await startSlackHarness({ plugin: { postIntervalMs: PACE_MS, requestTimeoutMs: 1000 } });
});
afterAll(async () => {
  await h?.stop();
});

async function intake(transition: string, to: string): Promise<number> {
  const k = ++n; // taken before any await: intakes may run concurrently
  const req = await exampleOf(h.baton, transition);
  req.account = { name: `Storm ${k}`, domain: `storm-${k}.example`, crmId: `ST-${k}` };
  req.to = to;
  const r = await h.baton.api('POST', '/api/handoffs', req);
  expect(r.status).toBe(201);
  return r.json.id;
}

const slackId = (id: string) => h.playbook.people.find((p) => p.id === id)!.slackUserId!;

/** Each handoff has exactly one card per place, and no other copies anywhere. */
function expectExactlyOnce(ids: number[], owners: Map<number, string>) {
  for (const id of ids) {
    const cards = h.fake.cardsFor(id);
    expect(cards.map((c) => c.channel).sort()).toEqual([h.fake.dmChannelOf(slackId(owners.get(id)!)), SDR_CHANNEL].sort());
  }
}

it('a 429 storm then 5xx errors: after recovery every card is posted exactly once, and posts to a channel are paced', async () => {
  const started = Date.now();
  const count = (status: number) => h.fake.calls.filter((c) => c.status === status).length;
  // Phase 1: Slack answers everything with 429 and Retry-After: 1, for at least 2.5 s.
  h.fake.inject({ kind: 'ratelimit', retryAfterSec: 1 });
  const owners = new Map<number, string>();
  const ids = await Promise.all(
    Array.from({ length: 30 }, async (_, i) => {
      const owner = i % 2 ? 'amelia' : 'sven';
      const id = await intake('marketing_to_sdr', owner);
      owners.set(id, owner);
      return id;
    }),
  );
  const phase1 = Date.now();
  await waitFor('the rate limit to be felt twice', () => Date.now() - phase1 > 2500 && count(429) >= 2, 30_000, 50);
  // Baton waits out each Retry-After for the whole lane instead of sending every waiting card to
  // be refused in turn (30 handoffs, 60 cards waiting): about one refused call per second.
  const refusedDuringStorm = count(429);
  expect(refusedDuringStorm).toBeLessThanOrEqual(2 * Math.ceil((Date.now() - phase1) / 1000) + 2);
  // Phase 2: HTTP 500s, until a good number of retries have hit them.
  const phase2Started = Date.now();
  h.fake.clearFaults();
  h.fake.inject({ kind: 'http', status: 500 });
  await waitFor('5xx answers', () => count(500) >= 20, 30_000, 50);
  // Phase 3: Slack is back.
  h.fake.clearFaults();
  expect(ids.every((id) => h.fake.cardsFor(id).length === 0)).toBe(true);
  await waitFor(
    'every card posted and every delivery done',
    async () => ids.every((id) => h.fake.cardsFor(id).length === 2) && (await pendingSlackDeliveries(h.baton)) === 0,
    60_000,
    100,
  );
  const elapsed = Date.now() - started;
  const limited = h.fake.calls.filter((c) => c.status === 429).length;
  const failed = h.fake.calls.filter((c) => c.status === 500).length;
  console.log(`429 storm: ${limited} calls answered 429 (${refusedDuringStorm} in the first ${phase2Started - phase1} ms), ${failed} answered 500; all 60 cards posted once after ${elapsed} ms`);
  expect(limited).toBeGreaterThan(0);
  expect(failed).toBeGreaterThan(0);
  expectExactlyOnce(ids, owners);
  // Nothing was lost: every handoff reached "posted", no delivery gave up.
  for (const id of ids) expect((await h.baton.service.get(id, { events: false })).status).toBe('posted');
  const gaveUp = await h.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE consumer = 'slack' AND failed_at IS NOT NULL`);
  expect(gaveUp[0]!.n).toBe('0');
  // The outbox honoured Retry-After: nothing hit Slack again within a second of a 429 for the same channel.
  const posts = h.fake.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === SDR_CHANNEL && c.ok).map((c) => c.at);
  expect(posts).toHaveLength(30);
  // Paced at one post per PACE_MS in that channel after Slack's short burst of 4 (measured where
  // Slack receives them, so a little jitter).
  expect(posts[29]! - posts[0]!).toBeGreaterThanOrEqual((29 - 3) * PACE_MS - 100);
}, 90_000);

it('an answer lost after Slack posted (500 after commit) does not post the card twice', async () => {
  h.fake.inject({ kind: 'commitThenFail', status: 500 }, { method: 'chat.postMessage', times: 1 });
  const id = await intake('marketing_to_sdr', 'amelia');
  await waitFor('posted', async () => (await h.baton.service.get(id, { events: false })).status === 'posted' && (await pendingSlackDeliveries(h.baton)) === 0, 20_000);
  expectExactlyOnce([id], new Map([[id, 'amelia']]));
  const committed = h.fake.calls.filter((c) => c.error === 'committed_then_http_500');
  expect(committed).toHaveLength(1);
  // The retry looked for its own message (by metadata) instead of posting again.
  expect(h.fake.okCalls('conversations.history').some((c) => c.args.channel === committed[0]!.args.channel && c.args.include_all_metadata === true)).toBe(true);
});

it('a timeout after which Slack still posted does not post the card twice', async () => {
  h.fake.inject({ kind: 'slow', delayMs: 1100 }, { method: 'chat.postMessage', times: 1 });
  const historyBefore = h.fake.okCalls('conversations.history').length;
  const id = await intake('marketing_to_sdr', 'sven');
  await waitFor('posted', async () => (await h.baton.service.get(id, { events: false })).status === 'posted' && (await pendingSlackDeliveries(h.baton)) === 0, 20_000);
  expectExactlyOnce([id], new Map([[id, 'sven']]));
  // The client gave up at 1 s; the retry found the message Slack posted at 1.1 s.
  expect(h.fake.okCalls('conversations.history').length).toBeGreaterThan(historyBefore);
});

it('a permanent refusal at one place (channel_not_found) is logged and does not stop the DM; nowhere at all → the delivery fails for good', async () => {
  h.fake.missingChannels.add(SALES_CHANNEL);
  try {
    const id = await intake('sdr_to_ae', 'priya');
    await waitFor('DM card and posted', async () => h.fake.cardsFor(id).length === 1 && (await h.baton.service.get(id, { events: false })).status === 'posted', 20_000);
    expect(h.fake.cardsFor(id)[0]!.channel).toBe(h.fake.dmChannelOf(slackId('priya')));
    const refused = h.fake.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === SALES_CHANNEL);
    expect(refused).toHaveLength(1); // not retried

    // Marcus has left Slack: no DM either, so the delivery gives up and says why.
    const people = h.playbook.people.filter((p) => p.slackUserId && p.id !== 'marcus').map((p) => ({ id: p.slackUserId!, email: p.email }));
    h.fake.setUsers(people);
    const lost = await intake('sdr_to_ae', 'marcus');
    const row = await waitFor('failed delivery', async () => {
      const rows = await h.baton.db.sql.query<{ last_error: string; failed_at: Date | null }>(
        `SELECT d.last_error, d.failed_at FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id WHERE d.consumer = 'slack' AND e.handoff_id = ${lost} AND e.type = 'handoff.routed'`,
      );
      return rows[0]?.failed_at ? rows[0] : undefined;
    }, 20_000);
    expect(row.last_error).toContain('channel_not_found');
    expect(row.last_error).toContain('user_not_found');
    expect(h.fake.cardsFor(lost)).toHaveLength(0);
  } finally {
    h.fake.missingChannels.delete(SALES_CHANNEL);
    h.fake.setUsers(h.playbook.people.filter((p) => p.slackUserId).map((p) => ({ id: p.slackUserId!, email: p.email })));
  }
});

it('without Slack credentials the plugin is off with one clear log line, and /slack/events does not exist', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const baton = await startTestBaton({ plugins: [slackPlugin], log });
  try {
    const slackLines = lines.filter((l) => /slack/i.test(l));
    expect(slackLines).toHaveLength(1);
    expect(slackLines[0]).toContain('Slack is disabled: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to connect it');
    const r = await fetch(`${baton.url}/slack/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const created = await baton.api('POST', '/api/handoffs', await exampleOf(baton, 'marketing_to_sdr'));
    expect(created.status).toBe(201);
  } finally {
    await baton.stop();
  }
});
