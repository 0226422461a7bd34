/**
 * One subscription's delivery over real HTTP against the local receiver: the wire format the
 * Standard Webhooks library verifies, and what each answer means to the outbox (retry with
 * back-off, wait as told, or stop) — read through src/retry.ts's backoff, as the dispatcher does.
 * And the start-up check of the signing secrets.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { systemClock } from '../../src/clock.js';
import { ConfigError } from '../../src/errors.js';
import type { OutboxEvent } from '../../src/events.js';
import { backoff, NonRetriableError, RetryAfterError } from '../../src/retry.js';
import type { WebhookSubscription } from '../../src/playbook/schema.js';
import { retryAfterMs, webhookConsumers, WebhookSubscriptionConsumer } from '../../src/webhooks/outbound.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhookReceiver.js';
import { silentLog } from '../helpers/baton.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const deps = { clock: systemClock, log: silentLog };

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
});
afterAll(async () => {
  await receiver?.close();
});

function subscription(path: string): WebhookSubscription {
  return { id: 'test', url: receiver.url + path, events: ['handoff.accepted'], secretEnv: 'TEST_SECRET' };
}

const event: OutboxEvent = {
  id: '41',
  handoffId: 7,
  type: 'handoff.accepted',
  payload: { handoffId: 7, version: 2, action: 'accept', actorId: 'ana', ownerId: 'ana', timerToken: 't', slaAcceptDueAt: null, slaFirstTouchDueAt: null },
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
};

/** What the consumer threw for this answer (undefined: delivered). */
async function outcome(answer: { status: number; headers?: Record<string, string> }): Promise<unknown> {
  receiver.script = () => answer;
  try {
    await new WebhookSubscriptionConsumer(subscription('/answer'), SECRET, deps).handle(event, 1);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('a delivery', () => {
  it('sends { type, timestamp, data } with webhook-id, webhook-timestamp and a signature the library verifies', async () => {
    receiver.script = () => undefined;
    const consumer = new WebhookSubscriptionConsumer(subscription('/ok'), SECRET, deps);
    expect(consumer.name).toBe('webhook:test');
    expect(consumer.subscribes).toEqual(['handoff.accepted']);
    await consumer.handle(event, 1);
    await consumer.handle(event, 2);
    const [first, second] = receiver.requests.filter((r) => r.path === '/ok');
    expect(first!.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': 'evt_41' });
    expect(first!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    expect(Math.abs(Number(first!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
    expect(new Webhook(SECRET).verify(first!.body, first!.headers)).toEqual({ type: 'handoff.accepted', timestamp: '2026-12-01T10:00:00.000Z', data: event.payload });
    // The same event again: the same webhook-id, so the receiver acknowledges it without processing it twice.
    expect(second!.headers['webhook-id']).toBe('evt_41');
    expect(receiver.processed.filter((m) => m.path === '/ok')).toHaveLength(1);
    expect(receiver.repeats).toEqual(['evt_41']);
    // Another secret does not verify.
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(first!.body, first!.headers)).toThrow('No matching signature found');
  });

  it('retries 5xx and 408 with back-off, waits out 429 Retry-After, and stops on other 4xx, 410 and redirects', async () => {
    for (const status of [500, 502, 503, 408]) {
      const err = await outcome({ status });
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(NonRetriableError);
      expect(err).not.toBeInstanceOf(RetryAfterError);
      expect(backoff(1, err)).not.toBeNull();
      expect((err as Error).message).toBe(`webhook "test" (${receiver.url}) answered ${status}: no`);
    }
    const limited = await outcome({ status: 429, headers: { 'retry-after': '7' } });
    expect(limited).toBeInstanceOf(RetryAfterError);
    expect((limited as RetryAfterError).retryAfterMs).toBe(7000);
    // Without Retry-After a 429 is an ordinary retry.
    const bare = await outcome({ status: 429 });
    expect(bare).not.toBeInstanceOf(RetryAfterError);
    expect(backoff(1, bare)).not.toBeNull();
    for (const status of [400, 401, 403, 404, 410, 413, 422]) {
      const err = await outcome({ status });
      expect(err).toBeInstanceOf(NonRetriableError);
      expect(backoff(1, err)).toBeNull();
    }
    const gone = await outcome({ status: 410 });
    expect((gone as Error).message).toContain('410 Gone means the receiver no longer wants these events');
    const moved = await outcome({ status: 301, headers: { location: 'https://elsewhere.example/hook' } });
    expect(moved).toBeInstanceOf(NonRetriableError);
    expect((moved as Error).message).toContain('put the final URL (https://elsewhere.example/hook) in the playbook');
    expect(receiver.requests.filter((r) => r.path === '/answer').every((r) => r.verified)).toBe(true);
  });

  it('retries when nobody answers', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const consumer = new WebhookSubscriptionConsumer({ ...subscription(''), url: `http://127.0.0.1:${port}/hook` }, SECRET, deps);
    const err = await consumer.handle(event, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(backoff(1, err)).not.toBeNull();
    expect((err as Error).message).toMatch(new RegExp(`^webhook "test" \\(http://127.0.0.1:${port}\\) could not be reached: .*ECONNREFUSED`));
  });

  it('retries a receiver that does not answer in time', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
    const consumer = new WebhookSubscriptionConsumer({ ...subscription(''), url }, SECRET, { ...deps, timeoutMs: 200 });
    const err = await consumer.handle(event, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(backoff(1, err)).not.toBeNull();
    expect((err as Error).message).toMatch(/could not be reached: no answer in time$/);
  });

  it('reads Retry-After as seconds or an HTTP date, capped at an hour', () => {
    const now = new Date('2026-12-01T10:00:00.000Z');
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 10:00:45 GMT', now)).toBe(45_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(60 * 60_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe('the signing secrets at start-up', () => {
  const subs = (names: string[]): WebhookSubscription[] =>
    names.map((n, i) => ({ id: `s${i}`, url: `https://hooks.example.com/${i}`, events: ['handoff.routed'], secretEnv: n }));

  it('makes one consumer per subscription', () => {
    const consumers = webhookConsumers({ webhooks: subs(['A_SECRET', 'B_SECRET']) }, { A_SECRET: SECRET, B_SECRET: SECRET.slice('whsec_'.length) }, deps);
    expect(consumers.map((c) => c.name)).toEqual(['webhook:s0', 'webhook:s1']);
    expect(webhookConsumers({}, {}, deps)).toEqual([]);
  });

  it('refuses to start with a missing, malformed or short secret, listing them all without showing any', () => {
    const env = { BAD_SECRET: 'whsec_not base64!', SHORT_SECRET: `whsec_${randomBytes(8).toString('base64')}` };
    let err: unknown;
    try {
      webhookConsumers({ webhooks: subs(['MISSING_SECRET', 'BAD_SECRET', 'SHORT_SECRET']) }, env, deps);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const hint = 'generate one with: echo "whsec_$(openssl rand -base64 32)"';
    expect((err as ConfigError).details).toEqual([
      { path: 'MISSING_SECRET (webhook "s0")', message: `is not set; it holds the signing secret of https://hooks.example.com/0 (${hint})` },
      { path: 'BAD_SECRET (webhook "s1")', message: `is not a Standard Webhooks secret: expected "whsec_" followed by base64 (${hint})` },
      { path: 'SHORT_SECRET (webhook "s2")', message: `is too short: 8 bytes, at least 24 are needed (${hint})` },
    ]);
    expect((err as ConfigError).userMessage).not.toContain(env.SHORT_SECRET);
  });
});
