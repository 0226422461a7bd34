/**
 * Issue #18 items 3 and 7: outbox deliveries are claimed through the database under a short lease
 * the holder renews, and run in lanes (OutboxConsumer.laneOf, e.g. a channel). Several
 * dispatchers on one database stand for several processes: they share one pool here, but each
 * claims, renews and gives back only through SQL, as separate processes would.
 */
import { jest } from '@jest/globals';
import { OutboxDispatcher, type OutboxEvent, type OutboxConsumer } from '../../src/outbox.js';
import { HANDOFF_EVENT_TYPES } from '../../src/events.js';
import { RetryAfterError } from '../../src/retry.js';
import { systemClock } from '../../src/clock.js';
import { silentLog, startTestBaton, type TestBaton } from '../helpers/baton.js';
import { sleep, until } from './helpers.js';

jest.setTimeout(120_000);

/** Consumer "laned": what each test plugs in (one consumer name, so each test's rows are its own). */
let handler: (event: OutboxEvent, dispatcher: string) => Promise<void> = async () => undefined;
let laneOf: (event: OutboxEvent) => string = () => 'one';
const consumerFor = (dispatcher: string): OutboxConsumer => ({
  name: 'laned',
  subscribes: HANDOFF_EVENT_TYPES,
  laneOf: (e) => laneOf(e),
  handle: (e) => handler(e, dispatcher),
});

let baton: TestBaton;
let example: any;
const started: OutboxDispatcher[] = [];
beforeAll(async () => {
  baton = await startTestBaton({ consumers: [consumerFor('none')] });
  await baton.outbox.stop(); // the tests drive their own dispatchers
  example = (await baton.api('GET', '/api/transitions')).json[0].example;
});
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
});
afterAll(async () => {
  await baton?.stop();
});

function dispatcher(name: string, opts: { leaseMs?: number; concurrency?: number; laneDepth?: number } = {}): OutboxDispatcher {
  const d = new OutboxDispatcher(baton.db.prisma, systemClock, silentLog, { pollMs: 50, leaseMs: opts.leaseMs ?? 15_000, concurrency: opts.concurrency, laneDepth: opts.laneDepth, backoff: { baseMs: 10, maxMs: 20, maxAttempts: 3 } });
  d.register(consumerFor(name));
  started.push(d);
  return d;
}
async function intakes(n: number, tag: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await baton.api('POST', '/api/handoffs', { ...example, account: { name: `${tag} ${i}` } });
    expect(r.status).toBe(201);
    ids.push(r.json.id);
  }
  return ids;
}
const deliveryOf = async (handoffId: number) =>
  (await baton.db.sql.query<{ attempts: number; delivered_at: Date | null; locked_until: Date | null; available_at: Date; last_error: string | null }>(
    `SELECT d.attempts, d.delivered_at, d.locked_until, d.available_at, d.last_error FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id WHERE e.handoff_id = $1 AND d.consumer = 'laned' ORDER BY d.event_id LIMIT 1`,
    [handoffId],
  ))[0]!;

it('two dispatchers on one database, renewing short leases while they work, never deliver one event twice', async () => {
  const ids = await intakes(30, 'Twice');
  const counts = new Map<string, number>();
  const by = new Map<string, Set<string>>([['a', new Set()], ['b', new Set()]]);
  laneOf = (e) => `channel-${(e.handoffId ?? 0) % 4}`;
  // Slower than a third of the lease: every claim is renewed at least once while it is held.
  handler = async (e, d) => {
    await sleep(150);
    counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    by.get(d)!.add(e.id);
  };
  // Two ahead per lane: each hands back what it cannot start soon, and the other claims it.
  const a = dispatcher('a', { leaseMs: 300, laneDepth: 2 });
  const b = dispatcher('b', { leaseMs: 300, laneDepth: 2 });
  a.start();
  b.start();
  await until('all thirty delivered', async () => (await Promise.all(ids.map(deliveryOf))).every((r) => r.delivered_at !== null), 60_000, 50);
  expect(counts.size).toBe(30);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  // Both took part: the claims were shared, not serialised onto one.
  expect(by.get('a')!.size).toBeGreaterThan(0);
  expect(by.get('b')!.size).toBeGreaterThan(0);
});

it('a dispatcher that dies (stops renewing) loses its delivery to another within the lease; while it renews, nobody takes it', async () => {
  const [id] = await intakes(1, 'Dies');
  const leaseMs = 1500;
  let release!: () => void;
  const hung = new Promise<void>((r) => (release = r));
  const handledBy: string[] = [];
  laneOf = () => 'one';
  handler = async (e, d) => {
    if (e.handoffId !== id) return;
    handledBy.push(d);
    if (d === 'dying') await hung; // the process is stuck on it, then dies
  };
  const dying = dispatcher('dying', { leaseMs });
  const survivor = dispatcher('survivor', { leaseMs });
  dying.start();
  await until('the dying dispatcher holds the delivery', () => handledBy.includes('dying'), 10_000, 10);
  // Twice the lease: without renewal the claim would have run out; renewed, it is still held.
  for (const end = Date.now() + 2 * leaseMs; Date.now() < end; ) {
    await survivor.drain();
    await sleep(50);
  }
  expect(handledBy).toEqual(['dying']);
  expect((await deliveryOf(id!)).locked_until).not.toBeNull();

  dying.halt();
  const haltedAt = Date.now();
  await until('the survivor took the delivery over', async () => {
    await survivor.drain();
    return handledBy.includes('survivor');
  }, 2 * leaseMs, 20);
  const takeoverMs = Date.now() - haltedAt;
  expect(takeoverMs).toBeLessThan(2 * leaseMs);
  release();
  const row = await deliveryOf(id!);
  expect(row.delivered_at).not.toBeNull();
  expect(row.attempts).toBe(2);
  expect(handledBy).toEqual(['dying', 'survivor']);
});

it('a slow lane does not delay another lane', async () => {
  const slowIds = new Set(await intakes(8, 'Busy channel'));
  const fastIds = await intakes(4, 'Quiet channel');
  laneOf = (e) => (slowIds.has(e.handoffId!) ? 'busy' : 'quiet');
  const seen: number[] = [];
  handler = async (e) => {
    if (slowIds.has(e.handoffId!)) await sleep(400);
    seen.push(e.handoffId!);
  };
  const d = dispatcher('one');
  d.start();
  await until('the quiet channel delivered', () => fastIds.every((id) => seen.includes(id)), 10_000, 10);
  // The busy channel's eight (3.2 s of work, committed first) are far from done.
  expect(seen.filter((id) => slowIds.has(id)).length).toBeLessThan(4);
  await until('the busy channel delivered', () => [...slowIds].every((id) => seen.includes(id)), 20_000, 20);
  // One lane, one at a time, in commit order.
  expect(seen.filter((id) => slowIds.has(id))).toEqual([...slowIds]);
});

it('a 429 pauses only its own lane', async () => {
  const [limited, other] = await intakes(2, 'Limited');
  laneOf = (e) => `lane-${e.handoffId}`;
  const seen: number[] = [];
  let refused = false;
  handler = async (e) => {
    if (e.handoffId === limited && !refused) {
      refused = true;
      throw new RetryAfterError('rate limited', 60_000);
    }
    seen.push(e.handoffId!);
  };
  const d = dispatcher('one');
  const before = Date.now();
  await d.drain();
  expect(seen).toContain(other);
  expect(seen).not.toContain(limited);
  const waiting = await deliveryOf(limited!);
  expect(waiting.delivered_at).toBeNull();
  expect(waiting.locked_until).toBeNull();
  expect(waiting.attempts).toBe(0);
  expect(new Date(waiting.available_at).getTime()).toBeGreaterThanOrEqual(before + 59_000);
  expect(waiting.last_error).toBe('rate limited');
});

it('stop() lets the delivery in hand finish and gives back the ones claimed but not started', async () => {
  const ids = await intakes(4, 'Stopping');
  const idSet = new Set(ids);
  laneOf = () => 'one';
  let entered!: () => void;
  const inHand = new Promise<void>((r) => (entered = r));
  const seen: number[] = [];
  handler = async (e) => {
    if (!idSet.has(e.handoffId!)) return;
    entered();
    await sleep(300);
    seen.push(e.handoffId!);
  };
  const d = dispatcher('one');
  d.start();
  await inHand;
  await d.stop();
  expect(seen).toEqual([ids[0]]);
  const rows = await Promise.all(ids.map(deliveryOf));
  expect(rows[0]!.delivered_at).not.toBeNull();
  for (const r of rows.slice(1)) {
    // Claimable at once by another process, and the attempt not counted.
    expect(r.delivered_at).toBeNull();
    expect(r.locked_until).toBeNull();
    expect(r.attempts).toBe(0);
  }
});

it('a lane fuller than its depth hands the rest back and still delivers in commit order', async () => {
  const ids = await intakes(9, 'Deep lane');
  const idSet = new Set(ids);
  laneOf = () => 'deep';
  const seen: number[] = [];
  handler = async (e) => {
    if (!idSet.has(e.handoffId!)) return;
    await sleep(20);
    seen.push(e.handoffId!);
  };
  const d = dispatcher('one', { laneDepth: 2 });
  d.start();
  // Intakes while it works: new rows must wait behind the handed-back older ones.
  const more = await intakes(3, 'Deep lane later');
  for (const id of more) idSet.add(id);
  await until('all delivered', () => [...idSet].every((id) => seen.includes(id)), 30_000, 20);
  expect(seen).toEqual([...ids, ...more]);
});
