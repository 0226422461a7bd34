/**
 * Agenda's JobRepository over Baton's SqlClient, for the embedded PGlite database.
 *
 * Why not @agendajs/postgres-backend there: it wants a `pg` Pool (several sessions) and
 * LISTEN/NOTIFY, and PGlite is ONE session — a second connection cannot see NOTIFY and hangs while
 * another holds BEGIN (STACK.md). This repository runs every statement on the same PGlite instance
 * Prisma uses; PGlite serialises statements and transactions itself, so a job lock can never
 * interleave with half of a handoff transaction. Each lock is one `UPDATE … RETURNING` statement,
 * so it is atomic without a second session.
 *
 * Semantics follow Agenda's repository contract (proved by test/jobs/repository.contract.test.ts,
 * which runs the same cases against this class and against the PostgreSQL backend's repository).
 */
import {
  computeJobState,
  toJobId,
  type JobId,
  type JobParameters,
  type JobRepository,
  type JobRepositoryOptions,
  type JobsOverview,
  type JobsQueryOptions,
  type JobsResult,
  type JobsSort,
  type JobWithState,
  type RemoveJobsOptions,
} from 'agenda';
import type { SqlClient } from '../store/sqlClient.js';
import { assertTableName, DEFAULT_JOBS_TABLE, ensureJobSchema } from './schema.js';

interface JobRow {
  id: string;
  name: string;
  priority: number;
  next_run_at: Date | null;
  type: 'normal' | 'single';
  locked_at: Date | null;
  last_finished_at: Date | null;
  failed_at: Date | null;
  fail_count: number | null;
  fail_reason: string | null;
  repeat_timezone: string | null;
  last_run_at: Date | null;
  repeat_interval: string | null;
  data: unknown;
  repeat_at: string | null;
  disabled: boolean | null;
  progress: number | null;
  fork: boolean | null;
  last_modified_by: string | null;
  debounce_started_at: Date | null;
  start_date: Date | null;
  end_date: Date | null;
  skip_days: number[] | null;
}

/** Columns a `unique` constraint may name directly (everything else must be a `data.` path). */
const UNIQUE_COLUMNS: Record<string, string> = {
  name: 'name',
  priority: 'priority',
  type: 'type',
  nextRunAt: 'next_run_at',
  repeatInterval: 'repeat_interval',
  repeatAt: 'repeat_at',
  repeatTimezone: 'repeat_timezone',
  disabled: 'disabled',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Accumulates a WHERE clause with numbered parameters. */
class Where {
  readonly parts: string[] = [];
  readonly params: unknown[];
  constructor(params: unknown[] = []) {
    this.params = [...params];
  }
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  add(sql: string): void {
    this.parts.push(sql);
  }
  get sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

export interface SqlJobRepositoryOptions {
  table?: string;
  /** Create the table on connect (default true). */
  ensureSchema?: boolean;
  /** Default order for picking the next job: Agenda's default is oldest due first, then priority. */
  sort?: { nextRunAt?: 'asc' | 'desc'; priority?: 'asc' | 'desc' };
}

export class SqlJobRepository implements JobRepository {
  private readonly table: string;
  private readonly t: string;

  constructor(
    private readonly sql: SqlClient,
    private readonly opts: SqlJobRepositoryOptions = {},
  ) {
    this.table = assertTableName(opts.table ?? DEFAULT_JOBS_TABLE);
    this.t = `"${this.table}"`;
  }

  async connect(): Promise<void> {
    if (this.opts.ensureSchema !== false) void (await ensureJobSchema(this.sql, this.table));
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  async getJobById(id: string): Promise<JobParameters | null> {
    if (!UUID.test(id)) return null;
    const [row] = await this.sql.query<JobRow>(`SELECT * FROM ${this.t} WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  async queryJobs(options: JobsQueryOptions = {}): Promise<JobsResult> {
    const where = new Where();
    if (options.name) where.add(`name = ${where.param(options.name)}`);
    else if (options.names?.length) where.add(`name = ANY(${where.param(options.names)}::text[])`);
    if (options.id) where.add(UUID.test(options.id) ? `id = ${where.param(options.id)}::uuid` : 'false');
    else if (options.ids?.length) where.add(`id = ANY(${where.param(options.ids.filter((i) => UUID.test(i)))}::uuid[])`);
    if (options.search) where.add(`name ILIKE ${where.param(`%${escapeLike(options.search)}%`)}`);
    if (options.data !== undefined) where.add(`data @> ${where.param(JSON.stringify(options.data))}::jsonb`);
    if (options.includeDisabled === false) where.add('disabled IS NOT TRUE');
    const rows = await this.sql.query<JobRow>(`SELECT * FROM ${this.t} ${where.sql} ORDER BY ${orderBy(options.sort)}`, where.params);
    const now = new Date();
    // States are derived from timestamps (Agenda's computeJobState), so filter after reading.
    let jobs: JobWithState[] = rows
      .map((r) => {
        const job = toJob(r);
        return { ...job, _id: job._id!, state: computeJobState(job, now) };
      })
      .filter((j) => !options.state || (options.state === 'paused' ? j.disabled === true : j.state === options.state));
    const total = jobs.length;
    const skip = Math.max(0, options.skip ?? 0);
    const limit = Math.max(0, options.limit ?? 0);
    if (skip || limit) jobs = jobs.slice(skip, limit ? skip + limit : undefined);
    return { jobs, total };
  }

  async getJobsOverview(): Promise<JobsOverview[]> {
    const rows = await this.sql.query<JobRow>(`SELECT * FROM ${this.t} ORDER BY name`);
    const now = new Date();
    const byName = new Map<string, JobsOverview>();
    for (const row of rows) {
      const job = toJob(row);
      let o = byName.get(job.name);
      if (!o) {
        o = { name: job.name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
        byName.set(job.name, o);
      }
      o.total++;
      o[computeJobState(job, now)]++;
      if (job.disabled === true) o.paused++;
    }
    return [...byName.values()];
  }

  async getDistinctJobNames(): Promise<string[]> {
    const rows = await this.sql.query<{ name: string }>(`SELECT DISTINCT name FROM ${this.t} ORDER BY name`);
    return rows.map((r) => r.name);
  }

  async getQueueSize(): Promise<number> {
    const [row] = await this.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t} WHERE next_run_at < $1`, [new Date()]);
    return row?.n ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Bulk changes

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    const where = filterOf(options);
    if (!where) return 0;
    return this.count(`DELETE FROM ${this.t} ${where.sql} RETURNING 1`, where.params);
  }

  async disableJobs(options: RemoveJobsOptions): Promise<number> {
    const where = filterOf(options);
    if (!where) return 0;
    return this.count(`UPDATE ${this.t} SET disabled = TRUE ${where.sql} RETURNING 1`, where.params);
  }

  async enableJobs(options: RemoveJobsOptions): Promise<number> {
    const where = filterOf(options);
    if (!where) return 0;
    return this.count(`UPDATE ${this.t} SET disabled = FALSE ${where.sql} RETURNING 1`, where.params);
  }

  async purgeAllJobs(): Promise<number> {
    return this.count(`DELETE FROM ${this.t} RETURNING 1`, []);
  }

  // ---------------------------------------------------------------------------------------------
  // Saving

  async saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined = undefined): Promise<JobParameters<DATA>> {
    const by = options?.lastModifiedBy ?? null;
    const { _id, unique, uniqueOpts, ...props } = job;
    if (_id) {
      const [row] = await this.sql.query<JobRow>(
        `UPDATE ${this.t} SET priority = $3, next_run_at = $4, type = $5, repeat_timezone = $6, repeat_interval = $7,
           data = $8::jsonb, repeat_at = $9, disabled = $10, fork = $11, fail_reason = $12, fail_count = $13, failed_at = $14,
           last_modified_by = $15, start_date = $16, end_date = $17, skip_days = $18::jsonb
         WHERE id = $1 AND name = $2 RETURNING *`,
        [
          String(_id),
          props.name,
          ...userFields(props),
          props.failReason ?? null,
          props.failCount ?? null,
          props.failedAt ?? null,
          by,
          props.startDate ?? null,
          props.endDate ?? null,
          jsonOrNull(props.skipDays),
        ],
      );
      // Removed meanwhile (e.g. cancelled while it ran): nothing to update, hand back what we got.
      return row ? (toJob(row) as JobParameters<DATA>) : job;
    }

    if (props.type === 'single') {
      // One row per name. A past nextRunAt must not pull an existing schedule forward (Agenda's
      // `every()` re-saves its definition on every start).
      const keepExisting = props.nextRunAt !== null && props.nextRunAt.getTime() <= Date.now();
      const [row] = await this.sql.query<JobRow>(
        `INSERT INTO ${this.t} AS j (name, priority, next_run_at, type, repeat_timezone, repeat_interval, data, repeat_at, disabled, fork,
           last_modified_by, start_date, end_date, skip_days)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14::jsonb)
         ON CONFLICT ((name)) WHERE type = 'single' DO UPDATE SET
           priority = EXCLUDED.priority,
           next_run_at = ${keepExisting ? 'COALESCE(j.next_run_at, EXCLUDED.next_run_at)' : 'EXCLUDED.next_run_at'},
           repeat_timezone = EXCLUDED.repeat_timezone, repeat_interval = EXCLUDED.repeat_interval, data = EXCLUDED.data,
           repeat_at = EXCLUDED.repeat_at, disabled = EXCLUDED.disabled, fork = EXCLUDED.fork,
           last_modified_by = EXCLUDED.last_modified_by, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
           skip_days = EXCLUDED.skip_days
         RETURNING *`,
        [props.name, ...userFields(props), by, props.startDate ?? null, props.endDate ?? null, jsonOrNull(props.skipDays)],
      );
      return toJob(row!) as JobParameters<DATA>;
    }

    if (unique && Object.keys(unique).length) {
      return this.sql.transaction(async (tx) => {
        const where = new Where([props.name]);
        where.add('name = $1');
        for (const [field, value] of Object.entries(unique)) {
          if (field.startsWith('data.')) {
            const path = field.slice(5).split('.');
            where.add(`data #>> ${where.param(path)}::text[] = ${where.param(value === null ? null : String(value))}`);
          } else {
            const column = UNIQUE_COLUMNS[field];
            if (!column) throw new Error(`unique constraint on "${field}" is not supported; use a data.<path> field`);
            where.add(`${column} = ${where.param(value)}`);
          }
        }
        const [existing] = await tx.query<JobRow>(`SELECT * FROM ${this.t} ${where.sql} ORDER BY created_at LIMIT 1 FOR UPDATE`, where.params);
        const debounce = uniqueOpts?.debounce;
        const now = new Date();
        let nextRunAt = props.nextRunAt ?? null;
        let debounceStartedAt: Date | null = null;
        if (existing) {
          if (uniqueOpts?.insertOnly && !debounce) return toJob(existing) as JobParameters<DATA>;
          if (debounce) {
            const startedAt = existing.debounce_started_at ?? now;
            if (debounce.strategy === 'leading') {
              nextRunAt = existing.next_run_at;
              debounceStartedAt = startedAt;
            } else if (debounce.maxWait !== undefined && now.getTime() - startedAt.getTime() >= debounce.maxWait) {
              nextRunAt = now;
            } else {
              nextRunAt = new Date(now.getTime() + debounce.delay);
              debounceStartedAt = startedAt;
            }
          }
          const [row] = await tx.query<JobRow>(
            `UPDATE ${this.t} SET priority = $2, next_run_at = $3, type = $4, repeat_timezone = $5, repeat_interval = $6, data = $7::jsonb,
               repeat_at = $8, disabled = $9, fork = $10, last_modified_by = $11, debounce_started_at = $12, start_date = $13,
               end_date = $14, skip_days = $15::jsonb
             WHERE id = $1 RETURNING *`,
            [existing.id, ...userFields({ ...props, nextRunAt }), by, debounceStartedAt, props.startDate ?? null, props.endDate ?? null, jsonOrNull(props.skipDays)],
          );
          return toJob(row!) as JobParameters<DATA>;
        }
        if (debounce) {
          debounceStartedAt = now;
          if (debounce.strategy !== 'leading') nextRunAt = new Date(now.getTime() + debounce.delay);
        }
        return (await this.insert(tx, { ...props, nextRunAt }, by, debounceStartedAt)) as JobParameters<DATA>;
      });
    }

    return (await this.insert(this.sql, props, by, null)) as JobParameters<DATA>;
  }

  private async insert(sql: SqlClient, props: Omit<JobParameters, '_id' | 'unique' | 'uniqueOpts'>, by: string | null, debounceStartedAt: Date | null): Promise<JobParameters> {
    const [row] = await sql.query<JobRow>(
      `INSERT INTO ${this.t} (name, priority, next_run_at, type, repeat_timezone, repeat_interval, data, repeat_at, disabled, fork,
         last_modified_by, debounce_started_at, start_date, end_date, skip_days)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15::jsonb) RETURNING *`,
      [props.name, ...userFields(props), by, debounceStartedAt, props.startDate ?? null, props.endDate ?? null, jsonOrNull(props.skipDays)],
    );
    return toJob(row!);
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined = undefined): Promise<void> {
    if (!job._id) throw new Error('Cannot save the state of a job without an id');
    const rows = await this.sql.query(
      `UPDATE ${this.t} SET locked_at = $3, next_run_at = $4, last_run_at = $5, progress = $6, fail_reason = $7, fail_count = $8,
         failed_at = $9, last_finished_at = $10, last_modified_by = $11
       WHERE id = $1 AND name = $2 RETURNING 1`,
      [
        String(job._id),
        job.name,
        job.lockedAt ?? null,
        job.nextRunAt ?? null,
        job.lastRunAt ?? null,
        job.progress ?? null,
        job.failReason ?? null,
        job.failCount ?? null,
        job.failedAt ?? null,
        job.lastFinishedAt ?? null,
        options?.lastModifiedBy ?? null,
      ],
    );
    // Agenda relies on this throwing when the job was removed while it ran.
    if (rows.length !== 1) throw new Error(`job ${String(job._id)} (${job.name}) no longer exists; its state was not saved`);
  }

  // ---------------------------------------------------------------------------------------------
  // Locking

  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined = undefined): Promise<JobParameters | undefined> {
    if (!job._id || !job.nextRunAt) return undefined;
    // Only the exact schedule the caller saw: if it was moved meanwhile, the caller must re-read.
    const [row] = await this.sql.query<JobRow>(
      `UPDATE ${this.t} SET locked_at = $4, last_modified_by = $5
       WHERE id = $1 AND name = $2 AND locked_at IS NULL AND next_run_at = $3 AND disabled IS NOT TRUE
       RETURNING *`,
      [String(job._id), job.name, job.nextRunAt, new Date(), options?.lastModifiedBy ?? null],
    );
    return row ? toJob(row) : undefined;
  }

  async unlockJob(job: JobParameters): Promise<void> {
    if (!job._id) return;
    // A job whose nextRunAt is null is running its last run right now; leave its lock alone.
    await this.sql.query(`UPDATE ${this.t} SET locked_at = NULL WHERE id = $1 AND next_run_at IS NOT NULL`, [String(job._id)]);
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    const ids = jobIds.map(String).filter((id) => UUID.test(id));
    if (!ids.length) return;
    await this.sql.query(`UPDATE ${this.t} SET locked_at = NULL WHERE id = ANY($1::uuid[]) AND next_run_at IS NOT NULL`, [ids]);
  }

  async getNextJobToRun(
    jobName: string,
    nextScanAt: Date,
    lockDeadline: Date,
    now: Date | undefined = undefined,
    options: JobRepositoryOptions | undefined = undefined,
  ): Promise<JobParameters | undefined> {
    const sort = this.opts.sort ?? {};
    // One statement: find the oldest due (or abandoned: lock older than the deadline) job and lock it.
    const [row] = await this.sql.query<JobRow>(
      `UPDATE ${this.t} SET locked_at = $1, last_modified_by = $5
       WHERE id = (
         SELECT id FROM ${this.t}
         WHERE name = $2 AND disabled IS NOT TRUE
           AND ((locked_at IS NULL AND next_run_at <= $3) OR locked_at <= $4)
         ORDER BY next_run_at ${sort.nextRunAt === 'desc' ? 'DESC' : 'ASC'} NULLS LAST, priority ${sort.priority === 'asc' ? 'ASC' : 'DESC'}
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [now ?? new Date(), jobName, nextScanAt, lockDeadline, options?.lastModifiedBy ?? null],
    );
    return row ? toJob(row) : undefined;
  }

  private async count(statement: string, params: unknown[]): Promise<number> {
    const [row] = await this.sql.query<{ n: number }>(`WITH changed AS (${statement}) SELECT count(*)::int AS n FROM changed`, params);
    return row?.n ?? 0;
  }
}

// -----------------------------------------------------------------------------------------------

/** The fields a caller sets on a job (positions $2…$10 of the statements above, after name). */
function userFields(p: Pick<JobParameters, 'priority' | 'nextRunAt' | 'type' | 'repeatTimezone' | 'repeatInterval' | 'data' | 'repeatAt' | 'disabled' | 'fork'>): unknown[] {
  return [
    p.priority ?? 0,
    p.nextRunAt ?? null,
    p.type ?? 'normal',
    p.repeatTimezone ?? null,
    p.repeatInterval === undefined ? null : String(p.repeatInterval),
    p.data === undefined ? null : JSON.stringify(p.data),
    p.repeatAt ?? null,
    p.disabled ?? false,
    p.fork ?? false,
  ];
}

function jsonOrNull(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

function toJob(r: JobRow): JobParameters {
  const job: JobParameters = {
    _id: toJobId(r.id),
    name: r.name,
    priority: r.priority,
    nextRunAt: r.next_run_at,
    type: r.type,
    data: r.data,
    disabled: r.disabled ?? false,
  };
  // Agenda treats "absent" and "set" differently for several fields, so only copy what is set.
  if (r.locked_at) job.lockedAt = r.locked_at;
  if (r.last_finished_at) job.lastFinishedAt = r.last_finished_at;
  if (r.failed_at) job.failedAt = r.failed_at;
  if (r.fail_count !== null) job.failCount = r.fail_count;
  if (r.fail_reason !== null) job.failReason = r.fail_reason;
  if (r.repeat_timezone !== null) job.repeatTimezone = r.repeat_timezone;
  if (r.last_run_at) job.lastRunAt = r.last_run_at;
  if (r.repeat_interval !== null) job.repeatInterval = r.repeat_interval;
  if (r.repeat_at !== null) job.repeatAt = r.repeat_at;
  if (r.progress !== null) job.progress = r.progress;
  if (r.fork) job.fork = true;
  if (r.last_modified_by !== null) job.lastModifiedBy = r.last_modified_by;
  if (r.debounce_started_at) job.debounceStartedAt = r.debounce_started_at;
  if (r.start_date) job.startDate = r.start_date;
  if (r.end_date) job.endDate = r.end_date;
  if (r.skip_days) job.skipDays = r.skip_days;
  return job;
}

function filterOf(o: RemoveJobsOptions): Where | null {
  const where = new Where();
  if (o.id !== undefined) where.add(UUID.test(String(o.id)) ? `id = ${where.param(String(o.id))}::uuid` : 'false');
  else if (o.ids?.length) where.add(`id = ANY(${where.param(o.ids.map(String).filter((i) => UUID.test(i)))}::uuid[])`);
  if (o.name) where.add(`name = ${where.param(o.name)}`);
  else if (o.names?.length) where.add(`name = ANY(${where.param(o.names)}::text[])`);
  else if (o.notNames?.length) where.add(`name <> ALL(${where.param(o.notNames)}::text[])`);
  if (o.data !== undefined) where.add(`data @> ${where.param(JSON.stringify(o.data))}::jsonb`);
  // No criteria must never mean "everything" (purgeAllJobs is the explicit way).
  return where.parts.length ? where : null;
}

function orderBy(sort: JobsSort | undefined): string {
  if (!sort) return 'next_run_at DESC NULLS LAST, last_run_at DESC NULLS LAST';
  const dir = (d: 'asc' | 'desc') => (d === 'asc' ? 'ASC' : 'DESC');
  const parts: string[] = [];
  if (sort.nextRunAt !== undefined) parts.push(`next_run_at ${dir(sort.nextRunAt)} NULLS LAST`);
  if (sort.lastRunAt !== undefined) parts.push(`last_run_at ${dir(sort.lastRunAt)} NULLS LAST`);
  if (sort.lastFinishedAt !== undefined) parts.push(`last_finished_at ${dir(sort.lastFinishedAt)} NULLS LAST`);
  if (sort.priority !== undefined) parts.push(`priority ${dir(sort.priority)}`);
  if (sort.name !== undefined) parts.push(`name ${dir(sort.name)}`);
  return parts.length ? parts.join(', ') : 'next_run_at DESC NULLS LAST, last_run_at DESC NULLS LAST';
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
