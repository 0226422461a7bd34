/**
 * The HTTP transport under botbuilder's Bot Connector client. Two reasons to own it:
 *  - The Azure SDK pipeline would otherwise retry 429/5xx itself, sleeping inside a delivery for
 *    up to a minute and hiding failures from the outbox. Here every non-2xx answer and every
 *    network failure becomes a `ConnectorHttpError` at once (a non-system error, which the SDK's
 *    retry strategies pass through), and the outbox retries with backoff and Retry-After.
 *  - Teams allows about 7 messages per second per conversation, so posts and updates to one
 *    conversation are paced here, whoever sends them.
 */
import type { ConnectorClientOptions } from 'botframework-connector';

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

/** Spaces calls to the same conversation so one conversation never exceeds `perSecond`. */
export class ConversationPacer {
  private readonly next = new Map<string, number>();
  private readonly intervalMs: number;
  constructor(perSecond: number) {
    this.intervalMs = Math.ceil(1000 / perSecond);
  }

  async wait(conversationId: string): Promise<void> {
    const now = Date.now();
    if (this.next.size > 1000) for (const [k, t] of this.next) if (t < now) this.next.delete(k);
    const at = Math.max(now, this.next.get(conversationId) ?? 0);
    this.next.set(conversationId, at + this.intervalMs);
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
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

export function connectorHttpClient(opts: { pacer: ConversationPacer; timeoutMs?: number }): HttpClient {
  return {
    async sendRequest(resource: WebResource): Promise<CompatResponse> {
      const url = new URL(resource.url);
      const method = resource.method.toUpperCase();
      const conversation = method !== 'GET' ? conversationOf(url.pathname) : undefined;
      if (conversation) await opts.pacer.wait(conversation);
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
      if (!res.ok) throw new ConnectorHttpError(res.status, method, url.pathname, retryAfterMs(res.headers.get('retry-after')), bodyAsText);
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
