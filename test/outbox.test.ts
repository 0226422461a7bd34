/** The transactional outbox against the real database: delivery, retries, give-up, and no double delivery. */
import { OutboxDispatcher, type OutboxEvent, type OutboxConsumer } from '../src/outbox.js';
import { EVENT_TYPES, HANDOFF_EVENT_TYPES } from '../src/events.js';
import { NonRetriableError, RetryAfterError } from '../src/retry.js';
import { systemClock } from '../src/clock.js';
import { silentLog, startTestBaton, type TestBaton } from './helpers/baton.js';

class RecordingConsumer implements OutboxConsumer {
  readonly seen: OutboxEvent[] = [];
  failures: (Error | undefined)[] = [];
  constructor(readonly name: string) {}
  readonly subscribes = HANDOFF_EVENT_TYPES;
  async handle(event: OutboxEvent) {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.seen.push(event);
  }
}

let baton: TestBaton;
const consumer = new RecordingConsumer('recorder');
let example: any;

beforeAll(async () => {
  baton = await startTestBaton({ consumers: [consumer] });
  await baton.outbox.stop(); // the tests drive their own dispatchers
  example = (await baton.api('GET', '/api/transitions')).json[0].example;
});
afterAll(async () => {
  await baton?.stop();
});
beforeEach(() => {
  consumer.seen.length = 0;
  consumer.failures = [];
});

const dispatcher = () => new OutboxDispatcher(baton.db.prisma, systemClock, silentLog, { pollMs: 50, backoff: { baseMs: 10, maxMs: 20, maxAttempts: 3 } });
const delivery = async (handoffId: number) =>
  (await baton.db.sql.query<{ attempts: number; delivered_at: Date | null; failed_at: Date | null; last_error: string | null; available_at: Date }>(
    `SELECT d.attempts, d.delivered_at, d.failed_at, d.last_error, d.available_at FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id WHERE e.handoff_id = $1 AND d.consumer = 'recorder' ORDER BY d.event_id`,
    [handoffId],
  ))[0]!;

it('writes the event with the state change and delivers it once', async () => {
  const h = (await baton.api('POST', '/api/handoffs', example)).json;
  const d = dispatcher();
  d.register(consumer);
  expect(await d.drain()).toBeGreaterThanOrEqual(1);
  expect(await d.drain()).toBe(0);
  expect(consumer.seen.filter((e) => e.handoffId === h.id).map((e) => e.type)).toEqual(['handoff.routed']);
  expect(consumer.seen[0]!.payload).toMatchObject({ handoffId: h.id, version: 1, ownerId: h.owner.id });
  expect((await delivery(h.id)).delivered_at).not.toBeNull();
});

it('retries a failing consumer with backoff, then delivers', async () => {
  const h = (await baton.api('POST', '/api/handoffs', example)).json;
  consumer.failures = [new Error('socket hang up'), new Error('503 from Slack')];
  const d = dispatcher();
  d.register(consumer);
  for (let i = 0; i < 20 && !consumer.seen.some((e) => e.handoffId === h.id); i++) {
    await d.drain();
    await new Promise((r) => setTimeout(r, 25));
  }
  const row = await delivery(h.id);
  expect(row.attempts).toBe(3);
  expect(row.delivered_at).not.toBeNull();
  expect(row.last_error).toBeNull();
});

it('a rate limit pauses the whole lane for Retry-After, without counting it as a failed attempt', async () => {
  const h = (await baton.api('POST', '/api/handoffs', example)).json;
  consumer.failures = [new RetryAfterError('rate limited', 60_000)];
  const d = dispatcher();
  d.register(consumer);
  const before = Date.now();
  await d.drain();
  const waiting = await delivery(h.id);
  expect(waiting.delivered_at).toBeNull();
  expect(new Date(waiting.available_at).getTime()).toBeGreaterThanOrEqual(before + 59_000);
  expect(waiting.attempts).toBe(0);
  expect(waiting.last_error).toBe('rate limited');

  // Another event for the same consumer is not sent to be refused too: the lane waits.
  const seen = consumer.seen.length;
  const h2 = (await baton.api('POST', '/api/handoffs', { ...example, account: { name: 'Rate-limited too' } })).json;
  await d.drain();
  expect(consumer.seen.length).toBe(seen);
  expect((await delivery(h2.id)).delivered_at).toBeNull();
  expect((await delivery(h2.id)).attempts).toBe(0);
  // The pause belongs to this process's lane; the delivery itself was never held back.
  const other = dispatcher();
  other.register(consumer);
  await other.drain();
  expect((await delivery(h2.id)).delivered_at).not.toBeNull();
});

it('gives up on a non-retriable error at once, keeping the reason', async () => {
  const h = (await baton.api('POST', '/api/handoffs', { ...example, account: { name: 'Other' } })).json;
  consumer.failures = [new NonRetriableError('channel_not_found')];
  const d = dispatcher();
  d.register(consumer);
  await d.drain();
  const failed = await delivery(h.id);
  expect(failed.failed_at).not.toBeNull();
  expect(failed.last_error).toBe('channel_not_found');
  expect(consumer.seen.some((e) => e.handoffId === h.id)).toBe(false);
});

it('never delivers an event twice when several dispatchers drain at once', async () => {
  const ids: number[] = [];
  for (let i = 0; i < 40; i++) ids.push((await baton.api('POST', '/api/handoffs', { ...example, account: { name: `Batch ${i}` } })).json.id);
  const counts = new Map<string, number>();
  const counting: OutboxConsumer = {
    name: 'recorder',
    subscribes: EVENT_TYPES,
    async handle(e) {
      counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
    },
  };
  const ds = [dispatcher(), dispatcher(), dispatcher()];
  for (const d of ds) d.register(counting);
  await Promise.all(ds.map((d) => d.drain()));
  const delivered = [...counts.entries()];
  expect(delivered.length).toBeGreaterThanOrEqual(40);
  expect(delivered.every(([, n]) => n === 1)).toBe(true);
  for (const id of ids) expect((await delivery(id)).delivered_at).not.toBeNull();
});

it('records a batch of successes together, each at the time it was handled, around a failure in the middle', async () => {
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push((await baton.api('POST', '/api/handoffs', example)).json.id);
  const handledAt = new Map<number, number>();
  const slow: OutboxConsumer = {
    name: 'recorder',
    subscribes: HANDOFF_EVENT_TYPES,
    async handle(event) {
      if (event.handoffId === ids[2]) throw new Error('503 from Slack');
      await new Promise((r) => setTimeout(r, 30));
      handledAt.set(event.handoffId!, Date.now());
    },
  };
  const d = dispatcher();
  d.register(slow);
  await d.drainOnce();
  const rows = await Promise.all(ids.map((id) => delivery(id)));
  expect(rows.map((r) => (r.delivered_at ? 'delivered' : r.last_error))).toEqual(['delivered', 'delivered', '503 from Slack', 'delivered', 'delivered']);
  for (const [i, id] of ids.entries()) {
    if (i === 2) continue;
    // Recorded with the time its own handling ended, not the end of the batch.
    expect(Math.abs(rows[i]!.delivered_at!.getTime() - handledAt.get(id)!)).toBeLessThan(15);
  }
  expect(rows[4]!.delivered_at!.getTime() - rows[0]!.delivered_at!.getTime()).toBeGreaterThanOrEqual(60);
});
