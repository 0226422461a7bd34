/**
 * Found by scenario 2: one slow outbox consumer must not hold back the others. Slack paces posts
 * to one channel at about one per second and waits up to its request timeout when Slack hangs;
 * before each consumer had its own lane, the dispatcher handled a claimed batch for all consumers
 * together and claimed the next batch only when the slowest was done, so SLA timers were armed
 * (and fired) a minute late after a crash, and Teams waited for Slack's outage to end.
 */
import { OutboxDispatcher, type OutboxEvent, type OutboxConsumer } from '../../src/outbox.js';
import { systemClock } from '../../src/clock.js';
import { silentLog, startTestBaton, type TestBaton } from '../helpers/baton.js';
import { recordFigures, until } from './helpers.js';

class Consumer implements OutboxConsumer {
  /** event id → ms from the event's commit to its delivery. */
  readonly seen = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly delayMs: number,
  ) {}
  readonly subscribes = ['handoff.routed'] as const;
  async handle(event: OutboxEvent): Promise<void> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.seen.set(event.id, Date.now() - event.createdAt.getTime());
  }
}

const slow = new Consumer('slow', 400);
const fast = new Consumer('fast', 0);
let baton: TestBaton;
beforeAll(async () => {
  baton = await startTestBaton({ consumers: [slow, fast] });
  await baton.outbox.stop(); // this test drives its own dispatcher
});
afterAll(async () => {
  await baton?.stop();
});

it('a consumer that takes 400 ms per event does not delay another consumer\'s deliveries', async () => {
  const example = (await baton.api('GET', '/api/transitions')).json[0].example;
  const intake = async (i: number) => expect((await baton.api('POST', '/api/handoffs', { ...example, account: { name: `Lane ${i}` } })).status).toBe(201);
  for (let i = 0; i < 10; i++) await intake(i);
  const d = new OutboxDispatcher(baton.db.prisma, systemClock, silentLog, { pollMs: 50 });
  d.register(slow);
  d.register(fast);
  d.start();
  try {
    // The slow consumer is now busy with the first ten (4 s); ten more events come in.
    await until('the first ten at the fast consumer', () => fast.seen.size === 10, 20_000, 10);
    const firstTen = new Set(fast.seen.keys());
    for (let i = 10; i < 20; i++) await intake(i);
    await until('the fast consumer has all twenty', () => fast.seen.size === 20, 20_000, 10);
    await until('the slow consumer has all twenty', () => slow.seen.size === 20, 30_000, 10);
    const lastTen = (c: Consumer) => [...c.seen.entries()].filter(([id]) => !firstTen.has(id)).map(([, ms]) => ms);
    const fastMax = Math.max(...lastTen(fast));
    const slowMax = Math.max(...lastTen(slow));
    recordFigures('outbox-lanes', { events: 20, slowConsumerMsPerEvent: 400, fastConsumerMaxLatencyMs: fastMax, slowConsumerMaxLatencyMs: slowMax });
    expect(slowMax).toBeGreaterThanOrEqual(3500);
    // The fast consumer's new events do not wait for the slow consumer's batch (seconds).
    expect(fastMax).toBeLessThan(1000);
  } finally {
    await d.stop();
  }
});
