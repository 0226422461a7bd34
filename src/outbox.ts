/**
 * Transactional outbox. A state change writes its event (src/events.ts writeEvent) (and one
 * delivery row per consumer) in the same transaction as the change itself, so a crash or a
 * platform outage can delay a delivery but never lose it.
 *
 * Several processes share the work through the database alone. A delivery is claimed with one
 * `UPDATE … FOR UPDATE SKIP LOCKED … RETURNING` (exactly one process gets each row) and held
 * under a short lease (`locked_until`, BATON_DELIVERY_LEASE_MS) that the holder renews while it
 * works (src/outboxLeases.ts); a process that dies stops renewing, and a survivor claims the row
 * once the lease has run out. Inside a process, each consumer's deliveries run in lanes — the key
 * the consumer gives per event (OutboxConsumer.laneOf: a channel), one delivery at a time per
 * lane, in commit order, several lanes at once — so one busy channel does not hold back another's
 * nudges, and a 429 pauses only its own lane.
 */
import type { PrismaClient } from './generated/prisma/client.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { OutboxConsumer, OutboxEvent } from './events.js';
import { backoff, type BackoffPolicy, defaultBackoff, RetryAfterError } from './retry.js';
import { LeaseKeeper, type ClaimedRow, type HeldDelivery } from './outboxLeases.js';

export type { Tx, OutboxEvent, OutboxConsumer } from './events.js';

/** Longest a handled delivery waits to be recorded while other deliveries go on (see recordDelivered). */
const RECORD_WITHIN_MS = 1000;
/** Most rows one consumer keeps handed back (busy or paused lanes) before it stops claiming until they drain. */
const MAX_HANDED_BACK = 5000;
/** The lane of a consumer that does not say (laneOf): all its deliveries in one sequential lane. */
const WHOLE_CONSUMER = '';

export interface OutboxStats {
  pending: number;
  failed: number;
  oldestPendingAt: Date | null;
}

export interface OutboxOptions {
  pollMs: number;
  /** Most rows claimed by one statement. */
  batchSize?: number;
  /** How long a claim holds a delivery without renewal (BATON_DELIVERY_LEASE_MS, default 15 s). */
  leaseMs?: number;
  /** Lanes of one consumer running at once, per process (default 8). */
  concurrency?: number;
  /** Deliveries one lane holds ahead (default 20); more of a busy lane are handed back unclaimed. */
  laneDepth?: number;
  backoff?: BackoffPolicy;
}

/** One lane: deliveries for one key (a channel), handled one at a time in commit order. */
interface Lane {
  key: string;
  queue: HeldDelivery[];
  running: Promise<void> | undefined;
  /** The platform said "slow down" (HTTP 429, Retry-After) for this lane: nothing is sent before then. */
  pausedUntil: number;
}

/** One consumer's claiming loop and its lanes. */
interface ConsumerState {
  timer: NodeJS.Timeout | undefined;
  pumping: Promise<void> | undefined;
  wakeRequested: boolean;
  lanes: Map<string, Lane>;
  /** handoff id → the lane its deliveries run in here, so one handoff's events stay in order. */
  laneOfHandoff: Map<number, string>;
  /** Rows handed back because their lane was paused or full: not claimed again by this process until it frees up. */
  handedBack: Map<bigint, string>;
  /** Successes not yet written (see recordDelivered). */
  done: { row: HeldDelivery; at: Date }[];
  attempted: number;
}

export class OutboxDispatcher {
  private consumers = new Map<string, OutboxConsumer>();
  private states = new Map<string, ConsumerState>();
  /** start() was called: deliveries run in the background. */
  private started = false;
  /** stop() or halt() was called: nothing more is claimed. */
  private closed = false;
  private readonly leases: LeaseKeeper;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: OutboxOptions = { pollMs: 1000 },
  ) {
    this.leases = new LeaseKeeper(prisma, clock, log, opts.leaseMs ?? 15_000);
  }

  register(consumer: OutboxConsumer): void {
    this.consumers.set(consumer.name, consumer);
    if (this.started && !this.closed) this.schedule(consumer.name, 0);
  }

  list(): OutboxConsumer[] {
    return [...this.consumers.values()];
  }

  start(): void {
    this.started = true;
    this.closed = false;
    this.leases.start();
    for (const name of this.consumers.keys()) this.schedule(name, 0);
  }

  /**
   * Stops claiming; lets the deliveries being handled finish, gives back (lease cleared, attempt
   * not counted) those claimed but not started, and records what was done. A survivor can then
   * claim them at once instead of waiting out the lease.
   */
  async stop(opts: { deadline?: number } = {}): Promise<void> {
    this.closed = true;
    const states = [...this.states.values()];
    for (const s of states) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
    }
    await Promise.all(states.map((s) => s.pumping));
    const waiting: HeldDelivery[] = [];
    for (const s of states) for (const lane of s.lanes.values()) waiting.push(...lane.queue.splice(0));
    await this.leases.release(waiting).catch((err: unknown) => this.log.warn({ err }, 'outbox: could not give back claimed deliveries; their lease runs out'));
    const finished = Promise.all(
      [...this.states.keys()].map((name) => this.idle(name).catch((err: unknown) => this.log.warn({ err, consumer: name }, 'outbox: could not record deliveries at stop; they run again after their lease'))),
    ).then(() => true);
    const left = opts.deadline === undefined ? undefined : Math.max(0, opts.deadline - Date.now());
    const inTime = left === undefined ? await finished : await Promise.race([finished, new Promise<false>((r) => setTimeout(() => r(false), left).unref?.())]);
    if (!inTime) {
      // Still waiting on a platform: leave those claims to run out (a survivor takes them over).
      this.log.warn({}, 'outbox: stopped with deliveries still in hand; another process takes them over when their lease runs out');
      this.leases.halt();
      return;
    }
    await this.leases.stop();
  }

  /**
   * For tests: what a process that dies does to its deliveries — nothing. Its loops and lease
   * renewal stop, its claims are left as they are, and their leases run out.
   */
  halt(): void {
    this.closed = true;
    for (const s of this.states.values()) if (s.timer) clearTimeout(s.timer);
    this.leases.halt();
  }

  /**
   * Called after a commit that wrote outbox rows, so delivery starts at once instead of at the next
   * poll. With the names of the consumers that got rows, only theirs are woken.
   */
  wake(consumers?: Iterable<string>): void {
    if (!this.started || this.closed) return;
    const names = consumers ? [...consumers].filter((n) => this.consumers.has(n)) : [...this.consumers.keys()];
    for (const name of names) {
      const s = this.state(name);
      if (s.pumping) s.wakeRequested = true;
      else this.schedule(name, 0);
    }
  }

  private state(name: string): ConsumerState {
    let s = this.states.get(name);
    if (!s) {
      s = { timer: undefined, pumping: undefined, wakeRequested: false, lanes: new Map(), laneOfHandoff: new Map(), handedBack: new Map(), done: [], attempted: 0 };
      this.states.set(name, s);
    }
    return s;
  }

  private schedule(name: string, ms: number): void {
    const s = this.state(name);
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (s.pumping) {
        s.wakeRequested = true;
        return;
      }
      s.pumping = this.pump(name)
        .catch((err: unknown) => this.log.error({ err, consumer: name }, 'outbox dispatch failed; will retry'))
        .finally(() => {
          s.pumping = undefined;
          if (this.closed) return;
          const again = s.wakeRequested;
          s.wakeRequested = false;
          this.schedule(name, again ? 0 : this.opts.pollMs);
        });
    }, ms);
    s.timer.unref?.();
  }

  /** Deliver everything due now, for every consumer; returns how many deliveries were attempted. */
  async drain(): Promise<number> {
    const counts = await Promise.all([...this.consumers.keys()].map(async (name) => {
      const s = this.state(name);
      const before = s.attempted;
      for (let last = -1; last !== s.attempted && !this.closed; ) {
        last = s.attempted;
        await this.pump(name);
        await this.idle(name);
      }
      return s.attempted - before;
    }));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** One claim per consumer, in parallel, handled to the end; returns how many deliveries were attempted. */
  async drainOnce(): Promise<number> {
    const counts = await Promise.all([...this.consumers.keys()].map(async (name) => {
      const s = this.state(name);
      const before = s.attempted;
      await this.claimOnce(name);
      await this.idle(name);
      return s.attempted - before;
    }));
    return counts.reduce((a, b) => a + b, 0);
  }

  private async idle(name: string): Promise<void> {
    const s = this.state(name);
    for (;;) {
      const running = [...s.lanes.values()].map((l) => l.running).filter(Boolean);
      if (!running.length) break;
      await Promise.all(running);
    }
    await this.recordDelivered(name, s);
  }

  /** Claims while rows are due and this consumer has room; lanes run as rows arrive. */
  private async pump(name: string): Promise<void> {
    while (!this.closed) {
      const claimed = await this.claimOnce(name);
      if (!claimed.full) return;
    }
  }

  private async claimOnce(name: string): Promise<{ full: boolean }> {
    const consumer = this.consumers.get(name);
    if (!consumer) return { full: false };
    const s = this.state(name);
    if (this.closed) return { full: false };
    await this.leases.releaseUnrecorded(name);
    const now = this.clock.now();
    const whole = s.lanes.get(WHOLE_CONSUMER);
    // A consumer in one lane claims its next batch when the last is done, and nothing while it is
    // paused (each row would only be refused in turn).
    if (!consumer.laneOf && whole && (whole.running || whole.queue.length || now.getTime() < whole.pausedUntil)) return { full: false };
    const readmitted = this.resumeLanes(s, now.getTime());
    // Lanes with rows still handed back: a newer row of theirs waits behind those (commit order).
    const backed = new Set(s.handedBack.values());
    const limit = this.opts.batchSize ?? 50;
    const rows = await this.leases.claim(name, limit, [...s.handedBack.keys()]);
    if (this.closed) {
      await this.leases.release(rows);
      return { full: false };
    }
    const giveBack: HeldDelivery[] = [];
    for (const row of rows.sort((a, b) => (a.event_id < b.event_id ? -1 : 1))) {
      const key = await this.laneKey(consumer, s, row);
      const lane = this.lane(s, key);
      // (A consumer in one lane claims a batch only when its lane is idle: the whole batch is its.)
      const behind = backed.has(key) && !readmitted.has(row.event_id);
      if (consumer.laneOf && (behind || now.getTime() < lane.pausedUntil || lane.queue.length >= (this.opts.laneDepth ?? 20))) {
        s.handedBack.set(row.event_id, key);
        backed.add(key);
        giveBack.push(row);
        continue;
      }
      if (row.handoff_id !== null) s.laneOfHandoff.set(row.handoff_id, key);
      lane.queue.push(row);
    }
    if (giveBack.length) await this.leases.release(giveBack);
    this.runLanes(name, s);
    // A full claim may have more behind it (handed-back rows are not claimed again, so this ends);
    // past MAX_HANDED_BACK the lanes must drain first.
    return { full: rows.length === limit && s.handedBack.size < MAX_HANDED_BACK };
  }

  /** The consumer's lane for the event, except that a handoff already in a lane here stays in it (its order). */
  private async laneKey(consumer: OutboxConsumer, s: ConsumerState, row: ClaimedRow): Promise<string> {
    if (!consumer.laneOf) return WHOLE_CONSUMER;
    const sticky = row.handoff_id !== null ? s.laneOfHandoff.get(row.handoff_id) : undefined;
    if (sticky !== undefined && s.lanes.has(sticky)) return sticky;
    try {
      return await consumer.laneOf(toEvent(row));
    } catch (err) {
      this.log.warn({ err, consumer: consumer.name, eventId: String(row.event_id) }, 'outbox: could not tell the lane of a delivery; it runs in its handoff\'s own');
      return `handoff:${row.handoff_id ?? `event:${row.event_id}`}`;
    }
  }

  private lane(s: ConsumerState, key: string): Lane {
    let lane = s.lanes.get(key);
    if (!lane) {
      lane = { key, queue: [], running: undefined, pausedUntil: 0 };
      s.lanes.set(key, lane);
    }
    return lane;
  }

  /** Lanes whose pause is over (or that emptied) may have their handed-back rows again. */
  private resumeLanes(s: ConsumerState, now: number): Set<bigint> {
    const readmitted = new Set<bigint>();
    // Only a lane that has gone idle takes rows back, and only its next laneDepth (the oldest): a
    // busy lane's backlog is claimed a lane's worth at a time, never rescanned whole (that was
    // quadratic in the backlog).
    const byLane = new Map<string, bigint[]>();
    for (const [id, key] of s.handedBack) byLane.set(key, [...(byLane.get(key) ?? []), id]);
    for (const [key, ids] of byLane) {
      const lane = s.lanes.get(key);
      if (lane && (lane.running || lane.queue.length || now < lane.pausedUntil)) continue;
      for (const id of ids.sort((a, b) => (a < b ? -1 : 1)).slice(0, this.opts.laneDepth ?? 20)) {
        s.handedBack.delete(id);
        readmitted.add(id);
      }
    }
    for (const [key, lane] of s.lanes) {
      if (!lane.running && !lane.queue.length && now >= lane.pausedUntil) s.lanes.delete(key);
    }
    for (const [handoffId, key] of s.laneOfHandoff) if (!s.lanes.has(key)) s.laneOfHandoff.delete(handoffId);
    return readmitted;
  }

  private runLanes(name: string, s: ConsumerState): void {
    if (this.closed) return; // stop() gives the queued rows back
    const limit = this.opts.concurrency ?? 8;
    let running = [...s.lanes.values()].filter((l) => l.running).length;
    for (const lane of s.lanes.values()) {
      if (running >= limit) return;
      if (lane.running || !lane.queue.length) continue;
      running++;
      lane.running = this.runLane(name, s, lane)
        .catch((err: unknown) => this.log.error({ err, consumer: name, lane: lane.key }, 'outbox lane failed; its deliveries are retried'))
        .finally(() => {
          lane.running = undefined;
          // A slot is free: another lane may start, and a full consumer may claim again.
          if (!this.closed) {
            this.runLanes(name, s);
            this.wake([name]);
          }
        });
    }
  }

  /** Delivers a lane's rows in order; a 429 pauses this lane and gives its rows back until Retry-After. */
  private async runLane(name: string, s: ConsumerState, lane: Lane): Promise<void> {
    const consumer = this.consumers.get(name);
    if (!consumer) return;
    for (let row = lane.queue.shift(); row; row = lane.queue.shift()) {
      if (s.done.length && this.clock.now().getTime() - s.done[0]!.at.getTime() >= RECORD_WITHIN_MS) await this.recordDelivered(name, s);
      if (this.leases.lost(row)) continue; // another process took it over while it waited here
      const event = toEvent(row);
      s.attempted++;
      try {
        await consumer.handle(event, row.attempts);
        s.done.push({ row, at: this.clock.now() });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const now = this.clock.now();
        if (err instanceof RetryAfterError) {
          // A rate limit is about the lane, not this message: it and the rest of the lane wait out
          // Retry-After, and none of them counts it as a failed attempt (a long rate limit must not
          // stretch their backoff to minutes, nor use up their attempts).
          const until = new Date(now.getTime() + Math.max(0, err.retryAfterMs));
          lane.pausedUntil = until.getTime();
          const waiting = [row, ...lane.queue.splice(0)];
          await this.leases.postpone(waiting, until, row.event_id, message.slice(0, 2000)).catch((writeErr: unknown) => {
            this.leases.unrecorded(name, waiting); // given back when the database answers again
            throw writeErr;
          });
          this.log.warn({ consumer: name, lane: lane.key || undefined, eventId: event.id, type: event.type, waiting: waiting.length, retryInMs: err.retryAfterMs, err: message }, 'outbox: rate limited; the lane waits');
          return;
        }
        const delay = backoff(row.attempts, err, this.opts.backoff ?? defaultBackoff);
        await this.leases.fail(row, delay === null ? { failedAt: now } : { availableAt: new Date(now.getTime() + delay) }, message.slice(0, 2000)).catch((writeErr: unknown) => {
          this.leases.unrecorded(name, [row]); // given back when the database answers again
          throw writeErr;
        });
        const logFn = delay === null ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
        logFn({ consumer: name, eventId: event.id, type: event.type, attempt: row.attempts, retryInMs: delay, err: message }, delay === null ? 'outbox delivery failed for good' : 'outbox delivery failed; retrying');
      }
    }
    await this.recordDelivered(name, s);
  }

  /**
   * Successes are recorded together: one UPDATE for several deliveries instead of one each (under
   * load that was a tenth of all statements). Each keeps the time it was handled. A crash before
   * the write re-runs those deliveries once their lease runs out, which consumers must tolerate
   * anyway (see OutboxConsumer.handle); to keep that window short, anything handled more than
   * RECORD_WITHIN_MS ago is written before the next delivery starts.
   */
  private async recordDelivered(name: string, s: ConsumerState): Promise<void> {
    if (!s.done.length || this.leases.halted) return;
    const batch = s.done.splice(0);
    try {
      await this.prisma.$executeRaw`
        UPDATE outbox_delivery d SET delivered_at = x.at, locked_until = NULL, last_error = NULL
        FROM unnest(${batch.map((b) => String(b.row.event_id))}::bigint[], ${batch.map((b) => b.at.toISOString())}::timestamptz[]) AS x(event_id, at)
        WHERE d.consumer = ${name} AND d.event_id = x.event_id AND d.delivered_at IS NULL`;
      this.leases.forget(batch.map((b) => b.row));
    } catch (err) {
      // The database went away: give the claims back as soon as it answers again (releaseUnrecorded).
      this.leases.unrecorded(name, batch.map((b) => b.row));
      throw err;
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

function toEvent(r: ClaimedRow): OutboxEvent {
  return { id: String(r.event_id), handoffId: r.handoff_id, type: r.type, payload: r.payload, createdAt: new Date(r.created_at) };
}

