/**
 * Two Baton processes on one database deliver Slack events of one handoff at the same moment —
 * what several `npm start`s behind a load balancer do when the outbox hands one process `nudged`
 * and another `escalated`, or when a delivery is taken over while its first holder is still at it.
 * Each "process" here is a Slack gateway with its own database connection (a second connection to
 * the same PostgreSQL schema with DATABASE_URL; the one PGlite otherwise), its own pacer and Web API
 * client, against the one local fake Slack. The outbox of the Baton that set things up is stopped,
 * so the two gateways are the only deliverers, driven side by side.
 *
 * Every message must reach Slack exactly once: each card, each notice, each thread reply.
 */
import { boltLogger } from '../../../bots/slack/logger.js';
import { ChannelPacer, gatewayClient } from '../../../bots/slack/api.js';
import { SlackGateway } from '../../../bots/slack/gateway.js';
import { SlackUserMapper } from '../../../bots/slack/users.js';
import { PlatformStore } from '../../../src/platformStore.js';
import { PersonHandles } from '../../../src/personHandles.js';
import { systemClock } from '../../../src/clock.js';
import type { OutboxEvent } from '../../../src/events.js';
import { DatabaseRateLimiter } from '../../../src/rateBuckets.js';
import { slackChannelLimits, type RateLimiter } from '../../../src/rateLimit.js';
import { RetryAfterError } from '../../../src/retry.js';
import { openDatabase, type Database } from '../../../src/store/database.js';
import { freshDatabase, silentLog, type TestDatabase } from '../../helpers/baton.js';
import { BOT_TOKEN, exampleOf, startSlackHarness, type SlackHarness } from './helpers.js';

const SDR_CHANNEL = 'C0ECEXM8EYG';
let fresh: TestDatabase;
let h: SlackHarness;
let second: Database;
let n = 0;

beforeAll(async () => {
  fresh = await freshDatabase();
  h = await startSlackHarness({ db: fresh.db, plugin: { postIntervalMs: 10 } });
  await h.baton.outbox.stop();
  second = fresh.url ? await openDatabase({ url: fresh.url, dataDir: '' }) : fresh.db;
});
afterAll(async () => {
  await h?.stop();
  if (second && second !== fresh.db) await second.close();
  await fresh?.drop();
});

/** One Baton process's Slack gateway, on its own connection to the shared database. */
function gatewayOn(db: Database, pacer: RateLimiter = new ChannelPacer(10)): SlackGateway {
  const client = gatewayClient(BOT_TOKEN, { apiUrl: h.fake.apiUrl, timeoutMs: 2000, logger: boltLogger(silentLog) });
  const users = new SlackUserMapper(h.baton.service.directory, client, { ttlMs: 60_000, handles: new PersonHandles(db, systemClock), workspace: async () => h.fake.teamId });
  return new SlackGateway({ service: h.baton.service, store: new PlatformStore(db, systemClock), client, users, pacer, clock: systemClock, log: silentLog });
}

async function intake(): Promise<number> {
  const k = ++n;
  const req = await exampleOf(h.baton, 'marketing_to_sdr');
  req.account = { name: `Twice ${k}`, domain: `twice-${k}.example`, crmId: `TW-${k}` };
  req.to = 'amelia';
  const r = await h.baton.api('POST', '/api/handoffs', req);
  expect(r.status).toBe(201);
  return r.json.id;
}

/** The outbox events of a handoff, as the dispatcher hands them to a consumer. */
async function eventsOf(handoffId: number, type: string): Promise<OutboxEvent[]> {
  const rows = await h.baton.db.prisma.outboxEvent.findMany({ where: { handoffId, type }, orderBy: { id: 'asc' } });
  return rows.map((r) => ({ id: String(r.id), handoffId: r.handoffId, type: r.type, payload: r.payload as Record<string, unknown>, createdAt: r.createdAt }));
}

const amelia = () => h.playbook.people.find((p) => p.id === 'amelia')!.slackUserId!;

it('the same `routed` delivered by two processes at once posts each card once', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await intake();
    const [routed] = await eventsOf(id, 'handoff.routed');
    await Promise.all([gatewayOn(h.baton.db).handle(routed!), gatewayOn(second).handle(routed!)]);
    expect(h.fake.cardsFor(id).map((c) => c.channel).sort()).toEqual([h.fake.dmChannelOf(amelia()), SDR_CHANNEL].sort());
  }
});

it('`nudged` and `escalated` of one handoff delivered by two processes at once: each thread reply and each notice posted once', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await intake();
    const [routed] = await eventsOf(id, 'handoff.routed');
    await gatewayOn(h.baton.db).handle(routed!);
    const view = await h.baton.service.get(id, { events: false });
    await h.baton.service.apply(id, 'nudge', null, { data: { kind: 'accept', point: 0.5, dueAt: view.slaDueAt, level: 0 } });
    await h.baton.service.apply(id, 'escalate', null, { data: { kind: 'accept', point: 1, dueAt: view.slaDueAt, level: 1, escalatedTo: { id: 'oliver', name: 'Oliver Bennett' } } });
    const [nudged] = await eventsOf(id, 'handoff.nudged');
    const [escalated] = await eventsOf(id, 'handoff.escalated');
    await Promise.all([gatewayOn(h.baton.db).handle(nudged!), gatewayOn(second).handle(escalated!)]);

    const cards = h.fake.cardsFor(id);
    expect(cards).toHaveLength(2);
    for (const card of cards) {
      expect(h.fake.replies(card.channel, card.ts).map((m) => m.text)).toEqual([expect.stringContaining('Reminder sent'), expect.stringContaining('Escalated')]);
    }
    // The reminder in Amelia's DM; the escalation in the channel and in Oliver's DM.
    expect(h.fake.noticesFor(id)).toHaveLength(3);
  }
});

it("Slack's 429 to one process holds back the other's posts to that channel (pacing shared through the database)", async () => {
  // What the adapter gets on PostgreSQL (rateLimiterFor); built directly so PGlite runs it too.
  const sharedPacer = (db: Database) => new DatabaseRateLimiter(db, 'slack', slackChannelLimits(10));
  const [one, two] = [await intake(), await intake()];
  const [routedOne] = await eventsOf(one, 'handoff.routed');
  const [routedTwo] = await eventsOf(two, 'handoff.routed');
  h.fake.inject({ kind: 'ratelimit', retryAfterSec: 30 }, { method: 'chat.postMessage', times: 1 });
  const refused = await gatewayOn(h.baton.db, sharedPacer(h.baton.db)).handle(routedOne!).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(RetryAfterError);
  const postsBefore = h.fake.callsTo('chat.postMessage').filter((c) => c.args.channel === SDR_CHANNEL).length;
  const heldBack = await gatewayOn(second, sharedPacer(second)).handle(routedTwo!).catch((e: unknown) => e);
  expect(heldBack).toBeInstanceOf(RetryAfterError);
  expect((heldBack as RetryAfterError).retryAfterMs).toBeGreaterThan(25_000);
  // The other process did not call Slack in that channel at all.
  expect(h.fake.callsTo('chat.postMessage').filter((c) => c.args.channel === SDR_CHANNEL).length).toBe(postsBefore);
  expect(h.fake.cardsFor(two).filter((c) => c.channel === SDR_CHANNEL)).toHaveLength(0);
});
