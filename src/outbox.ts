/**
 * Transactional outbox. A state change writes its event (and one delivery row per consumer) in
 * the same transaction as the change itself, so a crash or a platform outage can delay a
 * delivery but never lose it. The dispatcher claims due deliveries (SKIP LOCKED, so several
 * instances can share the work), runs the consumer and records the outcome with backoff.
 */
import type { Prisma, PrismaClient } from './generated/prisma/client.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import { backoff, type BackoffPolicy, defaultBackoff } from './retry.js';

export type Tx = Prisma.TransactionClient;

export interface DomainEvent {
  id: string;
  handoffId: number | null;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export interface OutboxConsumer {
  /** Stable name, stored with each delivery row (e.g. "slack", "teams", "sla"). */
  readonly name: string;
  /** Which event types it wants; others get no delivery row. */
  accepts(type: string): boolean;
  /** Must be idempotent: a delivery can run again after a crash between handling and recording. */
  handle(event: DomainEvent, attempt: number): Promise<void>;
}

export async function appendOutbox(
  tx: Tx,
  consumers: readonly OutboxConsumer[],
  event: { handoffId: number | null; type: string; payload: Record<string, unknown> },
  now: Date,
): Promise<void> {
  const row = await tx.outboxEvent.create({
    data: { handoffId: event.handoffId, type: event.type, payload: event.payload as Prisma.InputJsonValue, createdAt: now },
    select: { id: true },
  });
  const wanted = consumers.filter((c) => c.accepts(event.type));
  if (wanted.length) {
    await tx.outboxDelivery.createMany({ data: wanted.map((c) => ({ eventId: row.id, consumer: c.name, availableAt: now })) });
  }
}

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

export class OutboxDispatcher {
  private consumers = new Map<string, OutboxConsumer>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wakeRequested = false;
  private stopped = true;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: { pollMs: number; batchSize?: number; lockMs?: number; backoff?: BackoffPolicy } = { pollMs: 1000 },
  ) {}

  register(consumer: OutboxConsumer): void {
    this.consumers.set(consumer.name, consumer);
  }

  list(): OutboxConsumer[] {
    return [...this.consumers.values()];
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Called after a commit that wrote outbox rows, so delivery starts at once instead of at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.drain()
        .then(() => undefined)
        .catch((err: unknown) => this.log.error({ err }, 'outbox dispatch failed; will retry'))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const again = this.wakeRequested;
          this.wakeRequested = false;
          this.schedule(again ? 0 : this.opts.pollMs);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** Deliver everything due now; returns how many deliveries were attempted. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.drainOnce();
      total += n;
      if (n === 0 || this.stopped) return total;
    }
  }

  async drainOnce(): Promise<number> {
    const names = [...this.consumers.keys()];
    if (!names.length) return 0;
    const now = this.clock.now();
    const lockUntil = new Date(now.getTime() + (this.opts.lockMs ?? 60_000));
    const rows = await this.prisma.$queryRaw<ClaimedRow[]>`
      WITH due AS (
        SELECT d.event_id, d.consumer FROM outbox_delivery d
        WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.available_at <= ${now}
          AND (d.locked_until IS NULL OR d.locked_until <= ${now}) AND d.consumer = ANY(${names})
        ORDER BY d.event_id
        LIMIT ${this.opts.batchSize ?? 50}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE outbox_delivery d SET locked_until = ${lockUntil}, attempts = d.attempts + 1
      FROM due, outbox_event e
      WHERE d.event_id = due.event_id AND d.consumer = due.consumer AND e.id = d.event_id
      RETURNING d.event_id, d.consumer, d.attempts, e.handoff_id, e.type, e.payload, e.created_at`;
    // Keep each consumer's events in commit order, but let different consumers proceed in parallel.
    const byConsumer = new Map<string, ClaimedRow[]>();
    for (const r of rows.sort((a, b) => (a.event_id < b.event_id ? -1 : 1))) {
      const list = byConsumer.get(r.consumer) ?? [];
      list.push(r);
      byConsumer.set(r.consumer, list);
    }
    await Promise.all([...byConsumer.entries()].map(([name, list]) => this.runConsumer(name, list)));
    return rows.length;
  }

  private async runConsumer(name: string, rows: ClaimedRow[]): Promise<void> {
    const consumer = this.consumers.get(name);
    if (!consumer) return;
    for (const r of rows) {
      const event: DomainEvent = { id: String(r.event_id), handoffId: r.handoff_id, type: r.type, payload: r.payload, createdAt: new Date(r.created_at) };
      try {
        await consumer.handle(event, r.attempts);
        await this.prisma.outboxDelivery.update({
          where: { eventId_consumer: { eventId: r.event_id, consumer: name } },
          data: { deliveredAt: this.clock.now(), lockedUntil: null, lastError: null },
        });
      } catch (err) {
        const delay = backoff(r.attempts, err, this.opts.backoff ?? defaultBackoff);
        const message = err instanceof Error ? err.message : String(err);
        const now = this.clock.now();
        await this.prisma.outboxDelivery.update({
          where: { eventId_consumer: { eventId: r.event_id, consumer: name } },
          data:
            delay === null
              ? { failedAt: now, lockedUntil: null, lastError: message.slice(0, 2000) }
              : { availableAt: new Date(now.getTime() + delay), lockedUntil: null, lastError: message.slice(0, 2000) },
        });
        const logFn = delay === null ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
        logFn({ consumer: name, eventId: event.id, type: event.type, attempt: r.attempts, retryInMs: delay, err: message }, delay === null ? 'outbox delivery failed for good' : 'outbox delivery failed; retrying');
      }
    }
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
