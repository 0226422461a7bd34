/**
 * The HTTP transport under botbuilder's Bot Connector client. Two reasons to own it:
 *  - The Azure SDK pipeline would otherwise retry 429/5xx itself, sleeping inside a delivery for
 *    up to a minute and hiding failures from the outbox. Here every non-2xx answer and every
 *    network failure becomes a `ConnectorHttpError` at once (a non-system error, which the SDK's
 *    retry strategies pass through), and the outbox retries with backoff and Retry-After.
 *  - Teams limits messages per conversation (7 per second … 1,800 per hour), so posts and updates
 *    to one conversation are paced here, whoever sends them, and a 429 holds the conversation back.
 */
import type { ConnectorClientOptions } from 'botframework-connector';
import { KeyedRateLimiter, TEAMS_CONVERSATION_LIMITS, type BucketSpec, type RateLimiter } from '../../src/rateLimit.js';
import { RetryAfterError } from '../../src/retry.js';

type HttpClient = NonNullable<ConnectorClientOptions['httpClient']>;
type WebResource = Parameters<HttpClient['sendRequest']>[0];
type CompatResponse = Awaited<ReturnType<HttpClient['sendRequest']>>;

export class ConnectorHttpError extends Error {
  constructor(
    /** HTTP status; 0 when no answer arrived (network error, timeout). */
    readonly status: number,
    readonly method: string,
    readonly path: string,
    /** From Retry-After, when the connector sent one. */
    readonly retryAfterMs: number | undefined,
    readonly body: string,
    options?: { cause?: unknown },
  ) {
    super(`Bot Connector ${method} ${path} ${status ? `answered ${status}` : 'did not answer'}${body ? `: ${body.slice(0, 300)}` : ''}`, options);
    this.name = 'ConnectorHttpError';
  }
}

/**
 * Paces calls to one conversation within Teams' documented per-conversation limits
 * (src/rateLimit.ts TEAMS_CONVERSATION_LIMITS) and holds a conversation back after a 429 for its
 * Retry-After, whoever calls next.
 */
export class ConversationPacer extends KeyedRateLimiter {
  constructor(specs: readonly BucketSpec[] = TEAMS_CONVERSATION_LIMITS, now: () => number = Date.now) {
    super(specs, now);
  }
}

/**
 * `/v3/conversations/<id>/activities…` → the decoded conversation id, with a channel thread's
 * `;messageid=…` dropped: everything in one channel shares one budget (stricter than Teams,
 * which counts per thread, and simpler to reason about).
 */
export function conversationOf(path: string): string | undefined {
  const m = /\/v3\/conversations\/([^/]+)\/activities/.exec(path);
  return m ? decodeURIComponent(m[1]!).split(';')[0] : undefined;
}

export function connectorHttpClient(opts: { pacer: RateLimiter; timeoutMs?: number }): HttpClient {
  return {
    async sendRequest(resource: WebResource): Promise<CompatResponse> {
      const url = new URL(resource.url);
      const method = resource.method.toUpperCase();
      const conversation = method !== 'GET' ? conversationOf(url.pathname) : undefined;
      if (conversation) {
        try {
          await opts.pacer.slot(conversation);
        } catch (err) {
          // Held back by an earlier 429: the same answer as the connector's, so one path retries it.
          if (err instanceof RetryAfterError) throw new ConnectorHttpError(429, method, url.pathname, err.retryAfterMs, 'held back by Baton after an earlier 429 in this conversation');
          throw err;
        }
      }
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: resource.headers.rawHeaders(),
          body: typeof resource.body === 'string' || resource.body instanceof Uint8Array ? resource.body : resource.body == null ? undefined : JSON.stringify(resource.body),
          signal: AbortSignal.timeout(resource.timeout || opts.timeoutMs || 30_000),
        });
      } catch (err) {
        throw new ConnectorHttpError(0, method, url.pathname, undefined, err instanceof Error ? err.message : String(err), { cause: err });
      }
      const bodyAsText = await res.text();
      if (!res.ok) {
        const after = retryAfterMs(res.headers.get('retry-after'));
        if (res.status === 429 && conversation) await opts.pacer.block(conversation, after ?? 1000);
        throw new ConnectorHttpError(res.status, method, url.pathname, after, bodyAsText);
      }
      // Reuse the request's header collection type for the response (it is the SDK's own class).
      const headers = resource.headers.clone();
      for (const name of headers.headerNames()) headers.remove(name);
      res.headers.forEach((value, name) => headers.set(name, value));
      return { request: resource, status: res.status, headers, bodyAsText };
    },
  };
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
