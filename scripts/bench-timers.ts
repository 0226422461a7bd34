/**
 * Timer lateness of the Agenda job scheduler (src/jobs/) with 10,000 pending timers, on the
 * embedded PGlite and on PostgreSQL, with the production settings of createJobScheduler.
 *
 *   npx tsx scripts/bench-timers.ts                      PGlite (data directory in a temp dir)
 *   DATABASE_URL=postgresql://… npx tsx scripts/bench-timers.ts   PGlite, then PostgreSQL
 *   options: --timers 10000  --window 60  --probes 500  --only pglite|postgres  --memory  --poll <ms>
 *
 * Scenarios (lateness = when the handler started − when the timer was due):
 *   steady   N timers pending at start, due uniformly over the next `window` seconds; all fire.
 *   probes   N timers pending an hour out (a big table), plus `probes` timers armed through the
 *            port while it runs, each 0.3–8 s ahead (how SLA timers are armed from the outbox).
 *   backlog  N timers already overdue when the scheduler starts (the app was down): how fast they
 *            drain, and whether they fire oldest first.
 * Handlers are trivial: this measures the scheduler and its database, not the SLA effects.
 * PostgreSQL runs in a throw-away schema that is dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openDatabase, type Database } from '../src/store/database.js';
import { openScratchPostgres } from './scratchDatabase.js';
import { createJobScheduler, type AgendaJobScheduler } from '../src/jobs/agendaScheduler.js';
import { ensureJobSchema } from '../src/jobs/schema.js';

const { values: args } = parseArgs({
  options: {
    timers: { type: 'string', default: '10000' },
    window: { type: 'string', default: '60' },
    probes: { type: 'string', default: '500' },
    only: { type: 'string' },
    memory: { type: 'boolean', default: false },
    /** Override Agenda's poll period (ms); default: the production setting per backend. */
    poll: { type: 'string' },
  },
});
const N = Number(args.timers);
const WINDOW_MS = Number(args.window) * 1000;
const PROBES = Number(args.probes);
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const JOB = 'bench.timer';

interface Target {
  name: string;
  open(): Promise<{ db: Database; url: string | undefined; close(): Promise<void> }>;
}

const targets: Target[] = [];
if (args.only !== 'postgres') {
  targets.push({
    name: args.memory ? 'PGlite (in memory)' : 'PGlite (data directory on disk)',
    async open() {
      const dir = args.memory ? undefined : await mkdtemp(join(tmpdir(), 'baton-bench-'));
      const db = await openDatabase({ dataDir: dir ? join(dir, 'pglite') : 'memory://' });
      return {
        db,
        url: undefined,
        async close() {
          await db.close();
          if (dir) await rm(dir, { recursive: true, force: true });
        },
      };
    },
  });
}
const base = process.env.DATABASE_URL;
if (base && args.only !== 'pglite') {
  targets.push({ name: 'PostgreSQL (LISTEN/NOTIFY)', open: () => openScratchPostgres(base) });
}

// -------------------------------------------------------------------------------------------------

/** Bulk-inserts timers shaped exactly like the ones the scheduler saves (key, runAt, data). */
async function insertTimers(db: Database, dueTimes: Date[], tag: string): Promise<void> {
  for (let i = 0; i < dueTimes.length; i += 2000) {
    const slice = dueTimes.slice(i, i + 2000);
    const keys = slice.map((_, j) => `bench:${tag}:${i + j}:${randomUUID()}`);
    const runAts = slice.map((d) => d.toISOString());
    const seqs = slice.map((_, j) => i + j);
    await db.sql.query(
      `INSERT INTO agenda_jobs (name, priority, next_run_at, type, data, disabled)
       SELECT $1, 0, r::timestamptz, 'normal', jsonb_build_object('key', k, 'runAt', r, 'data', jsonb_build_object('seq', s, 'tag', $2::text)), false
       FROM unnest($3::text[], $4::text[], $5::int[]) AS t(k, r, s)`,
      [JOB, tag, keys, runAts, seqs],
    );
  }
}

function stats(latenessMs: number[]): { n: number; p50: number; p90: number; p99: number; max: number; min: number } {
  const s = [...latenessMs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, min: s[0] ?? NaN, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] ?? NaN };
}

async function withScheduler<T>(
  db: Database,
  url: string | undefined,
  onFire: (data: { seq: number; tag: string }, runAt: Date, firedAt: number) => void,
  body: (s: AgendaJobScheduler) => Promise<T>,
): Promise<T> {
  const s = await createJobScheduler({ db, databaseUrl: url, log, ...(args.poll ? { processEveryMs: Number(args.poll) } : {}) });
  s.define<{ seq: number; tag: string }>(JOB, async (job) => onFire(job.data, job.runAt, Date.now()));
  await s.start();
  try {
    return await body(s);
  } finally {
    await s.stop();
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function clear(db: Database): Promise<void> {
  await db.sql.query('DELETE FROM agenda_jobs');
}

async function steady(db: Database, url: string | undefined) {
  await clear(db);
  const start = Date.now() + 3000;
  const due = Array.from({ length: N }, (_, i) => new Date(start + Math.floor((i * WINDOW_MS) / N)));
  await insertTimers(db, due, 'steady');
  const late: number[] = [];
  await withScheduler(db, url, (_d, runAt, firedAt) => void late.push(firedAt - runAt.getTime()), async () => {
    await waitUntil(() => late.length >= N, WINDOW_MS + 120_000);
  });
  return { fired: late.length, ...stats(late) };
}

async function probes(db: Database, url: string | undefined) {
  await clear(db);
  const hour = Date.now() + 3_600_000;
  await insertTimers(db, Array.from({ length: N }, (_, i) => new Date(hour + i * 100)), 'parked');
  const late: number[] = [];
  await withScheduler(db, url, (d, runAt, firedAt) => {
    if (d.tag === 'probe') late.push(firedAt - runAt.getTime());
  }, async (s) => {
    const spanMs = 20_000;
    const t0 = Date.now();
    for (let i = 0; i < PROBES; i++) {
      // Arm probes over ~20 s, each 0.3–8 s ahead, like timers armed from handoff events.
      const armAt = t0 + Math.floor((i * spanMs) / PROBES);
      if (armAt > Date.now()) await new Promise((r) => setTimeout(r, armAt - Date.now()));
      const ahead = 300 + Math.floor(Math.random() * 7700);
      await s.schedule({ name: JOB, key: `probe:${i}:${randomUUID()}`, runAt: new Date(Date.now() + ahead), data: { seq: i, tag: 'probe' } });
    }
    await waitUntil(() => late.length >= PROBES, 60_000);
  });
  return { fired: late.length, pendingParked: N, ...stats(late) };
}

async function backlog(db: Database, url: string | undefined) {
  await clear(db);
  const now = Date.now();
  // Came due over the last ten minutes while the app was down.
  await insertTimers(db, Array.from({ length: N }, (_, i) => new Date(now - 600_000 + Math.floor((i * 600_000) / N))), 'backlog');
  const order: number[] = [];
  let firstAt = 0;
  const startedAt = Date.now();
  let drainedAt = 0;
  await withScheduler(db, url, (d, _runAt, firedAt) => {
    if (!firstAt) firstAt = firedAt;
    order.push(d.seq);
  }, async () => {
    await waitUntil(() => order.length >= N, 600_000);
    drainedAt = Date.now();
  });
  // Jobs run concurrently (10 at a time), so "oldest first" is about start order, within a batch.
  let inversions = 0;
  for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]! - 50) inversions++;
  return {
    fired: order.length,
    firstFiredAfterStartMs: firstAt - startedAt,
    drainSeconds: Math.round((drainedAt - startedAt) / 100) / 10,
    perSecond: Math.round(order.length / ((drainedAt - startedAt) / 1000)),
    startedOutOfOrderByMoreThan50: inversions,
  };
}

async function main(): Promise<void> {
  if (!targets.length) throw new Error('nothing to run (set DATABASE_URL for PostgreSQL)');
  const results: Record<string, unknown> = {};
  for (const target of targets) {
    const t0 = Date.now();
    const { db, url, close } = await target.open();
    try {
      await ensureJobSchema(db.sql);
      console.log(`\n== ${target.name} (opened in ${Date.now() - t0} ms): ${N} timers`);
      const r1 = await steady(db, url);
      console.log(`steady   ${N} pending, due over ${WINDOW_MS / 1000}s: lateness ms`, r1);
      const r2 = await probes(db, url);
      console.log(`probes   ${PROBES} armed while ${N} more are pending: lateness ms`, r2);
      const r3 = await backlog(db, url);
      console.log(`backlog  ${N} overdue at start:`, r3);
      results[target.name] = { steady: r1, probes: r2, backlog: r3 };
    } finally {
      await close();
    }
  }
  console.log('\n' + JSON.stringify({ timers: N, windowSeconds: WINDOW_MS / 1000, probes: PROBES, node: process.version, results }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
