/**
 * Agenda's JobRepository contract, run against every implementation Baton uses:
 * - SqlJobRepository on the embedded PGlite (the default install),
 * - @agendajs/postgres-backend's PostgresJobRepository on PostgreSQL, with Baton's unlock guard
 *   (src/jobs/agendaScheduler.ts guardedUnlocks; production), and
 * - SqlJobRepository on PostgreSQL too (same SQL under real concurrency).
 * The PostgreSQL ones run when DATABASE_URL is set (CI runs the suite both ways).
 *
 * The cases are those of agenda's shared suite (agenda/agenda packages/agenda/test/shared/
 * repository-test-suite.ts: saveJob, getJobById, queryJobs, removeJobs, getDistinctJobNames,
 * getQueueSize, locking, getNextJobToRun, saveJobState, getJobsOverview), plus the behaviour the
 * scheduler relies on: oldest due first, unique keys, abandoned locks, data filters, one winner.
 */
import pg from 'pg';
import { PostgresJobRepository } from '@agendajs/postgres-backend';
import type { JobParameters, JobRepository } from 'agenda';
import { SqlJobRepository } from '../../src/jobs/sqlJobRepository.js';
import { DEFAULT_JOBS_TABLE, ensureJobSchema } from '../../src/jobs/schema.js';
import { guardedUnlocks, pgPoolConfig } from '../../src/jobs/agendaScheduler.js';
import { pgliteDatabase, postgresDatabase, postgresUrl, type JobsTestDatabase } from './helpers.js';

interface Implementation {
  name: string;
  /** Opens the repository on a fresh database; returns it and a cleanup. */
  open(): Promise<{ repo: JobRepository; clear(): Promise<void>; close(): Promise<void> }>;
}

const implementations: Implementation[] = [
  {
    name: 'SqlJobRepository on PGlite',
    async open() {
      const t = await pgliteDatabase();
      const repo = new SqlJobRepository(t.db.sql);
      await repo.connect();
      return { repo, clear: async () => void (await repo.purgeAllJobs()), close: () => t.drop() };
    },
  },
];
const pgUrl = postgresUrl;
if (pgUrl) {
  implementations.push(
    {
      // What Baton runs with DATABASE_URL: the stock repository with Baton's unlock guard (the stock
      // one alone fails the recovered-then-released case: the job is lost).
      name: 'PostgresJobRepository (@agendajs/postgres-backend, with Baton\'s unlock guard) on PostgreSQL',
      async open() {
        const t: JobsTestDatabase = await postgresDatabase(pgUrl);
        await ensureJobSchema(t.db.sql);
        const pool = new pg.Pool(pgPoolConfig(t.url!, 4).config);
        const stock = new PostgresJobRepository({ pool, ensureSchema: false });
        await stock.connect();
        const repo = guardedUnlocks(stock, pool, DEFAULT_JOBS_TABLE);
        return {
          repo,
          clear: async () => void (await repo.purgeAllJobs()),
          close: async () => {
            await pool.end();
            await t.drop();
          },
        };
      },
    },
    {
      name: 'SqlJobRepository on PostgreSQL',
      async open() {
        const t = await postgresDatabase(pgUrl);
        const repo = new SqlJobRepository(t.db.sql);
        await repo.connect();
        return { repo, clear: async () => void (await repo.purgeAllJobs()), close: () => t.drop() };
      },
    },
  );
}

const inMs = (ms: number) => new Date(Date.now() + ms);
function job(name: string, extra: Partial<JobParameters> = {}): JobParameters {
  return { name, priority: 0, nextRunAt: new Date(), type: 'normal', data: {}, ...extra };
}
const scan = () => {
  const now = new Date();
  return { now, nextScanAt: new Date(now.getTime() + 5000), lockDeadline: new Date(now.getTime() - 600_000) };
};

for (const impl of implementations) {
  describe(`JobRepository contract: ${impl.name}`, () => {
    let repo: JobRepository;
    let handle: Awaited<ReturnType<Implementation['open']>>;

    beforeAll(async () => {
      handle = await impl.open();
      repo = handle.repo;
    });
    afterAll(async () => {
      await handle.close();
    });
    beforeEach(async () => {
      await handle.clear();
    });

    describe('saveJob', () => {
      it('saves a new job and assigns an id', async () => {
        const saved = await repo.saveJob(job('test-job', { priority: 10, data: { foo: 'bar' } }), undefined);
        expect(saved._id).toBeDefined();
        expect(saved).toMatchObject({ name: 'test-job', priority: 10, type: 'normal', data: { foo: 'bar' } });
      });

      it('updates an existing job', async () => {
        const saved = await repo.saveJob(job('update-test', { priority: 5, data: { version: 1 } }), undefined);
        const updated = await repo.saveJob({ ...saved, priority: 20, data: { version: 2 } }, undefined);
        expect(updated._id).toBe(saved._id);
        expect(updated.priority).toBe(20);
        expect(updated.data).toEqual({ version: 2 });
      });

      it('upserts a "single" job by name', async () => {
        const first = await repo.saveJob(job('single-job', { priority: 5, type: 'single', nextRunAt: inMs(60_000), data: { run: 1 } }), undefined);
        const second = await repo.saveJob(job('single-job', { priority: 10, type: 'single', nextRunAt: inMs(120_000), data: { run: 2 } }), undefined);
        expect(second._id).toBe(first._id);
        expect(second.priority).toBe(10);
        expect(second.data).toEqual({ run: 2 });
        expect((await repo.queryJobs({ name: 'single-job' })).total).toBe(1);
      });

      it('keeps the disabled flag', async () => {
        const saved = await repo.saveJob(job('disabled-job', { disabled: true }), undefined);
        expect(saved.disabled).toBe(true);
        expect((await repo.getJobById(String(saved._id)))?.disabled).toBe(true);
      });

      it('with a unique key and insertOnly, returns the existing job unchanged', async () => {
        const at = inMs(60_000);
        const first = await repo.saveJob(job('timer', { nextRunAt: at, data: { key: 'k1', v: 1 }, unique: { 'data.key': 'k1' }, uniqueOpts: { insertOnly: true } }), undefined);
        const again = await repo.saveJob(job('timer', { nextRunAt: inMs(1000), data: { key: 'k1', v: 2 }, unique: { 'data.key': 'k1' }, uniqueOpts: { insertOnly: true } }), undefined);
        expect(again._id).toBe(first._id);
        expect(again.nextRunAt?.getTime()).toBe(at.getTime());
        expect(again.data).toEqual({ key: 'k1', v: 1 });
        expect((await repo.queryJobs({ name: 'timer' })).total).toBe(1);
      });

      it('with a unique key and no insertOnly, moves the existing job', async () => {
        const first = await repo.saveJob(job('timer', { nextRunAt: inMs(60_000), data: { key: 'k2', v: 1 }, unique: { 'data.key': 'k2' } }), undefined);
        const later = inMs(120_000);
        const moved = await repo.saveJob(job('timer', { nextRunAt: later, data: { key: 'k2', v: 2 }, unique: { 'data.key': 'k2' } }), undefined);
        expect(moved._id).toBe(first._id);
        expect(moved.nextRunAt?.getTime()).toBe(later.getTime());
        expect(moved.data).toEqual({ key: 'k2', v: 2 });
      });
    });

    describe('getJobById', () => {
      it('returns the job', async () => {
        const saved = await repo.saveJob(job('get-by-id-test', { priority: 5, data: { key: 'value' } }), undefined);
        const found = await repo.getJobById(String(saved._id));
        expect(found?._id).toBe(saved._id);
        expect(found?.name).toBe('get-by-id-test');
        expect(found?.data).toEqual({ key: 'value' });
      });

      it('returns null for an id that no longer exists', async () => {
        const saved = await repo.saveJob(job('temp-job'), undefined);
        await repo.removeJobs({ id: saved._id! });
        expect(await repo.getJobById(String(saved._id))).toBeNull();
      });
    });

    describe('queryJobs', () => {
      beforeEach(async () => {
        await repo.saveJob(job('job-a', { priority: 10, nextRunAt: inMs(60_000), data: { type: 'alpha', count: 1 } }), undefined);
        await repo.saveJob(job('job-b', { priority: 5, nextRunAt: inMs(120_000), data: { type: 'beta', count: 2 } }), undefined);
        await repo.saveJob(job('job-a', { priority: 15, nextRunAt: inMs(180_000), data: { type: 'alpha', count: 3 } }), undefined);
      });

      it('returns all jobs', async () => {
        const r = await repo.queryJobs();
        expect(r.total).toBe(3);
        expect(r.jobs).toHaveLength(3);
      });
      it('filters by name', async () => {
        const r = await repo.queryJobs({ name: 'job-a' });
        expect(r.total).toBe(2);
        expect(r.jobs.every((j) => j.name === 'job-a')).toBe(true);
      });
      it('filters by several names', async () => {
        expect((await repo.queryJobs({ names: ['job-a', 'job-b'] })).total).toBe(3);
      });
      it('searches names', async () => {
        expect((await repo.queryJobs({ search: 'job' })).total).toBe(3);
      });
      it('pages with skip and limit, counting the total before paging', async () => {
        const r = await repo.queryJobs({ skip: 1, limit: 1 });
        expect(r.jobs).toHaveLength(1);
        expect(r.total).toBe(3);
      });
      it('leaves out disabled jobs when includeDisabled is false', async () => {
        await repo.saveJob(job('disabled-job', { disabled: true }), undefined);
        expect((await repo.queryJobs({ includeDisabled: true })).total).toBe(4);
        expect((await repo.queryJobs({ includeDisabled: false })).total).toBe(3);
      });
      it('filters by data (containment) and sorts by nextRunAt', async () => {
        const r = await repo.queryJobs({ data: { type: 'alpha' }, sort: { nextRunAt: 'asc' } });
        expect(r.jobs.map((j) => (j.data as { count: number }).count)).toEqual([1, 3]);
      });
      it('computes states (scheduled) and filters by them', async () => {
        const r = await repo.queryJobs({ state: 'scheduled' });
        expect(r.total).toBe(3);
        expect(r.jobs.every((j) => j.state === 'scheduled')).toBe(true);
        expect((await repo.queryJobs({ state: 'failed' })).total).toBe(0);
      });
    });

    describe('removeJobs', () => {
      it('removes by name', async () => {
        await repo.saveJob(job('remove-test'), undefined);
        await repo.saveJob(job('remove-test'), undefined);
        await repo.saveJob(job('keep-test'), undefined);
        expect(await repo.removeJobs({ name: 'remove-test' })).toBe(2);
        const rest = await repo.queryJobs();
        expect(rest.total).toBe(1);
        expect(rest.jobs[0]!.name).toBe('keep-test');
      });
      it('removes by id', async () => {
        const saved = await repo.saveJob(job('remove-by-id'), undefined);
        expect(await repo.removeJobs({ id: saved._id! })).toBe(1);
        expect(await repo.getJobById(String(saved._id))).toBeNull();
      });
      it('removes by several ids', async () => {
        const a = await repo.saveJob(job('multi-remove-1'), undefined);
        const b = await repo.saveJob(job('multi-remove-2'), undefined);
        await repo.saveJob(job('keep'), undefined);
        expect(await repo.removeJobs({ ids: [a._id!, b._id!] })).toBe(2);
        expect((await repo.queryJobs()).total).toBe(1);
      });
      it('returns 0 when nothing matches', async () => {
        expect(await repo.removeJobs({ name: 'non-existent' })).toBe(0);
      });
      it('removes by data containment, and nothing for an empty filter', async () => {
        await repo.saveJob(job('sla', { data: { key: 'a', data: { handoffId: 1 } } }), undefined);
        await repo.saveJob(job('sla', { data: { key: 'b', data: { handoffId: 1 } } }), undefined);
        await repo.saveJob(job('sla', { data: { key: 'c', data: { handoffId: 2 } } }), undefined);
        expect(await repo.removeJobs({})).toBe(0);
        expect(await repo.removeJobs({ data: { data: { handoffId: 1 } } })).toBe(2);
        expect((await repo.queryJobs()).jobs.map((j) => (j.data as { key: string }).key)).toEqual(['c']);
      });
    });

    describe('getDistinctJobNames', () => {
      it('returns each name once', async () => {
        await repo.saveJob(job('name-a'), undefined);
        await repo.saveJob(job('name-b'), undefined);
        await repo.saveJob(job('name-a'), undefined);
        const names = await repo.getDistinctJobNames();
        expect([...names].sort()).toEqual(['name-a', 'name-b']);
      });
      it('returns an empty list when there are no jobs', async () => {
        expect(await repo.getDistinctJobNames()).toEqual([]);
      });
    });

    describe('getQueueSize', () => {
      it('counts the jobs that are due', async () => {
        await repo.saveJob(job('past-job-1', { nextRunAt: inMs(-60_000) }), undefined);
        await repo.saveJob(job('past-job-2', { nextRunAt: inMs(-30_000) }), undefined);
        await repo.saveJob(job('future-job', { nextRunAt: inMs(60_000) }), undefined);
        expect(await repo.getQueueSize()).toBe(2);
      });
      it('is 0 when nothing is due', async () => {
        await repo.saveJob(job('future-job', { nextRunAt: inMs(60_000) }), undefined);
        expect(await repo.getQueueSize()).toBe(0);
      });
    });

    describe('locking', () => {
      it('locks a job', async () => {
        const saved = await repo.saveJob(job('lock-test', { nextRunAt: inMs(-1000) }), undefined);
        const locked = await repo.lockJob(saved, undefined);
        expect(locked?._id).toBe(saved._id);
        expect(locked?.lockedAt).toBeInstanceOf(Date);
      });
      it('does not lock a job twice', async () => {
        const saved = await repo.saveJob(job('double-lock-test', { nextRunAt: inMs(-1000) }), undefined);
        expect(await repo.lockJob(saved, undefined)).toBeDefined();
        expect(await repo.lockJob(saved, undefined)).toBeUndefined();
      });
      it('does not lock a job whose schedule moved since it was read', async () => {
        const saved = await repo.saveJob(job('moved', { nextRunAt: inMs(-1000) }), undefined);
        await repo.saveJob({ ...saved, nextRunAt: inMs(60_000) }, undefined);
        expect(await repo.lockJob(saved, undefined)).toBeUndefined();
      });
      it('unlocks a job', async () => {
        const saved = await repo.saveJob(job('unlock-test', { nextRunAt: inMs(-1000) }), undefined);
        const locked = await repo.lockJob(saved, undefined);
        await repo.unlockJob(locked!);
        expect((await repo.getJobById(String(saved._id)))?.lockedAt == null).toBe(true);
      });
      it('unlocks several jobs', async () => {
        const a = await repo.saveJob(job('multi-unlock-1', { nextRunAt: inMs(-1000) }), undefined);
        const b = await repo.saveJob(job('multi-unlock-2', { nextRunAt: inMs(-1000) }), undefined);
        await repo.lockJob(a, undefined);
        await repo.lockJob(b, undefined);
        await repo.unlockJobs([a._id!, b._id!]);
        expect((await repo.getJobById(String(a._id)))?.lockedAt == null).toBe(true);
        expect((await repo.getJobById(String(b._id)))?.lockedAt == null).toBe(true);
      });
      it('keeps the lock of a started one-shot job that another process recovered and released before running it, so a survivor takes it over', async () => {
        // Process A locked it and started it (a one-shot job's next run is cleared when it starts), then died.
        const saved = await repo.saveJob(job('recovered-then-released', { nextRunAt: inMs(-1000) }), undefined);
        const lockedByA = await repo.lockJob(saved, undefined);
        await repo.saveJobState({ ...lockedByA!, nextRunAt: null, lastRunAt: new Date() }, undefined);
        // Process B recovers it once A's lock is past the lock lifetime (a deadline after A's lock)…
        const afterLifetime = () => ({ now: new Date(), nextScanAt: inMs(5000), lockDeadline: inMs(1000) });
        const b = afterLifetime();
        const recovered = await repo.getNextJobToRun('recovered-then-released', b.nextScanAt, b.lockDeadline, b.now, undefined);
        expect(String(recovered?._id)).toBe(String(saved._id));
        // …and is stopped before running it: Agenda releases the jobs it holds.
        await repo.unlockJobs([recovered!._id!]);
        // The lock stays, so after the lifetime a survivor recovers the job instead of it being lost.
        expect((await repo.getJobById(String(saved._id)))?.lockedAt).not.toBeNull();
        const c = afterLifetime();
        const survivor = await repo.getNextJobToRun('recovered-then-released', c.nextScanAt, c.lockDeadline, c.now, undefined);
        expect(String(survivor?._id)).toBe(String(saved._id));
      });
    });

    describe('getNextJobToRun', () => {
      it('finds and locks the next job', async () => {
        await repo.saveJob(job('runner-test', { priority: 5, nextRunAt: inMs(-60_000), data: { order: 'first' } }), undefined);
        const { now, nextScanAt, lockDeadline } = scan();
        const next = await repo.getNextJobToRun('runner-test', nextScanAt, lockDeadline, now, undefined);
        expect(next?.name).toBe('runner-test');
        expect(next?.lockedAt).toBeInstanceOf(Date);
      });
      it('prefers the higher priority when due at the same time', async () => {
        const same = inMs(-60_000);
        await repo.saveJob(job('priority-test', { priority: 5, nextRunAt: same, data: { priority: 'low' } }), undefined);
        await repo.saveJob(job('priority-test', { priority: 10, nextRunAt: same, data: { priority: 'high' } }), undefined);
        const { now, nextScanAt, lockDeadline } = scan();
        const next = await repo.getNextJobToRun('priority-test', nextScanAt, lockDeadline, now, undefined);
        expect(next?.priority).toBe(10);
        expect(next?.data).toEqual({ priority: 'high' });
      });
      it('takes the oldest due job first (timers missed during downtime fire in order)', async () => {
        await repo.saveJob(job('backlog', { nextRunAt: inMs(-10_000), data: { n: 2 } }), undefined);
        await repo.saveJob(job('backlog', { nextRunAt: inMs(-30_000), data: { n: 1 } }), undefined);
        await repo.saveJob(job('backlog', { nextRunAt: inMs(-1_000), data: { n: 3 } }), undefined);
        const order: number[] = [];
        for (;;) {
          const { now, nextScanAt, lockDeadline } = scan();
          const next = await repo.getNextJobToRun('backlog', nextScanAt, lockDeadline, now, undefined);
          if (!next) break;
          order.push((next.data as { n: number }).n);
        }
        expect(order).toEqual([1, 2, 3]);
      });
      it('skips disabled jobs', async () => {
        await repo.saveJob(job('disabled-test', { nextRunAt: inMs(-60_000), disabled: true }), undefined);
        const { now, nextScanAt, lockDeadline } = scan();
        expect(await repo.getNextJobToRun('disabled-test', nextScanAt, lockDeadline, now, undefined)).toBeUndefined();
      });
      it('returns nothing when no job is due before the next scan', async () => {
        await repo.saveJob(job('future-test', { nextRunAt: inMs(60_000) }), undefined);
        const { now, nextScanAt, lockDeadline } = scan();
        expect(await repo.getNextJobToRun('future-test', nextScanAt, lockDeadline, now, undefined)).toBeUndefined();
      });
      it('takes over a job whose lock is older than the deadline (its instance died)', async () => {
        const saved = await repo.saveJob(job('abandoned', { nextRunAt: inMs(-60_000) }), undefined);
        await repo.saveJobState({ ...saved, lockedAt: inMs(-120_000) }, undefined);
        const now = new Date();
        const fresh = await repo.getNextJobToRun('abandoned', inMs(5000), new Date(now.getTime() - 600_000), now, undefined);
        expect(fresh).toBeUndefined();
        const taken = await repo.getNextJobToRun('abandoned', inMs(5000), new Date(now.getTime() - 60_000), now, undefined);
        expect(taken?._id).toBe(saved._id);
        expect(taken?.lockedAt?.getTime()).toBe(now.getTime());
      });
      it('gives a due job to exactly one of many concurrent callers', async () => {
        await repo.saveJob(job('contended', { nextRunAt: inMs(-1000) }), undefined);
        const { now, nextScanAt, lockDeadline } = scan();
        const results = await Promise.all(Array.from({ length: 8 }, () => repo.getNextJobToRun('contended', nextScanAt, lockDeadline, now, undefined)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('saveJobState', () => {
      it('updates the state fields', async () => {
        const saved = await repo.saveJob(job('state-test'), undefined);
        const now = new Date();
        await repo.saveJobState({ ...saved, lastRunAt: now, lastFinishedAt: now, progress: 50, failCount: 1, failReason: 'Test error', failedAt: now }, undefined);
        const got = await repo.getJobById(String(saved._id));
        expect(got?.lastRunAt?.getTime()).toBe(now.getTime());
        expect(got?.lastFinishedAt?.getTime()).toBe(now.getTime());
        expect(got?.progress).toBe(50);
        expect(got?.failCount).toBe(1);
        expect(got?.failReason).toBe('Test error');
        expect(got?.failedAt?.getTime()).toBe(now.getTime());
      });
      it('clears lockedAt when the job completes', async () => {
        const saved = await repo.saveJob(job('complete-test', { nextRunAt: inMs(-1000) }), undefined);
        const locked = await repo.lockJob(saved, undefined);
        await repo.saveJobState({ ...locked!, lockedAt: undefined, lastFinishedAt: new Date() }, undefined);
        expect((await repo.getJobById(String(saved._id)))?.lockedAt == null).toBe(true);
      });
      it('throws when the job was removed meanwhile', async () => {
        const saved = await repo.saveJob(job('gone'), undefined);
        await repo.removeJobs({ id: saved._id! });
        await expect(repo.saveJobState({ ...saved, lastRunAt: new Date() }, undefined)).rejects.toThrow();
      });
    });

    describe('getJobsOverview', () => {
      it('summarises each job name', async () => {
        await repo.saveJob(job('overview-job', { nextRunAt: inMs(60_000) }), undefined);
        await repo.saveJob(job('overview-job', { nextRunAt: null, lastFinishedAt: new Date() }), undefined);
        await repo.saveJob(job('other-job', { nextRunAt: inMs(60_000) }), undefined);
        const overview = await repo.getJobsOverview();
        const o = overview.find((x) => x.name === 'overview-job');
        expect(o?.total).toBe(2);
        expect(o?.scheduled).toBe(1);
        expect(overview.find((x) => x.name === 'other-job')?.total).toBe(1);
      });
    });

    describe('disable, enable, purge', () => {
      it('disables and enables matching jobs', async () => {
        await repo.saveJob(job('toggle', { nextRunAt: inMs(-1000) }), undefined);
        await repo.saveJob(job('other', { nextRunAt: inMs(-1000) }), undefined);
        expect(await repo.disableJobs({ name: 'toggle' })).toBe(1);
        const { now, nextScanAt, lockDeadline } = scan();
        expect(await repo.getNextJobToRun('toggle', nextScanAt, lockDeadline, now, undefined)).toBeUndefined();
        expect(await repo.enableJobs({ name: 'toggle' })).toBe(1);
        expect(await repo.getNextJobToRun('toggle', nextScanAt, lockDeadline, now, undefined)).toBeDefined();
      });
      it('purges every job', async () => {
        await repo.saveJob(job('a'), undefined);
        await repo.saveJob(job('b'), undefined);
        expect(await repo.purgeAllJobs()).toBe(2);
        expect((await repo.queryJobs()).total).toBe(0);
      });
    });
  });
}
