/**
 * Transactional outbox. A state change writes its event (src/events.ts writeEvent) (and one delivery row per consumer) in
 * the same transaction as the change itself, so a crash or a platform outage can delay a
 * delivery but never lose it. The dispatcher claims due deliveries (SKIP LOCKED, so several
 * instances can share the work), runs the consumer and records the outcome with backoff.
 */
import type { Prisma, PrismaClient } from './generated/prisma/client.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { OutboxConsumer, OutboxEvent } from './events.js';
import { backoff, type BackoffPolicy, defaultBackoff, RetryAfterError } from './retry.js';

export type { Tx, OutboxEvent, OutboxConsumer } from './events.js';

/** Longest a handled delivery waits to be recorded while its batch goes on (see recordDelivered). */
const RECORD_WITHIN_MS = 1000;

interface ClaimedRow {
  event_id: bigint;
  consumer: string;
  attempts: number;
  handoff_id: number | null;
  type: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

export interface OutboxStats {
  pending: number;
  failed: number;
  oldestPendingAt: Date | null;
}

/**
 * One consumer's own delivery loop. Each consumer drains independently, so a slow one (Slack
 * paced at one post per second per channel, or waiting out a timeout while Slack hangs) never
 * holds back another (the SLA engine arming timers, Teams) — not even by one batch.
 */
interface Lane {
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  wakeRequested: boolean;
  /**
   * Rows this lane claimed whose outcome it could not record (the database went away mid-batch).
   * Their claim is released as soon as the database answers again, instead of waiting out the
   * lock (a minute) before they are delivered.
   */
  unrecorded: { ids: Set<bigint>; lockedUntil: Date } | undefined;
  /**
   * The platform said "slow down" (HTTP 429, Retry-After): the whole lane waits until then instead
   * of sending each waiting delivery to be refused in turn.
   */
  pausedUntil: number;
}

export class OutboxDispatcher {
  private consumers = new Map<string, OutboxConsumer>();
  private lanes = new Map<string, Lane>();
  private stopped = true;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: { pollMs: number; batchSize?: number; lockMs?: number; backoff?: BackoffPolicy } = { pollMs: 1000 },
  ) {}

  register(consumer: OutboxConsumer): void {
    this.consumers.set(consumer.name, consumer);
    if (!this.stopped) this.schedule(consumer.name, 0);
  }

  list(): OutboxConsumer[] {
    return [...this.consumers.values()];
  }

  start(): void {
    this.stopped = false;
    for (const name of this.consumers.keys()) this.schedule(name, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    await Promise.all([...this.lanes.values()].map((l) => l.running));
  }

  /**
   * Called after a commit that wrote outbox rows, so delivery starts at once instead of at the next
   * poll. With the names of the consumers that got rows, only their lanes are woken (the others
   * would claim nothing).
   */
  wake(consumers?: Iterable<string>): void {
    if (this.stopped) return;
    const names = consumers ? [...consumers].filter((n) => this.consumers.has(n)) : [...this.consumers.keys()];
    for (const name of names) {
      const lane = this.lane(name);
      if (lane.running) lane.wakeRequested = true;
      else this.schedule(name, 0);
    }
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { timer: undefined, running: undefined, wakeRequested: false, unrecorded: undefined, pausedUntil: 0 };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  private schedule(name: string, ms: number): void {
    const lane = this.lane(name);
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      if (lane.running) {
        lane.wakeRequested = true;
        return;
      }
      lane.running = this.drainConsumer(name, true)
        .then(() => undefined)
        .catch((err: unknown) => this.log.error({ err, consumer: name }, 'outbox dispatch failed; will retry'))
        .finally(() => {
          lane.running = undefined;
          if (this.stopped) return;
          const again = lane.wakeRequested;
          lane.wakeRequested = false;
          this.schedule(name, again ? 0 : this.opts.pollMs);
        });
    }, ms);
    lane.timer.unref?.();
  }

  /** Deliver everything due now, for every consumer; returns how many deliveries were attempted. */
  async drain(): Promise<number> {
    const counts = await Promise.all([...this.consumers.keys()].map((name) => this.drainConsumer(name)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** One claim per consumer, in parallel; returns how many deliveries were attempted. */
  async drainOnce(): Promise<number> {
    const counts = await Promise.all([...this.consumers.keys()].map((name) => this.claimAndRun(name)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Claims until nothing is due. In the background lane a short batch ends the loop as well: what
   * was due at the claim was all taken, and anything committed since has woken the lane again
   * (wake() while running), so one more claim would find nothing.
   */
  private async drainConsumer(name: string, lane = false): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.claimAndRun(name);
      total += n;
      if (n === 0 || this.stopped) return total;
      if (lane && n < (this.opts.batchSize ?? 50)) return total;
    }
  }

  private async claimAndRun(name: string): Promise<number> {
    if (!this.consumers.has(name)) return 0;
    const lane = this.lane(name);
    if (lane.unrecorded?.ids.size) {
      // Only our own claim (same lock time), on rows still open: another instance's is left alone.
      const ids = [...lane.unrecorded.ids].map(String);
      await this.prisma.$executeRaw`
        UPDATE outbox_delivery SET locked_until = NULL
        WHERE consumer = ${name} AND event_id = ANY(${ids}::bigint[]) AND locked_until = ${lane.unrecorded.lockedUntil}
          AND delivered_at IS NULL AND failed_at IS NULL`;
      this.log.info({ consumer: name, released: ids.length }, 'outbox: released deliveries whose outcome could not be recorded');
    }
    lane.unrecorded = undefined;
    const now = this.clock.now();
    if (now.getTime() < lane.pausedUntil) return 0;
    const lockUntil = new Date(now.getTime() + (this.opts.lockMs ?? 60_000));
    const rows = await this.prisma.$queryRaw<ClaimedRow[]>`
      WITH due AS (
        SELECT d.event_id, d.consumer FROM outbox_delivery d
        WHERE d.consumer = ${name} AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.available_at <= ${now}
          AND (d.locked_until IS NULL OR d.locked_until <= ${now})
        ORDER BY d.event_id
        LIMIT ${this.opts.batchSize ?? 50}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE outbox_delivery d SET locked_until = ${lockUntil}, attempts = d.attempts + 1
      FROM due, outbox_event e
      WHERE d.event_id = due.event_id AND d.consumer = due.consumer AND e.id = d.event_id
      RETURNING d.event_id, d.consumer, d.attempts, e.handoff_id, e.type, e.payload, e.created_at`;
    // The consumer sees its events in commit order.
    const unrecorded = { ids: new Set(rows.map((r) => r.event_id)), lockedUntil: lockUntil };
    lane.unrecorded = unrecorded;
    const pausedUntil = await this.runConsumer(name, rows.sort((a, b) => (a.event_id < b.event_id ? -1 : 1)), (id) => unrecorded.ids.delete(id));
    lane.unrecorded = undefined;
    if (pausedUntil) {
      lane.pausedUntil = pausedUntil.getTime();
      return 0; // ends this drain; the poll resumes the lane once the pause is over
    }
    return rows.length;
  }

  /**
   * Successes are recorded together: one UPDATE per batch instead of one per delivery (under load
   * that was a tenth of all statements). Each keeps the time it was handled. A crash before the
   * write re-runs those deliveries once their lock expires, which consumers must tolerate anyway
   * (see OutboxConsumer.handle); to keep that window short, anything handled more than
   * RECORD_WITHIN_MS ago is written before the next delivery starts.
   */
  private async recordDelivered(name: string, done: { id: bigint; at: Date }[], recorded: (eventId: bigint) => void): Promise<void> {
    if (!done.length) return;
    const batch = done.splice(0);
    await this.prisma.$executeRaw`
      UPDATE outbox_delivery d SET delivered_at = x.at, locked_until = NULL, last_error = NULL
      FROM unnest(${batch.map((b) => String(b.id))}::bigint[], ${batch.map((b) => b.at.toISOString())}::timestamptz[]) AS x(event_id, at)
      WHERE d.consumer = ${name} AND d.event_id = x.event_id`;
    for (const b of batch) recorded(b.id);
  }

  /** Delivers claimed rows in order; returns when the lane must pause (a rate limit), if it must. */
  private async runConsumer(name: string, rows: ClaimedRow[], recorded: (eventId: bigint) => void): Promise<Date | undefined> {
    const consumer = this.consumers.get(name);
    if (!consumer) return undefined;
    const done: { id: bigint; at: Date }[] = [];
    for (const [i, r] of rows.entries()) {
      if (done.length && this.clock.now().getTime() - done[0]!.at.getTime() >= RECORD_WITHIN_MS) await this.recordDelivered(name, done, recorded);
      const event: OutboxEvent = { id: String(r.event_id), handoffId: r.handoff_id, type: r.type, payload: r.payload, createdAt: new Date(r.created_at) };
      try {
        await consumer.handle(event, r.attempts);
        done.push({ id: r.event_id, at: this.clock.now() });
      } catch (err) {
        await this.recordDelivered(name, done, recorded);
        const message = err instanceof Error ? err.message : String(err);
        const now = this.clock.now();
        if (err instanceof RetryAfterError) {
          // A rate limit is about the lane, not this message: it and the rest of the batch wait out
          // Retry-After, and none of them counts it as a failed attempt (a long rate limit must not
          // stretch their backoff to minutes, nor use up their attempts).
          const until = new Date(now.getTime() + Math.max(0, err.retryAfterMs));
          const ids = rows.slice(i).map((x) => String(x.event_id));
          await this.prisma.$executeRaw`
            UPDATE outbox_delivery
            SET locked_until = NULL, attempts = GREATEST(attempts - 1, 0), available_at = GREATEST(available_at, ${until}),
                last_error = CASE WHEN event_id = ${r.event_id} THEN ${message.slice(0, 2000)} ELSE last_error END
            WHERE consumer = ${name} AND event_id = ANY(${ids}::bigint[])`;
          for (const x of rows.slice(i)) recorded(x.event_id);
          this.log.warn({ consumer: name, eventId: event.id, type: event.type, waiting: ids.length, retryInMs: err.retryAfterMs, err: message }, 'outbox: rate limited; the lane waits');
          return until;
        }
        const delay = backoff(r.attempts, err, this.opts.backoff ?? defaultBackoff);
        await this.prisma.outboxDelivery.update({
          where: { eventId_consumer: { eventId: r.event_id, consumer: name } },
          data:
            delay === null
              ? { failedAt: now, lockedUntil: null, lastError: message.slice(0, 2000) }
              : { availableAt: new Date(now.getTime() + delay), lockedUntil: null, lastError: message.slice(0, 2000) },
        });
        recorded(r.event_id);
        const logFn = delay === null ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
        logFn({ consumer: name, eventId: event.id, type: event.type, attempt: r.attempts, retryInMs: delay, err: message }, delay === null ? 'outbox delivery failed for good' : 'outbox delivery failed; retrying');
      }
    }
    await this.recordDelivered(name, done, recorded);
    return undefined;
  }

  async stats(): Promise<OutboxStats> {
    const [row] = await this.prisma.$queryRaw<{ pending: bigint; failed: bigint; oldest: Date | null }[]>`
      SELECT count(*) FILTER (WHERE d.delivered_at IS NULL AND d.failed_at IS NULL) AS pending,
             count(*) FILTER (WHERE d.failed_at IS NOT NULL) AS failed,
             min(e.created_at) FILTER (WHERE d.delivered_at IS NULL AND d.failed_at IS NULL) AS oldest
      FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id`;
    return { pending: Number(row?.pending ?? 0), failed: Number(row?.failed ?? 0), oldestPendingAt: row?.oldest ?? null };
  }
}
