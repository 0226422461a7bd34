/**
 * The platform inbox: inbound clicks stored before they are acknowledged (issue 15 item 10).
 *
 * Slack wants an answer within 3 seconds and never re-sends a click it got a 200 for, so a click
 * acknowledged before it is stored is lost if the process dies before handling it. The receiver
 * stores the verified payload here first (one row per click: a re-delivery finds its row and is
 * not stored twice), then acknowledges, then handles it. Handling marks the row applied in the
 * same transaction as the action's state change (`appliedIn`), so a replay can never apply it a
 * second time. Rows left unapplied when their lease expires (the process died, or handling
 * failed) are replayed by `startInboxRecovery`, a bounded number of times.
 *
 * Platform-free: the payload is opaque JSON, the replay is a callback of the adapter.
 */
import { Prisma } from './generated/prisma/client.js';
import type { Database } from './store/database.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Tx } from './outbox.js';
import { fixedError } from './errors.js';
import { periodic } from './periodic.js';

/** How long a stored click belongs to whoever is handling it before recovery may replay it. */
export const INBOX_LEASE_MS = 15_000;
/** Handling attempts per click, the first (on receipt) included; then it is marked failed. */
export const INBOX_MAX_ATTEMPTS = 3;
export const INBOX_RECOVERY_EVERY_MS = 5_000;
/** Applied or failed rows are kept this long (for inspection), then pruned by recovery. */
export const INBOX_KEEP_MS = 24 * 3600_000;

/** A replay found the click already applied (the first handling committed meanwhile): nothing to do. */
export class InboxAlreadyAppliedError extends fixedError('already_applied', 409) {}

export interface StoredClick {
  /** The row, to mark applied. */
  id: number;
  /** false: this key was stored before (a re-delivery); the first delivery's handling owns it. */
  fresh: boolean;
}

export interface ClaimedClick {
  id: number;
  key: string;
  payload: unknown;
  attempts: number;
}

interface Pending {
  key: string;
  payload: string;
  resolve(r: StoredClick): void;
  reject(err: unknown): void;
}

export class PlatformInbox {
  private queue: Pending[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    readonly platform: string,
    private readonly opts: { leaseMs?: number; maxAttempts?: number } = {},
  ) {}

  get leaseMs(): number {
    return this.opts.leaseMs ?? INBOX_LEASE_MS;
  }

  get maxAttempts(): number {
    return this.opts.maxAttempts ?? INBOX_MAX_ATTEMPTS;
  }

  /**
   * Stores a click, leased to the caller (who handles it now). Resolves once the row is committed;
   * rejects when the database could not store it (the caller must not acknowledge then).
   *
   * Clicks that arrive while a store is in flight are written together in one INSERT when it
   * finishes (group commit): a burst of clicks costs a few statements, not one each, which keeps
   * every acknowledgement within Slack's 3 seconds on PGlite's single session too.
   */
  store(key: string, payload: unknown): Promise<StoredClick> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, payload: JSON.stringify(payload), resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // One turn of the event loop: requests already read are in the same batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, 500);
      try {
        const stored = await this.insert(batch);
        batch.forEach((p, i) => p.resolve(stored[i]!));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Resolves when no store is queued or in flight. The receiver handles a stored click only then:
   * on PGlite's one session, a click's transaction started first would hold the stores (and so
   * the acknowledgements) of the clicks that arrived with it behind its own statements.
   */
  idle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async insert(batch: Pending[]): Promise<StoredClick[]> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + this.leaseMs);
    // One row per key even within a batch (a re-delivery can arrive beside the original).
    const unique = [...new Map(batch.map((p) => [p.key, p])).values()];
    const values = unique.map((p) => Prisma.sql`(${this.platform}, ${p.key}, ${p.payload}::jsonb, ${now}, 1, ${leaseUntil})`);
    const inserted = await this.db.prisma.$queryRaw<{ id: bigint; key: string }[]>`
      INSERT INTO platform_inbox (platform, key, payload, received_at, attempts, lease_until)
      VALUES ${Prisma.join(values)}
      ON CONFLICT (platform, key) DO NOTHING
      RETURNING id, key`;
    const ids = new Map(inserted.map((r) => [r.key, Number(r.id)]));
    // The first copy of a fresh key owns it; any other copy (a re-delivery) is not fresh.
    return batch.map((p) => {
      const id = ids.get(p.key);
      ids.delete(p.key);
      return id === undefined ? { id: 0, fresh: false } : { id, fresh: true };
    });
  }

  /**
   * For `HandoffService.apply`'s `inTransaction`: marks the click applied inside the action's own
   * transaction. When another handling already committed it, throws so this one rolls back.
   */
  appliedIn(id: number): (tx: Tx) => Promise<void> {
    return async (tx) => {
      const n = await tx.$executeRaw`UPDATE platform_inbox SET applied_at = ${this.clock.now()} WHERE id = ${BigInt(id)} AND applied_at IS NULL`;
      if (n !== 1) throw new InboxAlreadyAppliedError(`Click #${id} was already applied.`);
    };
  }

  /** Handling is over (the action committed, or was refused, or changed nothing): never replay it. */
  async finish(id: number): Promise<void> {
    await this.db.prisma.$executeRaw`UPDATE platform_inbox SET applied_at = ${this.clock.now()} WHERE id = ${BigInt(id)} AND applied_at IS NULL`;
  }

  /**
   * Takes up to `limit` clicks whose lease expired unapplied, extending their lease and counting
   * the attempt. SKIP LOCKED: two Batons on one PostgreSQL never take the same row.
   */
  async claim(limit = 50): Promise<ClaimedClick[]> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + this.leaseMs);
    const rows = await this.db.prisma.$queryRaw<{ id: bigint; key: string; payload: unknown; attempts: number }[]>`
      UPDATE platform_inbox SET attempts = attempts + 1, lease_until = ${leaseUntil}
      WHERE id IN (
        SELECT id FROM platform_inbox
        WHERE platform = ${this.platform} AND applied_at IS NULL AND failed_at IS NULL AND lease_until <= ${now} AND attempts < ${this.maxAttempts}
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id, key, payload, attempts`;
    return rows.map((r) => ({ id: Number(r.id), key: r.key, payload: r.payload, attempts: r.attempts })).sort((a, b) => a.id - b.id);
  }

  /** Clicks out of attempts whose last lease expired: marked failed, returned to be logged. */
  async giveUp(): Promise<{ id: number; key: string; attempts: number }[]> {
    const now = this.clock.now();
    const rows = await this.db.prisma.$queryRaw<{ id: bigint; key: string; attempts: number }[]>`
      UPDATE platform_inbox SET failed_at = ${now}
      WHERE platform = ${this.platform} AND applied_at IS NULL AND failed_at IS NULL AND lease_until <= ${now} AND attempts >= ${this.maxAttempts}
      RETURNING id, key, attempts`;
    return rows.map((r) => ({ id: Number(r.id), key: r.key, attempts: r.attempts }));
  }

  /** Drops applied and failed rows older than `olderThanMs`. */
  async prune(olderThanMs = INBOX_KEEP_MS): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - olderThanMs);
    return this.db.prisma.$executeRaw`
      DELETE FROM platform_inbox WHERE platform = ${this.platform} AND received_at < ${cutoff} AND (applied_at IS NOT NULL OR failed_at IS NOT NULL)`;
  }
}

export interface InboxRecovery {
  /** One pass now (tests; also what the timer runs). Resolves when the pass is over. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * At start and every `everyMs`: replays the clicks whose lease expired unapplied (oldest first,
 * one at a time), marks those out of attempts failed with a warning, and prunes old rows.
 * `replay` handles one payload as on receipt; it throws when handling could not finish (the
 * lease then expires again and the next pass retries, until the attempts run out).
 */
export function startInboxRecovery(args: {
  inbox: PlatformInbox;
  replay: (payload: unknown, id: number) => Promise<void>;
  log: Logger;
  everyMs?: number;
}): InboxRecovery {
  const { inbox, replay, log } = args;
  let passes = 0;
  const pass = async (stopped: () => boolean) => {
    for (const gone of await inbox.giveUp()) {
      log.warn({ platform: inbox.platform, inboxId: gone.id, key: gone.key, attempts: gone.attempts }, 'inbox: a stored click could not be handled and will not be retried');
    }
    for (const click of await inbox.claim()) {
      if (stopped()) return;
      log.info({ platform: inbox.platform, inboxId: click.id, key: click.key, attempt: click.attempts }, 'inbox: replaying a click stored but not applied');
      try {
        await replay(click.payload, click.id);
        await inbox.finish(click.id);
      } catch (err) {
        log.warn({ platform: inbox.platform, inboxId: click.id, err: err instanceof Error ? err.message : String(err) }, 'inbox: a replayed click failed; it will be retried when its lease expires');
      }
    }
    // Pruning is not urgent: about once a minute is plenty.
    if (passes++ % 12 === 0) await inbox.prune();
  };
  const timer = periodic(pass, {
    everyMs: args.everyMs ?? INBOX_RECOVERY_EVERY_MS,
    onError: (err) => log.warn({ platform: inbox.platform, err: err instanceof Error ? err.message : String(err) }, 'inbox: recovery pass failed; retrying on the next one'),
  });
  return { runOnce: () => timer.runNow(), stop: () => timer.stop() };
}
