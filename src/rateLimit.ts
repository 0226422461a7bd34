/**
 * Per-key pacing of calls to a platform (a Slack channel, a Teams conversation): token buckets that
 * let a short burst through at once and then hold the documented sustained rate, plus the one
 * back-off mechanism for a 429's Retry-After (a blocked key refuses with RetryAfterError, so the
 * outbox retries the delivery when the platform said, instead of a worker sleeping on it).
 *
 * A key may have several buckets; a call goes when every bucket has a token. A bucket of capacity
 * `c` refilled at `r` per second lets at most `c + r·T` calls through in any window of T seconds,
 * which is how a limit stated over several windows (Teams: 7 per second, 8 per 2 s, 60 per 30 s,
 * 1,800 per hour) is honoured exactly, never exceeded.
 *
 * A call's token is taken when it is reserved: concurrent callers queue in order, each told how
 * long to wait. Platform-free; the platforms' figures live with their adapters.
 */
import { RetryAfterError } from './retry.js';

export interface BucketSpec {
  /** Calls that may go at once after a quiet spell. */
  capacity: number;
  /** Sustained calls per second. */
  perSecond: number;
}

interface BucketState {
  tokens: number;
  /** When `tokens` was computed (ms); may lie ahead of now while calls are queued. */
  at: number;
}

/**
 * What an adapter paces a platform's calls with: `slot` waits for a key's next call (or refuses
 * with RetryAfterError while the key is blocked), `block` holds a key back after a 429.
 */
export interface RateLimiter {
  slot(key: string): Promise<void>;
  block(key: string, ms: number): void | Promise<void>;
}

/** The buckets in this process's memory: right for one process (PGlite). */
export class KeyedRateLimiter implements RateLimiter {
  private readonly keys = new Map<string, BucketState[]>();
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly specs: readonly BucketSpec[],
    private readonly now: () => number = Date.now,
    /** Keys whose buckets are full again are forgotten past this many, so memory stays flat. */
    private readonly maxKeys = 10_000,
  ) {
    if (!specs.length) throw new Error('KeyedRateLimiter needs at least one bucket');
    for (const s of specs) if (!(s.capacity >= 1 && s.perSecond > 0)) throw new Error(`invalid bucket ${JSON.stringify(s)}: capacity ≥ 1 and perSecond > 0`);
  }

  /** Reserves the key's next call and returns how many ms to wait before making it. */
  reserve(key: string): number {
    const now = this.now();
    if (this.keys.size > this.maxKeys) this.forgetIdle(now);
    let state = this.keys.get(key);
    if (!state) {
      state = this.specs.map((s) => ({ tokens: s.capacity, at: now }));
      this.keys.set(key, state);
    }
    // The earliest moment every bucket holds a whole token.
    let sendAt = now;
    state.forEach((b, i) => {
      const spec = this.specs[i]!;
      const from = Math.max(now, b.at);
      const tokens = Math.min(spec.capacity, b.tokens + (spec.perSecond * (from - b.at)) / 1000);
      const ready = tokens >= 1 ? from : from + ((1 - tokens) * 1000) / spec.perSecond;
      sendAt = Math.max(sendAt, ready);
    });
    // Take the token at the moment the call goes, so a bucket's cap is applied at that moment.
    state.forEach((b, i) => {
      const spec = this.specs[i]!;
      b.tokens = Math.min(spec.capacity, b.tokens + (spec.perSecond * (sendAt - b.at)) / 1000) - 1;
      b.at = sendAt;
    });
    return Math.ceil(sendAt - now);
  }

  /** Waits for the key's next slot; throws RetryAfterError while the platform has asked us to back off. */
  async slot(key: string): Promise<void> {
    const blocked = this.blockedUntil.get(key) ?? 0;
    const now = this.now();
    if (blocked > now) throw new RetryAfterError(`the platform asked Baton to slow down in ${key}`, blocked - now);
    if (blocked) this.blockedUntil.delete(key);
    const wait = this.reserve(key);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** A 429 for this key: refuse its calls for `ms` (Retry-After), whoever makes them. */
  block(key: string, ms: number): void {
    this.blockedUntil.set(key, Math.max(this.blockedUntil.get(key) ?? 0, this.now() + ms));
  }

  private forgetIdle(now: number): void {
    for (const [key, state] of this.keys) {
      const full = state.every((b, i) => b.at <= now && b.tokens + (this.specs[i]!.perSecond * (now - b.at)) / 1000 >= this.specs[i]!.capacity);
      if (full) this.keys.delete(key);
    }
  }
}

/**
 * Slack's chat.postMessage: "generally one message per second per channel, with short bursts
 * allowed". Baton lets 4 go at once, then 1 per second.
 */
export function slackChannelLimits(intervalMs = 1000, burst = 4): BucketSpec[] {
  return [{ capacity: burst, perSecond: 1000 / intervalMs }];
}

/**
 * Teams (Bot Connector), per bot per conversation: 7 per second, 8 per 2 s, 60 per 30 s, 1,800 per
 * hour. Each bucket bounds one window (capacity + rate × window ≤ the limit): 4 + 3/s ≤ 7 in 1 s;
 * 6 + 1/s ≤ 8 in 2 s; 30 + 1/s ≤ 60 in 30 s; 60 + 0.483/s ≤ 1,800 in an hour.
 */
export const TEAMS_CONVERSATION_LIMITS: readonly BucketSpec[] = [
  { capacity: 4, perSecond: 3 },
  { capacity: 6, perSecond: 1 },
  { capacity: 30, perSecond: 1 },
  { capacity: 60, perSecond: (1800 - 60) / 3600 },
];
