/**
 * The jobs port: persisted one-shot timers with a unique key. The SLA engine (src/sla/) talks to
 * this interface only; `createJobScheduler` (src/jobs/agendaScheduler.ts) implements it with
 * Agenda 6 on the same database as everything else — PostgreSQL through Agenda's postgres backend,
 * or the embedded PGlite through our own repository (src/jobs/sqlJobRepository.ts).
 *
 * Delivery is at least once: a job can run twice (a crash after the effect, two instances racing
 * on an expired lock). Handlers must make their effect idempotent themselves (the SLA engine's
 * `sla_firing` ledger does).
 */

export type JsonScalar = string | number | boolean | null;
export type JsonValue = JsonScalar | JsonValue[] | { [key: string]: JsonValue };
/** What a job carries. Flat JSON; `key` is reserved (the scheduler stores the job's key there). */
export type JobData = { [key: string]: JsonValue };

export interface RunningJob<D extends JobData = JobData> {
  name: string;
  key: string;
  data: D;
  /** When it was due. */
  runAt: Date;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
}

/**
 * Throw `NonRetriableError` (src/retry.ts) to give up, `RetryAfterError` to retry after a given
 * delay; anything else is retried with the scheduler's backoff.
 */
export type JobHandler<D extends JobData = JobData> = (job: RunningJob<D>) => Promise<void>;

export interface ScheduleRequest<D extends JobData = JobData> {
  name: string;
  /** Unique across all jobs: scheduling the same key again does not create a second job. */
  key: string;
  runAt: Date;
  data: D;
}

export interface ScheduleOptions {
  /**
   * false (default): if a job with this key exists, leave it as it is (re-arming after a retried
   * event must not move a timer). true: move the existing job to the new time and data.
   */
  replace?: boolean;
}

export interface JobFilter {
  name?: string;
  keys?: string[];
  /** Jobs whose data contains all of these fields with these values (e.g. { handoffId: 42 }). */
  match?: Record<string, JsonScalar>;
}

export interface PendingJob<D extends JobData = JobData> {
  id: string;
  name: string;
  key: string;
  /** null once it ran (or failed for good). */
  runAt: Date | null;
  data: D;
  lockedAt: Date | null;
  failCount: number;
}

export interface JobScheduler {
  /** "PGlite" or "PostgreSQL", for logs. */
  readonly backendName: string;
  /** Register the handler of a job name; before start(). */
  define<D extends JobData>(name: string, handler: JobHandler<D>): void;
  schedule<D extends JobData>(job: ScheduleRequest<D>, opts?: ScheduleOptions): Promise<void>;
  /** Several insert-only schedules (as schedule() without replace), possibly in one statement. */
  scheduleMany?<D extends JobData>(jobs: ScheduleRequest<D>[]): Promise<void>;
  /** Removes matching jobs (due or not); returns how many. An empty filter removes nothing. */
  cancel(filter: JobFilter): Promise<number>;
  /** Jobs still in the store (scheduled, locked, or failed), oldest first. */
  list<D extends JobData = JobData>(filter?: JobFilter): Promise<PendingJob<D>[]>;
  /** Starts firing jobs: those already due (e.g. while the app was down) first, oldest first. */
  start(): Promise<void>;
  /** Stops taking jobs, lets running ones finish (bounded), releases connections it owns. */
  stop(): Promise<void>;
}
