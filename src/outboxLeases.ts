/**
 * The outbox's claims on deliveries, kept in the database so that several processes share the
 * work and exactly one holds each delivery. A claim sets `locked_until` (the lease) in the same
 * statement that picks the rows (`FOR UPDATE SKIP LOCKED`); the holder renews it every third of
 * the lease while it has the delivery, and every write that ends the claim (release, postpone)
 * matches the lease it set, so it never touches a claim another process has taken over since.
 * A process that dies stops renewing: its rows are claimable again when the lease runs out.
 */
import type { PrismaClient } from './generated/prisma/client.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export interface ClaimedRow {
  event_id: bigint;
  consumer: string;
  attempts: number;
  handoff_id: number | null;
  type: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** A claimed row this process holds (its lease is kept beside it in LeaseKeeper). */
export type HeldDelivery = ClaimedRow;

const keyOf = (r: ClaimedRow) => `${r.consumer}\u0000${r.event_id}`;

export class LeaseKeeper {
  /** What this process holds, and the lease each claim currently has in the database. */
  private held = new Map<string, { row: ClaimedRow; until: Date }>();
  /** Rows whose lease another process took over (renewal found them gone). */
  private lostKeys = new Set<string>();
  /** Rows whose outcome could not be written (the database went away): given back when it answers. */
  private pendingRelease = new Map<string, ClaimedRow[]>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  halted = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly leaseMs: number,
  ) {}

  start(): void {
    if (this.timer || this.halted) return;
    this.timer = setInterval(() => {
      this.renewing ??= this.renew()
        .catch((err: unknown) => this.log.warn({ err }, 'outbox: could not renew delivery leases; retrying'))
        .finally(() => (this.renewing = undefined));
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }

  /** Stops renewing and writing anything: what a dead process does (tests). */
  halt(): void {
    this.halted = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Claims up to `limit` due deliveries of one consumer, leaving out `exclude` (event ids). */
  async claim(consumer: string, limit: number, exclude: bigint[]): Promise<ClaimedRow[]> {
    if (this.halted) return [];
    if (!this.timer) this.start();
    const now = this.clock.now();
    const until = new Date(now.getTime() + this.leaseMs);
    const rows = await this.prisma.$queryRaw<ClaimedRow[]>`
      WITH due AS (
        SELECT d.event_id, d.consumer FROM outbox_delivery d
        WHERE d.consumer = ${consumer} AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.available_at <= ${now}
          AND (d.locked_until IS NULL OR d.locked_until <= ${now})
          AND NOT (d.event_id = ANY(${exclude.map(String)}::bigint[]))
        ORDER BY d.event_id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE outbox_delivery d SET locked_until = ${until}, attempts = d.attempts + 1
      FROM due, outbox_event e
      WHERE d.event_id = due.event_id AND d.consumer = due.consumer AND e.id = d.event_id
      RETURNING d.event_id, d.consumer, d.attempts, e.handoff_id, e.type, e.payload, e.created_at`;
    for (const row of rows) this.held.set(keyOf(row), { row, until });
    return rows;
  }

  /** Whether another process took this delivery over (this one must not handle it). */
  lost(row: ClaimedRow): boolean {
    return this.lostKeys.has(keyOf(row));
  }

  /** The claim ended (recorded delivered, failed or retried later): nothing to renew. */
  forget(rows: ClaimedRow[]): void {
    for (const r of rows) {
      this.held.delete(keyOf(r));
      this.lostKeys.delete(keyOf(r));
    }
  }

  /** Extends every lease this process holds; a row whose lease is no longer ours is marked lost. */
  async renew(): Promise<void> {
    const byConsumer = this.grouped([...this.held.values()]);
    for (const [consumer, entries] of byConsumer) {
      const until = new Date(this.clock.now().getTime() + this.leaseMs);
      const renewed = await this.prisma.$queryRaw<{ event_id: bigint }[]>`
        UPDATE outbox_delivery d SET locked_until = ${until}
        FROM unnest(${entries.map((e) => String(e.row.event_id))}::bigint[], ${entries.map((e) => e.until.toISOString())}::timestamptz[]) AS x(event_id, until)
        WHERE d.consumer = ${consumer} AND d.event_id = x.event_id AND d.locked_until = x.until
          AND d.delivered_at IS NULL AND d.failed_at IS NULL
        RETURNING d.event_id`;
      if (this.halted) return;
      const kept = new Set(renewed.map((r) => r.event_id));
      for (const e of entries) {
        // Forgotten meanwhile (recorded): nothing to do. Not renewed: taken over, or recorded by now.
        if (!this.held.has(keyOf(e.row))) continue;
        if (kept.has(e.row.event_id)) e.until = until;
        else {
          this.held.delete(keyOf(e.row));
          this.lostKeys.add(keyOf(e.row));
          this.log.warn({ consumer, eventId: String(e.row.event_id) }, 'outbox: a delivery lease was lost (renewed too late); another process has it');
        }
      }
    }
  }

  /** Gives claims back unhandled: the lease cleared and the attempt not counted. */
  async release(rows: ClaimedRow[]): Promise<void> {
    await this.endClaims(rows, null, undefined, undefined);
  }

  /** Gives claims back to be tried at `until` (a rate limit), the attempt not counted, `message` kept on `errorOn`. */
  async postpone(rows: ClaimedRow[], until: Date, errorOn: bigint, message: string): Promise<void> {
    await this.endClaims(rows, until, errorOn, message);
  }

  /** Records a failed attempt: retried at `availableAt`, or given up (`failedAt`); only while the claim is still ours. */
  async fail(row: ClaimedRow, outcome: { failedAt: Date } | { availableAt: Date }, message: string): Promise<void> {
    const entry = this.held.get(keyOf(row));
    if (this.halted || !entry) return;
    const failedAt = 'failedAt' in outcome ? outcome.failedAt : null;
    const availableAt = 'availableAt' in outcome ? outcome.availableAt : null;
    await this.prisma.$executeRaw`
      UPDATE outbox_delivery SET locked_until = NULL, last_error = ${message},
        failed_at = COALESCE(${failedAt}::timestamptz, failed_at), available_at = COALESCE(${availableAt}::timestamptz, available_at)
      WHERE consumer = ${row.consumer} AND event_id = ${row.event_id} AND locked_until = ${entry.until}
        AND delivered_at IS NULL AND failed_at IS NULL`;
    this.forget([row]);
  }

  unrecorded(consumer: string, rows: ClaimedRow[]): void {
    this.pendingRelease.set(consumer, [...(this.pendingRelease.get(consumer) ?? []), ...rows]);
  }

  /** Gives back the claims whose outcome could not be written, instead of waiting out their lease. */
  async releaseUnrecorded(consumer: string): Promise<void> {
    const rows = this.pendingRelease.get(consumer);
    if (!rows?.length) return;
    await this.release(rows);
    this.pendingRelease.delete(consumer);
    this.log.info({ consumer, released: rows.length }, 'outbox: released deliveries whose outcome could not be recorded');
  }

  private async endClaims(rows: ClaimedRow[], availableAt: Date | null, errorOn: bigint | undefined, message: string | undefined): Promise<void> {
    if (this.halted || !rows.length) return;
    const entries = rows.map((row) => this.held.get(keyOf(row))).filter((e): e is { row: ClaimedRow; until: Date } => !!e);
    for (const [consumer, list] of this.grouped(entries)) {
      await this.prisma.$executeRaw`
        UPDATE outbox_delivery d
        SET locked_until = NULL, attempts = GREATEST(d.attempts - 1, 0),
            available_at = GREATEST(d.available_at, ${availableAt ?? new Date(0)}),
            last_error = CASE WHEN d.event_id = ${errorOn ?? -1n} THEN ${message ?? null} ELSE d.last_error END
        FROM unnest(${list.map((e) => String(e.row.event_id))}::bigint[], ${list.map((e) => e.until.toISOString())}::timestamptz[]) AS x(event_id, until)
        WHERE d.consumer = ${consumer} AND d.event_id = x.event_id AND d.locked_until = x.until
          AND d.delivered_at IS NULL AND d.failed_at IS NULL`;
    }
    this.forget(rows);
  }

  private grouped<T extends { row: ClaimedRow }>(entries: T[]): Map<string, T[]> {
    const by = new Map<string, T[]>();
    for (const e of entries) by.set(e.row.consumer, [...(by.get(e.row.consumer) ?? []), e]);
    return by;
  }
}
