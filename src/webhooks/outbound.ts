/**
 * Signed events out: each subscription of the playbook's `webhooks:` section is one outbox
 * consumer (`webhook:<id>`), so its deliveries are written in the same transaction as the change
 * (nothing lost), retried with back-off in their own lane (a slow receiver holds back nobody
 * else) and paused as a whole on 429 + Retry-After.
 *
 * The wire format is the Standard Webhooks specification (https://www.standardwebhooks.com):
 * a JSON body `{ type, timestamp, data }` whose `data` is the event's payload from the
 * DomainEvent union (src/events.ts), and the headers `webhook-id` (one per event, the same on
 * every retry, so receivers can drop a repeat), `webhook-timestamp` (the attempt, in Unix
 * seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`, signed by the `standardwebhooks`
 * reference library with the subscription's secret).
 *
 * Inbound CRM webhooks, which start handoffs, are routes.ts beside this file.
 */
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../clock.js';
import { ConfigError, type ErrorDetail } from '../errors.js';
import type { EventPayloads, EventType, HandoffEventType, OutboxConsumer, OutboxEvent } from '../events.js';
import type { Logger } from '../logger.js';
import type { Playbook, WebhookSubscription } from '../playbook/schema.js';
import { NonRetriableError, RetryAfterError } from '../retry.js';

/** Outbox consumer names of subscriptions start with this; the rest is the subscription's id. */
export const WEBHOOK_CONSUMER_PREFIX = 'webhook:';
/** A receiver that has not answered by then is retried: the spec asks receivers to answer fast and work later. */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** A longer Retry-After stalls this subscription's lane for no good reason; waiting this long is plenty. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;
/** The spec recommends secrets of 24 to 64 bytes. */
const MIN_SECRET_BYTES = 24;
const SECRET_HINT = 'generate one with: echo "whsec_$(openssl rand -base64 32)"';

/** What a receiver gets as the request body. */
export interface WebhookMessage<T extends HandoffEventType = HandoffEventType> {
  type: T;
  /** When the change happened (the event was committed), ISO 8601. */
  timestamp: string;
  data: EventPayloads[T];
}

/** The same on every attempt at this event (and for every subscription), so a receiver can drop repeats. */
export function webhookId(event: Pick<OutboxEvent, 'id'>): string {
  return `evt_${event.id}`;
}

export function webhookMessage(event: OutboxEvent): WebhookMessage {
  return { type: event.type as HandoffEventType, timestamp: event.createdAt.toISOString(), data: event.payload as unknown as EventPayloads[HandoffEventType] };
}

export interface WebhookConsumerDeps {
  clock: Clock;
  log: Logger;
  timeoutMs?: number;
}

export class WebhookSubscriptionConsumer implements OutboxConsumer {
  readonly name: string;
  readonly subscribes: readonly EventType[];
  private readonly signer: Webhook;
  private readonly log: Logger;

  constructor(
    readonly subscription: WebhookSubscription,
    secret: string,
    private readonly deps: WebhookConsumerDeps,
  ) {
    this.name = WEBHOOK_CONSUMER_PREFIX + subscription.id;
    // The loader let through only types of the union (src/playbook/webhooks.ts).
    this.subscribes = subscription.events as HandoffEventType[];
    this.signer = new Webhook(secret);
    this.log = deps.log.child({ component: 'webhooks', subscription: subscription.id });
  }

  async handle(event: OutboxEvent, attempt: number): Promise<void> {
    const id = webhookId(event);
    const body = JSON.stringify(webhookMessage(event));
    const sentAt = this.deps.clock.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Baton-Webhooks',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': this.signer.sign(id, sentAt, body),
    };
    let res: Response;
    try {
      res = await fetch(this.subscription.url, {
        method: 'POST',
        headers,
        body,
        // A redirect would re-send a signed body to a URL nobody configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.deps.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Error(`${this.where()} could not be reached: ${reason(err)}`, { cause: err });
    }
    const answer = await answerText(res);
    if (res.status >= 200 && res.status < 300) {
      this.log.debug({ eventId: event.id, webhookId: id, type: event.type, attempt, status: res.status }, 'webhook delivered');
      return;
    }
    throw this.failure(res, answer, { eventId: event.id, webhookId: id, type: event.type, attempt });
  }

  /** The typed outcome of a refusal, for the outbox: retry later, wait as told, or stop. */
  private failure(res: Response, answer: string, facts: Record<string, unknown>): Error {
    const said = `${this.where()} answered ${res.status}${answer ? `: ${answer}` : ''}`;
    if (res.status === 429) {
      const waitMs = retryAfterMs(res.headers.get('retry-after'), this.deps.clock.now());
      return waitMs === undefined ? new Error(said) : new RetryAfterError(said, waitMs);
    }
    if (res.status === 410) {
      const message = `${said}. 410 Gone means the receiver no longer wants these events: this event will not be retried; remove webhook "${this.subscription.id}" from the playbook or fix its URL`;
      this.log.error({ ...facts, status: 410, url: this.subscription.url }, message);
      return new NonRetriableError(message);
    }
    if (res.status >= 300 && res.status < 400) {
      return new NonRetriableError(`${said}; Baton does not follow redirects with signed events: put the final URL (${res.headers.get('location') ?? 'see the Location header'}) in the playbook`);
    }
    // 408 (request timeout) is the receiver's own "try again"; any other 4xx would be refused again.
    if (res.status >= 400 && res.status < 500 && res.status !== 408) {
      return new NonRetriableError(`${said}; a ${res.status} is not retried: fix the receiver or the subscription (later events are still sent)`);
    }
    return new Error(said);
  }

  private where(): string {
    return `webhook "${this.subscription.id}" (${new URL(this.subscription.url).origin})`;
  }
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now.getTime();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

/** The start of the receiver's answer, for the log and the delivery's last error: at most 4 KB is read, the rest dropped. */
async function answerText(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < 4096) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // An answer cut off midway still has its status.
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Why fetch failed, in its own words: undici wraps the network error ("connect ECONNREFUSED …") as the cause of "fetch failed". */
function reason(err: unknown): string {
  // Duck-typed: fetch's errors may come from another realm (a test VM), where instanceof Error is false.
  const e = err as { name?: unknown; message?: unknown; cause?: { message?: unknown } } | undefined;
  if (e?.name === 'TimeoutError') return 'no answer in time';
  if (typeof e?.cause?.message === 'string' && e.cause.message) return e.cause.message;
  return typeof e?.message === 'string' ? e.message : String(err);
}

/**
 * One consumer per subscription of the playbook, their secrets read from the environment now,
 * so a missing or malformed secret stops the start (all of them listed) instead of failing
 * every delivery later.
 */
export function webhookConsumers(playbook: Pick<Playbook, 'webhooks'>, env: NodeJS.ProcessEnv, deps: WebhookConsumerDeps): WebhookSubscriptionConsumer[] {
  const problems: ErrorDetail[] = [];
  const consumers: WebhookSubscriptionConsumer[] = [];
  for (const subscription of playbook.webhooks ?? []) {
    const secret = env[subscription.secretEnv]?.trim();
    const at = `${subscription.secretEnv} (webhook "${subscription.id}")`;
    if (!secret) {
      problems.push({ path: at, message: `is not set; it holds the signing secret of ${subscription.url} (${SECRET_HINT})` });
      continue;
    }
    const bytes = secretBytes(secret);
    if (bytes === undefined) {
      problems.push({ path: at, message: `is not a Standard Webhooks secret: expected "whsec_" followed by base64 (${SECRET_HINT})` });
      continue;
    }
    if (bytes < MIN_SECRET_BYTES) {
      problems.push({ path: at, message: `is too short: ${bytes} bytes, at least ${MIN_SECRET_BYTES} are needed (${SECRET_HINT})` });
      continue;
    }
    consumers.push(new WebhookSubscriptionConsumer(subscription, secret, deps));
  }
  if (problems.length) throw new ConfigError(problems);
  return consumers;
}

/** Decoded length of a `whsec_…` secret, or undefined when it is not base64. */
function secretBytes(secret: string): number | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  return Buffer.from(b64, 'base64').length;
}
