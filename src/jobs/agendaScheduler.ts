/**
 * The JobScheduler port implemented with Agenda 6, the only scheduler in Baton.
 *
 * - PostgreSQL: @agendajs/postgres-backend with its own small `pg` pool and LISTEN/NOTIFY, so a
 *   job scheduled on one instance wakes every instance at once; locks are `FOR UPDATE SKIP
 *   LOCKED`, so of several instances exactly one runs a due job.
 * - Embedded PGlite: SqlBackend (our repository on the app's PGlite instance + an in-process
 *   channel), polling every `processEveryMs`.
 *
 * Jobs are one-shot timers identified by a unique key (stored in the job's data, with a unique
 * index), removed once they ran successfully.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Agenda, type AgendaBackend, type Job, type JobId, type JobParameters, type JobRepository, type NotificationChannel, type NotificationChannelState, type RemoveJobsOptions } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import pg from 'pg';
import type { Database } from '../store/database.js';
import type { Logger } from '../logger.js';
import { backoff, RetryAfterError, type BackoffPolicy } from '../retry.js';
import { ensureJobSchema, DEFAULT_JOBS_TABLE, assertTableName } from './schema.js';
import { SqlBackend } from './sqlBackend.js';
import type { JobData, JobFilter, JobHandler, JobScheduler, PendingJob, ScheduleOptions, ScheduleRequest } from './scheduler.js';

export interface JobSchedulerOptions {
  db: Database;
  /**
   * On PostgreSQL, Agenda gets its own small pool from this URL (LISTEN needs a dedicated
   * connection). Without it, jobs run on the app's pool and are found by polling only.
   */
  databaseUrl?: string | undefined;
  log: Logger;
  /** Names this instance in job rows (`last_modified_by`) and in cross-instance events. */
  instanceName?: string;
  /**
   * How often Agenda looks for jobs coming due (default 250 ms on PGlite, 500 ms on PostgreSQL).
   * A job due within one period is locked and fired by a local timer at its exact time, so this
   * does not add lateness by itself; it bounds how fast a backlog drains (each poll locks at
   * most `lockLimit` jobs) and how late a job saved without a wake-up can be. Measured with
   * scripts/bench-timers.ts.
   */
  processEveryMs?: number;
  /**
   * A job whose lock is older than this is considered abandoned (its instance died) and is run
   * again by another. A running handler renews its lock every quarter of it. At least twice the
   * poll period plus half a second.
   */
  lockLifetimeMs?: number;
  /** Jobs of one name running at once on this instance. */
  concurrency?: number;
  /** Jobs of one name locked (running or waiting for their exact time) at once on this instance. */
  lockLimit?: number;
  /** Retries of a failing handler. */
  backoff?: BackoffPolicy;
  table?: string;
  /** PostgreSQL pool size for Agenda (one connection is held by LISTEN); default 10. */
  poolSize?: number;
  /** How long stop() waits for running handlers. */
  stopTimeoutMs?: number;
}

export const defaultJobBackoff: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000, maxAttempts: 12 };

interface StoredData<D extends JobData = JobData> {
  key: string;
  /** When the job was first due (Agenda rewrites nextRunAt for retries). */
  runAt: string;
  data: D;
}

export async function createJobScheduler(opts: JobSchedulerOptions): Promise<AgendaJobScheduler> {
  const table = assertTableName(opts.table ?? DEFAULT_JOBS_TABLE);
  const log = opts.log;
  // Create the table once, before any worker exists (concurrent ensureSchema races on PostgreSQL).
  const changes = await ensureJobSchema(opts.db.sql, table);
  if (changes.addedColumns.length || changes.addedIndexes.length) {
    log.warn({ table, ...changes }, 'jobs: brought the jobs table up to the installed backend\'s layout');
  }
  if (opts.db.kind === 'pglite') {
    const backend = new SqlBackend('PGlite', opts.db.sql, { table, ensureSchema: false });
    return new AgendaJobScheduler(await preconnected(backend), { ...opts, processEveryMs: opts.processEveryMs ?? 250 }, async () => undefined, bulkOn(opts.db.sql, table));
  }
  if (!opts.databaseUrl) {
    // Handed an open PostgreSQL database without its URL (tests): no pool of our own for LISTEN,
    // so run the same SQL on the app's pool and poll.
    log.warn('jobs: no database URL for the scheduler\'s own pool; polling without LISTEN/NOTIFY');
    const backend = new SqlBackend('PostgreSQL (shared pool, polling)', opts.db.sql, { table, ensureSchema: false });
    return new AgendaJobScheduler(await preconnected(backend), { ...opts, processEveryMs: opts.processEveryMs ?? 500 }, async () => undefined, bulkOn(opts.db.sql, table));
  }
  const { config, schema } = pgPoolConfig(opts.databaseUrl, opts.poolSize ?? 10);
  const pool = new pg.Pool(config);
  // An idle client that loses its server emits 'error'; without a listener that crashes the process.
  pool.on('error', (err) => log.warn({ err: err.message }, 'jobs: idle PostgreSQL connection failed'));
  const backend = new PostgresBackend({
    pool,
    tableName: table,
    // NOTIFY is per database, not per schema: give each schema its own channel.
    channelName: schema ? `${table}_${schema}` : table,
    ensureSchema: false,
  });
  try {
    const connected = await preconnected(backend);
    const guarded = { ...connected, repository: guardedUnlocks(connected.repository, pool, table) };
    return new AgendaJobScheduler(guarded, { ...opts, processEveryMs: opts.processEveryMs ?? 500 }, () => pool.end(), bulkOn({ query: async (q, p) => (await pool.query(q, p)).rows }, table));
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Inserts far-off jobs in one statement (see AgendaJobScheduler.scheduleMany): the same columns
 * Agenda's save() writes for a new job, skipping keys that already exist (insert-only).
 */
export interface BulkStatements {
  insert(rows: BulkJobRow[]): Promise<void>;
  /** Removes the jobs of one name with these keys; returns how many. */
  removeKeys(name: string | undefined, keys: string[]): Promise<number>;
}
interface BulkJobRow {
  name: string;
  priority: number;
  next_run_at: string;
  type: string;
  repeat_timezone: string | null;
  repeat_interval: string | null;
  data: unknown;
  repeat_at: string | null;
  disabled: boolean;
  fork: boolean;
  last_modified_by: string | null;
  start_date: string | null;
  end_date: string | null;
  skip_days: unknown;
}

function bulkOn(sql: { query(q: string, params?: unknown[]): Promise<unknown[]> }, table: string): BulkStatements {
  const statement = `
    INSERT INTO "${table}" (name, priority, next_run_at, type, repeat_timezone, repeat_interval, data, repeat_at, disabled, fork,
      last_modified_by, start_date, end_date, skip_days)
    SELECT name, priority, next_run_at, type, repeat_timezone, repeat_interval, data, repeat_at, disabled, fork,
      last_modified_by, start_date, end_date, skip_days
    FROM jsonb_to_recordset($1::jsonb) AS r(name text, priority int, next_run_at timestamptz, type text, repeat_timezone text,
      repeat_interval text, data jsonb, repeat_at text, disabled boolean, fork boolean, last_modified_by text,
      start_date timestamptz, end_date timestamptz, skip_days jsonb)
    ON CONFLICT ((data->>'key')) DO NOTHING`;
  return {
    async insert(rows) {
      await sql.query(statement, [JSON.stringify(rows)]);
    },
    async removeKeys(name, keys) {
      const rows = (await sql.query(
        `WITH gone AS (DELETE FROM "${table}" WHERE data->>'key' = ANY($1::text[]) AND ($2::text IS NULL OR name = $2) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [keys, name ?? null],
      )) as { n: number }[];
      return rows[0]?.n ?? 0;
    },
  };
}

/**
 * @agendajs/postgres-backend's `unlockJobs` (3.0.6) clears the lock of every job it is given,
 * where its own `unlockJob` — and Baton's SqlJobRepository — keep the lock of a job whose
 * `next_run_at` is NULL. That job is one a process had started (a one-shot job's next run is
 * cleared when it starts), then died, and another process recovered: if that second process is
 * stopped before running it, the stock statement leaves it unlocked with no next run — never
 * picked up again, a lost nudge or escalation. With the guard the lock stays and a survivor takes
 * the job over after the lock lifetime. Everything else is the stock repository.
 */
export function guardedUnlocks(repository: JobRepository, pool: { query(q: string, params?: unknown[]): Promise<unknown> }, table: string): JobRepository {
  assertTableName(table);
  const unlockJobs = async (jobIds: (JobId | string)[]): Promise<void> => {
    if (jobIds.length === 0) return;
    await pool.query(`UPDATE "${table}" SET locked_at = NULL WHERE id = ANY($1::uuid[]) AND next_run_at IS NOT NULL`, [jobIds.map(String)]);
  };
  return new Proxy(repository, {
    get(target, prop) {
      if (prop === 'unlockJobs') return unlockJobs;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Agenda connects its backend from its constructor and does not handle a failure there (an
 * unhandled rejection). Connect first, so a database problem fails start-up with a clear error,
 * then hand Agenda a backend whose connect is done.
 */
async function preconnected(backend: AgendaBackend): Promise<AgendaBackend> {
  await backend.connect();
  return {
    name: backend.name,
    repository: backend.repository,
    notificationChannel: backend.notificationChannel ? wakeUpsOnly(backend.notificationChannel) : undefined,
    logger: backend.logger,
    ownsConnection: false,
    connect: async () => undefined,
    disconnect: () => backend.disconnect(),
  };
}

/**
 * The channel without its job-state half. Agenda publishes start/success/complete of every run
 * to all instances (three NOTIFYs per job on PostgreSQL, each holding a pool connection); Baton
 * never listens to remote job events, so only "a job was saved, look now" wake-ups go through.
 */
function wakeUpsOnly(channel: NotificationChannel): NotificationChannel {
  const wrapper: NotificationChannel = {
    get state(): NotificationChannelState {
      return channel.state;
    },
    connect: () => channel.connect(),
    disconnect: () => channel.disconnect(),
    subscribe: (handler) => channel.subscribe(handler),
    publish: (notification) => channel.publish(notification),
    on(event: 'stateChange' | 'error', listener: ((state: NotificationChannelState) => void) & ((error: Error) => void)) {
      channel.on(event as 'error', listener);
      return wrapper;
    },
    off(event: 'stateChange' | 'error', listener: ((state: NotificationChannelState) => void) & ((error: Error) => void)) {
      channel.off(event as 'error', listener);
      return wrapper;
    },
  };
  return wrapper;
}

/** Prisma's `?schema=` convention, as in src/store/database.ts: it becomes the search_path. */
export function pgPoolConfig(url: string, max: number): { config: pg.PoolConfig; schema: string | undefined } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error('DATABASE_URL: schema must be a plain identifier');
  return {
    schema,
    config: { connectionString: u.toString(), max, connectionTimeoutMillis: 5000, ...(schema ? { options: `-c search_path=${schema}` } : {}) },
  };
}

export class AgendaJobScheduler implements JobScheduler {
  readonly backendName: string;
  readonly agenda: Agenda;
  private readonly log: Logger;
  private readonly processEveryMs: number;
  private readonly lockLifetimeMs: number;
  private readonly running = new Map<string, number>();
  private lastFinishedAt = 0;
  private started = false;
  private stopped = false;

  constructor(
    backend: AgendaBackend,
    private readonly opts: JobSchedulerOptions & { processEveryMs: number },
    private readonly releaseOwned: () => Promise<void>,
    private readonly bulk?: BulkStatements,
  ) {
    this.backendName = backend.name;
    this.log = opts.log;
    this.processEveryMs = opts.processEveryMs;
    // A job due within one poll period is locked at the poll and waits for its time holding the
    // lock; Agenda skips it if that lock looks expired by then. So the lock must outlive a poll
    // period with room to spare, whatever was asked.
    this.lockLifetimeMs = Math.max(opts.lockLifetimeMs ?? 4000, 2 * this.processEveryMs + 500);
    this.agenda = new Agenda({
      backend,
      name: opts.instanceName ?? `baton-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      processEvery: this.processEveryMs,
      maxConcurrency: Math.max(20, (opts.concurrency ?? 10) * 2),
      defaultConcurrency: opts.concurrency ?? 10,
      defaultLockLimit: opts.lockLimit ?? 100,
      defaultLockLifetime: this.lockLifetimeMs,
      removeOnComplete: true,
    });
    this.agenda.on('error', (err: Error) => this.log.warn({ err: err.message }, 'jobs: scheduler error'));
    // PostgreSQL's LISTEN connection reports a lost database as an 'error' event on the channel.
    // Without a listener Node throws it out of pg's socket handler and the process ends while the
    // database restarts. The channel reconnects by itself; until then jobs are found by polling.
    backend.notificationChannel?.on('error', (err: Error) =>
      this.log.warn({ err: err.message }, 'jobs: the notification channel lost its database connection; polling until it reconnects'),
    );
    this.agenda.on('start', (job: Job, remote?: boolean) => {
      if (remote === true || !job.attrs?._id) return;
      this.running.set(String(job.attrs._id), Date.now());
    });
    this.agenda.on('complete', (job: Job, remote?: boolean) => {
      if (remote === true || !job.attrs?._id) return;
      this.running.delete(String(job.attrs._id));
      this.lastFinishedAt = Date.now();
    });
    this.agenda.on('retry exhausted', (err: Error, job: Job) => {
      const data = job.attrs.data as Partial<StoredData> | undefined;
      this.log.error({ job: job.attrs.name, key: data?.key, err: err.message, failures: job.attrs.failCount }, 'jobs: gave up after repeated failures');
    });
  }

  define<D extends JobData>(name: string, handler: JobHandler<D>): void {
    const policy = this.opts.backoff ?? defaultJobBackoff;
    this.agenda.define<StoredData<D>>(
      name,
      async (job) => {
        const stored = job.attrs.data;
        const renew = this.renewLock(job);
        try {
          await handler({ name, key: stored.key, data: stored.data, runAt: new Date(stored.runAt), attempt: (job.attrs.failCount ?? 0) + 1 });
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          // RetryAfterError is a handler saying "not yet" (e.g. an escalation waiting for the previous step).
          const level = err instanceof RetryAfterError ? 'debug' : 'warn';
          this.log[level]({ job: name, key: stored.key, attempt: (job.attrs.failCount ?? 0) + 1, err: e.message }, 'jobs: handler failed; will retry unless told not to');
          throw e;
        } finally {
          await renew.stop();
        }
      },
      {
        removeOnComplete: true,
        backoff: (ctx) => backoff(ctx.attempt, ctx.error, policy),
      },
    );
  }

  /**
   * Agenda kills a handler that holds its lock longer than the lock lifetime (and another
   * instance may take the job over). A handler waiting on a busy database is alive, so renew.
   */
  private renewLock(job: Job): { stop(): Promise<void> } {
    let inFlight: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      inFlight = job.touch().catch((err: unknown) => this.log.debug({ err: String(err) }, 'jobs: could not renew a lock'));
    }, Math.max(250, Math.floor(this.lockLifetimeMs / 4)));
    return {
      async stop() {
        clearInterval(timer);
        await inFlight;
      },
    };
  }

  async schedule<D extends JobData>(req: ScheduleRequest<D>, opts: ScheduleOptions = {}): Promise<void> {
    const stored: StoredData<D> = { key: req.key, runAt: req.runAt.toISOString(), data: req.data };
    const save = () =>
      this.agenda
        .create<StoredData<D>>(req.name, stored)
        .unique({ 'data.key': req.key }, { insertOnly: opts.replace !== true })
        .schedule(req.runAt)
        .save();
    try {
      await save();
    } catch (err) {
      // Two instances armed the same key at the same moment: the unique index let one insert win.
      // Saving again finds that row (and leaves it, or moves it when replacing).
      if (!isUniqueViolation(err)) throw err;
      await save();
    }
  }

  /**
   * Several insert-only schedules at once. A job due after the next poll needs no wake-up (Agenda
   * ignores a notification for a job due after its next scan, and that scan finds it), so those
   * are inserted in one statement without the per-job SELECT, INSERT and NOTIFY of save(); a job
   * due sooner goes through schedule() as usual.
   */
  async scheduleMany<D extends JobData>(reqs: ScheduleRequest<D>[]): Promise<void> {
    const horizon = Date.now() + this.processEveryMs + 1000;
    const far = this.bulk ? reqs.filter((r) => r.runAt.getTime() > horizon) : [];
    if (far.length) {
      const by = this.agenda.attrs.name || null;
      const iso = (d: unknown) => (d ? new Date(d as Date).toISOString() : null);
      await this.bulk!.insert(
        far.map((req) => {
          const stored: StoredData<D> = { key: req.key, runAt: req.runAt.toISOString(), data: req.data };
          const j = this.agenda.create<StoredData<D>>(req.name, stored).schedule(req.runAt).toJson(true);
          return {
            name: j.name,
            priority: Number(j.priority ?? 0),
            next_run_at: iso(j.nextRunAt)!,
            type: j.type ?? 'normal',
            repeat_timezone: j.repeatTimezone ?? null,
            repeat_interval: j.repeatInterval === undefined || j.repeatInterval === null ? null : String(j.repeatInterval),
            data: j.data,
            repeat_at: j.repeatAt ?? null,
            disabled: j.disabled ?? false,
            fork: j.fork ?? false,
            last_modified_by: by,
            start_date: iso(j.startDate),
            end_date: iso(j.endDate),
            skip_days: j.skipDays ?? null,
          };
        }),
      );
    }
    for (const req of reqs) if (!far.includes(req)) await this.schedule(req);
  }

  async cancel(filter: JobFilter): Promise<number> {
    if (filter.keys && this.bulk) {
      // One statement, the same rows as one cancel per key (Agenda's cancel is a plain delete).
      return filter.keys.length ? this.bulk.removeKeys(filter.name, filter.keys) : 0;
    }
    if (filter.keys) {
      let removed = 0;
      for (const key of filter.keys) removed += await this.agenda.cancel({ ...(filter.name ? { name: filter.name } : {}), data: { key } });
      return removed;
    }
    const options = this.removeOptions(filter);
    return options ? this.agenda.cancel(options) : 0;
  }

  async list<D extends JobData = JobData>(filter: JobFilter = {}): Promise<PendingJob<D>[]> {
    const options = this.removeOptions(filter) ?? {};
    if (filter.keys?.length === 1) options.data = { ...(options.data as object | undefined), key: filter.keys[0] };
    const { jobs } = await this.agenda.queryJobs({
      ...(options.name ? { name: options.name } : {}),
      ...(options.data ? { data: options.data } : {}),
      sort: { nextRunAt: 'asc' },
    });
    const keys = filter.keys ? new Set(filter.keys) : undefined;
    return jobs
      .map((j: JobParameters) => {
        const stored = j.data as StoredData<D>;
        return {
          id: String(j._id),
          name: j.name,
          key: stored.key,
          runAt: j.nextRunAt ?? null,
          data: stored.data,
          lockedAt: j.lockedAt ?? null,
          failCount: j.failCount ?? 0,
        };
      })
      .filter((j) => !keys || keys.has(j.key));
  }

  /** null when the filter names nothing (which must never mean "all jobs"). */
  private removeOptions(filter: JobFilter): RemoveJobsOptions | null {
    const options: RemoveJobsOptions = {};
    if (filter.name) options.name = filter.name;
    if (filter.match && Object.keys(filter.match).length) options.data = { data: filter.match };
    return options.name || options.data !== undefined ? options : null;
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('a stopped job scheduler cannot be started again; create a new one');
    await this.agenda.start();
    this.started = true;
    this.log.info({ backend: this.backendName, processEveryMs: this.processEveryMs }, 'jobs: scheduler started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const stopAt = Date.now();
    if (this.started) {
      // Unlocks jobs this instance had locked but not started, so another instance (or the next
      // start) takes them at once instead of after the lock lifetime.
      await this.agenda.stop(false).catch((err: unknown) => this.log.warn({ err: String(err) }, 'jobs: stop failed'));
      const deadline = stopAt + (this.opts.stopTimeoutMs ?? 10_000);
      while (this.running.size && Date.now() < deadline) await sleep(25);
      if (this.running.size) this.log.warn({ running: this.running.size }, 'jobs: stopped with handlers still running; their jobs will run again after the lock lifetime');
      // Agenda does not clear two kinds of its timers on stop: the local timer of a job due
      // within one poll period, and the liveness check of each run (every max(poll/2, lock/2)).
      // They do nothing once stopped, but they keep the process alive: wait them out so that
      // shutdown (and a test run) ends cleanly.
      const quietAt = Math.max(stopAt + this.processEveryMs, this.lastFinishedAt + Math.max(this.processEveryMs / 2, this.lockLifetimeMs / 2)) + 20;
      if (quietAt > Date.now()) await sleep(quietAt - Date.now());
    }
    await this.releaseOwned().catch((err: unknown) => this.log.warn({ err: String(err) }, 'jobs: closing the connection pool failed'));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
