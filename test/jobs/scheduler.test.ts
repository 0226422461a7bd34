/**
 * The JobScheduler port with real Agenda: on the embedded PGlite (our backend) and, with
 * DATABASE_URL, on PostgreSQL (Agenda's postgres backend, LISTEN/NOTIFY). Timers are seconds or
 * less; nothing sleeps for long.
 */
import { NonRetriableError } from '../../src/retry.js';
import { createJobScheduler, type AgendaJobScheduler } from '../../src/jobs/agendaScheduler.js';
import type { JobData, RunningJob } from '../../src/jobs/scheduler.js';
import { silentLog } from '../helpers/baton.js';
import { backends, postgresDatabase, postgresUrl, sleep, waitFor, type JobsTestDatabase } from './helpers.js';

interface Fired {
  key: string;
  data: JobData;
  runAt: Date;
  firedAt: number;
  attempt: number;
}

function recorder() {
  const fired: Fired[] = [];
  const handler = async (job: RunningJob) => {
    fired.push({ key: job.key, data: job.data, runAt: job.runAt, firedAt: Date.now(), attempt: job.attempt });
  };
  return { fired, handler };
}

// Short lock lifetime: stop() waits out Agenda's liveness timers (half of it), keep cases quick.
const fast = { backoff: { baseMs: 100, maxMs: 200, maxAttempts: 3 }, processEveryMs: 500, lockLifetimeMs: 1500 };

for (const backend of backends) {
  describe(`JobScheduler on ${backend.name}`, () => {
    let t: JobsTestDatabase;
    const schedulers: AgendaJobScheduler[] = [];
    const open = async (extra: Partial<Parameters<typeof createJobScheduler>[0]> = {}) => {
      const s = await createJobScheduler({ db: t.db, databaseUrl: t.url, log: silentLog, ...fast, ...extra });
      schedulers.push(s);
      return s;
    };

    // One database per backend (opening PGlite costs seconds); each case starts from no jobs.
    beforeAll(async () => {
      t = await backend.open();
    });
    afterAll(async () => {
      await t.drop();
    });
    afterEach(async () => {
      await Promise.all(schedulers.splice(0).map((s) => s.stop()));
      await t.db.sql.query('DELETE FROM agenda_jobs');
    });

    it('fires a job at its time with its key and data, then removes it', async () => {
      const s = await open();
      const { fired, handler } = recorder();
      s.define('timer', handler);
      await s.start();
      const runAt = new Date(Date.now() + 700);
      await s.schedule({ name: 'timer', key: 'k1', runAt, data: { handoffId: 7, step: 'nudge' } });
      await waitFor(() => fired.length === 1);
      expect(fired[0]).toMatchObject({ key: 'k1', data: { handoffId: 7, step: 'nudge' }, attempt: 1 });
      expect(fired[0]!.runAt.getTime()).toBe(runAt.getTime());
      const late = fired[0]!.firedAt - runAt.getTime();
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(1000);
      await waitFor(async () => (await s.list({ name: 'timer' })).length === 0);
    });

    it('keeps one job per key: re-arming leaves it alone, replace moves it', async () => {
      const s = await open();
      const first = new Date(Date.now() + 60_000);
      await s.schedule({ name: 'timer', key: 'same', runAt: first, data: { v: 1 } });
      await s.schedule({ name: 'timer', key: 'same', runAt: new Date(Date.now() + 1000), data: { v: 2 } });
      let jobs = await s.list({ keys: ['same'] });
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.runAt?.getTime()).toBe(first.getTime());
      expect(jobs[0]!.data).toEqual({ v: 1 });
      const moved = new Date(Date.now() + 120_000);
      await s.schedule({ name: 'timer', key: 'same', runAt: moved, data: { v: 3 } }, { replace: true });
      jobs = await s.list({ keys: ['same'] });
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.runAt?.getTime()).toBe(moved.getTime());
      expect(jobs[0]!.data).toEqual({ v: 3 });
    });

    it('arms one job when many callers race on the same key', async () => {
      const s = await open();
      const runAt = new Date(Date.now() + 60_000);
      await Promise.all(Array.from({ length: 10 }, (_, i) => s.schedule({ name: 'timer', key: 'raced', runAt, data: { i } })));
      expect(await s.list({ keys: ['raced'] })).toHaveLength(1);
    });

    it('cancels by data fields and by key, never everything for an empty filter', async () => {
      const s = await open();
      const later = new Date(Date.now() + 60_000);
      await s.schedule({ name: 'timer', key: 'a', runAt: later, data: { handoffId: 1 } });
      await s.schedule({ name: 'timer', key: 'b', runAt: later, data: { handoffId: 1 } });
      await s.schedule({ name: 'timer', key: 'c', runAt: later, data: { handoffId: 2 } });
      await s.schedule({ name: 'timer', key: 'd', runAt: later, data: { handoffId: 3 } });
      expect(await s.cancel({})).toBe(0);
      expect(await s.cancel({ match: { handoffId: 1 } })).toBe(2);
      expect(await s.cancel({ keys: ['c', 'nope'] })).toBe(1);
      expect((await s.list()).map((j) => j.key)).toEqual(['d']);
    });

    it('fires jobs that came due while it was stopped promptly after start, oldest first', async () => {
      const s = await open({ concurrency: 1 });
      const { fired, handler } = recorder();
      s.define('timer', handler);
      const now = Date.now();
      // Saved while no scheduler runs (as if the app was down when they came due).
      for (const [key, ago] of [['b', 20_000], ['c', 5_000], ['a', 60_000]] as const) {
        await s.schedule({ name: 'timer', key, runAt: new Date(now - ago), data: {} });
      }
      const startedAt = Date.now();
      await s.start();
      await waitFor(() => fired.length === 3);
      expect(fired.map((f) => f.key)).toEqual(['a', 'b', 'c']);
      expect(fired[2]!.firedAt - startedAt).toBeLessThan(1500);
    });

    it('retries a failing handler with backoff, and gives up on NonRetriableError', async () => {
      const s = await open();
      const attempts: { key: string; attempt: number }[] = [];
      s.define('flaky', async (job) => {
        attempts.push({ key: job.key, attempt: job.attempt });
        if (job.key === 'fatal') throw new NonRetriableError('channel_not_found');
        if (job.attempt < 3) throw new Error('database busy');
      });
      await s.start();
      await s.schedule({ name: 'flaky', key: 'transient', runAt: new Date(), data: {} });
      await s.schedule({ name: 'flaky', key: 'fatal', runAt: new Date(), data: {} });
      await waitFor(() => attempts.filter((a) => a.key === 'transient').length === 3);
      await waitFor(async () => (await s.list({ keys: ['transient'] })).length === 0);
      await sleep(400);
      expect(attempts.filter((a) => a.key === 'transient').map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(attempts.filter((a) => a.key === 'fatal').map((a) => a.attempt)).toEqual([1]);
      // Given up for good: the job stays, with its failure, for an operator to see.
      const [fatal] = await s.list({ keys: ['fatal'] });
      expect(fatal?.failCount).toBe(1);
      expect(fatal?.runAt).toBeNull();
    });

    it('survives a restart: a job armed before stop fires on a new scheduler on the same database', async () => {
      const first = await open();
      first.define('timer', async () => {
        throw new Error('the first instance must not run it');
      });
      await first.start();
      const runAt = new Date(Date.now() + 1500);
      await first.schedule({ name: 'timer', key: 'durable', runAt, data: { n: 1 } });
      await first.stop();
      const second = await open();
      const { fired, handler } = recorder();
      second.define('timer', handler);
      await second.start();
      await waitFor(() => fired.length === 1);
      expect(fired[0]!.key).toBe('durable');
      expect(fired[0]!.firedAt - runAt.getTime()).toBeLessThan(600);
    });
  });
}

const pgUrl = postgresUrl;
if (pgUrl) {
  describe('two schedulers on one PostgreSQL database', () => {
    let t: JobsTestDatabase;
    beforeAll(async () => {
      t = await postgresDatabase(pgUrl);
    });
    afterAll(async () => {
      await t.drop();
    });

    it('create the schema concurrently without racing, and fire each job exactly once', async () => {
      const [a, b] = await Promise.all([
        createJobScheduler({ db: t.db, databaseUrl: t.url, log: silentLog, instanceName: 'a' }),
        createJobScheduler({ db: t.db, databaseUrl: t.url, log: silentLog, instanceName: 'b' }),
      ]);
      const fired: { key: string; by: string }[] = [];
      a.define('timer', async (job) => void fired.push({ key: job.key, by: 'a' }));
      b.define('timer', async (job) => void fired.push({ key: job.key, by: 'b' }));
      await Promise.all([a.start(), b.start()]);
      try {
        const base = Date.now() + 500;
        // Armed from both sides, the same keys twice over: still one job per key.
        await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).schedule({ name: 'timer', key: `k${i % 20}`, runAt: new Date(base + (i % 20) * 25), data: {} })),
        );
        await waitFor(() => fired.length >= 20);
        await sleep(1500);
        expect(fired).toHaveLength(20);
        expect(new Set(fired.map((f) => f.key)).size).toBe(20);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
}
