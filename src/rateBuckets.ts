/**
 * The token buckets of src/rateLimit.ts kept in the database, so that several Baton processes on
 * one PostgreSQL database pace a Slack channel (or a Teams conversation) together — three
 * processes never post faster than one would — and a 429's Retry-After, recorded by the process
 * that got it, holds back all of them.
 *
 * One row per key (`rate_bucket`); each reservation is one statement that reads the row's buckets,
 * computes when the next call may go and takes its token then (the same arithmetic as
 * KeyedRateLimiter.reserve), under the row lock, so concurrent reservations from any process queue
 * one after another. Times come from each process's clock (ms): processes' clocks must agree
 * (NTP), and a skew of d ms can let d × rate extra tokens through.
 *
 * On the embedded PGlite database there is only one process: rateLimiterFor gives the in-memory
 * limiter there.
 */
import type { Database } from './store/database.js';
import { KeyedRateLimiter, type BucketSpec, type RateLimiter } from './rateLimit.js';
import { RetryAfterError } from './retry.js';

/** A reservation: wait this long, then call; or the key is blocked (a 429) for this long. */
export type Reservation = { waitMs: number } | { blockedMs: number };

export class DatabaseRateLimiter implements RateLimiter {
  private readonly capacities: number[];
  private readonly perSecond: number[];

  constructor(
    private readonly db: Database,
    /** Names the platform: keys are stored as "<scope>:<key>". */
    private readonly scope: string,
    specs: readonly BucketSpec[],
    private readonly now: () => number = Date.now,
  ) {
    if (!specs.length) throw new Error('DatabaseRateLimiter needs at least one bucket');
    for (const s of specs) if (!(s.capacity >= 1 && s.perSecond > 0)) throw new Error(`invalid bucket ${JSON.stringify(s)}: capacity ≥ 1 and perSecond > 0`);
    this.capacities = specs.map((s) => s.capacity);
    this.perSecond = specs.map((s) => s.perSecond);
  }

  /**
   * Reserves the key's next call. The first call finds no row and inserts full buckets less one
   * token. Later ones update the row unless it is blocked: the send time is the earliest moment
   * every bucket holds a whole token (rounded up to the ms), and each bucket gives its token then.
   * A bucket a row lacks (the specs grew) starts full.
   */
  async reserve(key: string): Promise<Reservation> {
    const id = `${this.scope}:${key}`;
    const nowMs = this.now();
    const now = new Date(nowMs);
    const caps = this.capacities;
    const rates = this.perSecond;
    const rows = await this.db.prisma.$queryRaw<{ at: Date }[]>`
      INSERT INTO rate_bucket AS b (key, tokens, at, blocked_until)
      VALUES (${id}, ${caps.map((c) => c - 1)}::float8[], ${now}, NULL)
      ON CONFLICT (key) DO UPDATE SET (tokens, at) = (
        WITH bucket AS (
          SELECT u.i, least(u.cap, coalesce(u.tok, u.cap)) AS tok, u.cap, u.rate, extract(epoch FROM b.at)::float8 * 1000 AS at_ms
          FROM unnest(b.tokens, ${caps}::float8[], ${rates}::float8[]) WITH ORDINALITY AS u(tok, cap, rate, i)
          WHERE u.cap IS NOT NULL
        ),
        ready AS (
          SELECT i, greatest(${nowMs}::float8, at_ms) AS from_ms,
                 least(cap, tok + rate * (greatest(${nowMs}::float8, at_ms) - at_ms) / 1000) AS tokens_then, rate
          FROM bucket
        ),
        send AS (
          SELECT ceil(greatest(${nowMs}::float8, max(CASE WHEN tokens_then >= 1 THEN from_ms ELSE from_ms + (1 - tokens_then) * 1000 / rate END))) AS ms
          FROM ready
        )
        SELECT array_agg(least(bucket.cap, bucket.tok + bucket.rate * (send.ms - bucket.at_ms) / 1000) - 1 ORDER BY bucket.i), to_timestamp(send.ms / 1000)
        FROM bucket, send
        GROUP BY send.ms
      )
      WHERE b.blocked_until IS NULL OR b.blocked_until <= ${now}
      RETURNING b.at`;
    if (rows[0]) return { waitMs: Math.max(0, rows[0].at.getTime() - nowMs) };
    const blocked = await this.db.prisma.rateBucket.findUnique({ where: { key: id }, select: { blockedUntil: true } });
    const blockedMs = (blocked?.blockedUntil?.getTime() ?? 0) - nowMs;
    // Unblocked between the two statements: reserve again.
    return blockedMs > 0 ? { blockedMs } : this.reserve(key);
  }

  /** Waits for the key's next slot; throws RetryAfterError while the platform has asked any process to back off. */
  async slot(key: string): Promise<void> {
    const r = await this.reserve(key);
    if ('blockedMs' in r) throw new RetryAfterError(`the platform asked Baton to slow down in ${key}`, r.blockedMs);
    if (r.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, r.waitMs));
  }

  /** A 429 for this key: every process's calls for it are refused for `ms` (Retry-After). */
  async block(key: string, ms: number): Promise<void> {
    const nowMs = this.now();
    const until = new Date(nowMs + ms);
    await this.db.prisma.$executeRaw`
      INSERT INTO rate_bucket AS b (key, tokens, at, blocked_until)
      VALUES (${`${this.scope}:${key}`}, ${this.capacities}::float8[], ${new Date(nowMs)}, ${until})
      ON CONFLICT (key) DO UPDATE SET blocked_until = greatest(b.blocked_until, EXCLUDED.blocked_until)`;
  }
}

/**
 * The limiter a platform adapter paces with: shared through the database on PostgreSQL (several
 * processes may share the work), in memory on PGlite (one process).
 */
export function rateLimiterFor(db: Database, scope: string, specs: readonly BucketSpec[], now: () => number = Date.now): RateLimiter {
  return db.kind === 'postgres' ? new DatabaseRateLimiter(db, scope, specs, now) : new KeyedRateLimiter(specs, now);
}
