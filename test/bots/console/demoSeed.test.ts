/**
 * `npm run demo -- --seed-only` as a user runs it, against a fresh database: the embedded PGlite in
 * a temp data directory, or (with DATABASE_URL) a fresh schema on the PostgreSQL server — the demo
 * seeds its own part of either (<data dir>/demo, <schema>_demo) and leaves the rest alone. Then the
 * database is read back: handoffs per transition and status, reasons, reassignments, breaches,
 * timers, spread in time — and a second run adds nothing. With a Baton holding the demo's embedded
 * database, the script refuses and names the process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jest } from '@jest/globals';
import { openDatabase, type Database } from '../../../src/store/database.js';
import { loadConfig } from '../../../src/config.js';
import { startBaton } from '../../../src/app.js';
import { computeKpis } from '../../../src/reports/kpis.js';
import { createJobScheduler } from '../../../src/jobs/agendaScheduler.js';
import { DEMO_KEY_PREFIX, demoDatabaseUrl, planDemo } from '../../../scripts/demo.js';
import { defaultPlaybook, silentLog, TEST_TOKEN } from '../../helpers/baton.js';

jest.setTimeout(240_000);

const DAY = 86_400_000;
const OPEN = ['routed', 'posted', 'reassigned', 'escalated'];

function runDemo(env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  // The child is a plain Node process: no jest flags, and only the database we name.
  delete base.NODE_OPTIONS;
  delete base.DATABASE_URL;
  delete base.BATON_DATA_DIR;
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'demo', '--', '--seed-only'], { cwd: process.cwd(), env: { ...base, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-demo-'));
  const pgUrl = process.env.DATABASE_URL;
  const schema = `t_demo_${randomBytes(5).toString('hex')}`;
  const url = pgUrl ? (() => { const u = new URL(pgUrl); u.searchParams.set('schema', schema); return u.toString(); })() : undefined;
  const env = url ? { DATABASE_URL: url, BATON_DATA_DIR: dataDir } : { BATON_DATA_DIR: dataDir };
  // Where the demo keeps its data: its own schema, or its own directory under the data directory.
  const demoUrl = url ? demoDatabaseUrl(url) : undefined;
  const demoPglite = join(dataDir, 'demo', 'pglite');
  let db: Database | undefined;
  let startedAt: number;

  afterAll(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (pgUrl) {
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}_demo" CASCADE`);
      await admin.end();
    }
  });

  it('seeds handoffs across all eight transitions through the core, with accepts, rejects, reassignments and breaches', async () => {
    startedAt = Date.now();
    const run = await runDemo(env);
    // Nothing on stderr but Node's own warnings (on PostgreSQL, @prisma/adapter-pg triggers pg's
    // "client.query() while executing" deprecation notice; not ours to silence).
    expect(run.stderr.replace(/^\(node:\d+\) \w*Warning: .*\n(\(Use `node --trace-[\w-]+ .*\n)?/gm, '')).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Created 96 handoffs; \d+ SLA breaches recorded; \d+ SLA timers pending/);

    // The data directory (or schema) npm start would use is left alone.
    expect(readdirSync(dataDir)).toEqual(url ? [] : ['demo']);
    if (pgUrl) {
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      const schemas = (await admin.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname IN ($1, $2)', [schema, `${schema}_demo`])).rows.map((r) => r.nspname);
      await admin.end();
      expect(schemas).toEqual([`${schema}_demo`]);
    }

    const playbook = await defaultPlaybook();
    db = await openDatabase({ url: demoUrl, dataDir: demoPglite });
    const prisma = db.prisma;
    const demo = { idempotencyKey: { startsWith: DEMO_KEY_PREFIX } };
    const handoffs = await prisma.handoff.findMany({ where: demo });
    expect(handoffs).toHaveLength(96);
    expect(await prisma.handoff.count()).toBe(96);

    for (const t of playbook.transitions) {
      const mine = handoffs.filter((h) => h.transitionId === t.id);
      const count = (s: string[]) => mine.filter((h) => s.includes(h.status)).length;
      expect({ transition: t.id, total: mine.length }).toEqual({ transition: t.id, total: 12 });
      // Each transition tells the whole story: done work, a rejection with one of its reasons,
      // a withdrawal, and open handoffs still waiting.
      expect(count(['accepted', 'completed'])).toBeGreaterThanOrEqual(7);
      expect(count(['rejected'])).toBeGreaterThanOrEqual(1);
      expect(t.rejectReasons.map((r) => r.code)).toContain(mine.find((h) => h.status === 'rejected')!.rejectReason);
      expect(count(['withdrawn'])).toBeGreaterThanOrEqual(1);
      expect(count(OPEN)).toBeGreaterThanOrEqual(1);
      // The output's table says the same.
      const row = run.stdout.split('\n').find((l) => l.startsWith(`${t.id} `))!;
      const cells = row.trim().split(/\s+/).slice(1).map(Number);
      expect(cells.reduce((a, b) => a + b, 0)).toBe(12);
    }
    expect(handoffs.filter((h) => h.status === 'escalated').length).toBeGreaterThanOrEqual(1);
    expect(handoffs.filter((h) => h.status === 'completed').length).toBeGreaterThanOrEqual(8);
    expect(handoffs.filter((h) => h.status === 'accepted').length).toBeGreaterThanOrEqual(8);

    // The audit trail: every reject has its note, reassignments by people and by Baton.
    const events = await prisma.handoffEvent.findMany({ where: { handoffId: { in: handoffs.map((h) => h.id) } } });
    const rejects = events.filter((e) => e.type === 'rejected');
    expect(rejects.length).toBe(handoffs.filter((h) => h.status === 'rejected').length);
    for (const e of rejects) expect(e.note?.length).toBeGreaterThan(10);
    const reassigned = events.filter((e) => e.type === 'reassigned');
    expect(reassigned.filter((e) => e.actorId !== null).length).toBeGreaterThanOrEqual(8);
    expect(reassigned.filter((e) => e.actorId === null).length).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.type === 'nudged').length).toBeGreaterThanOrEqual(8);
    expect(events.filter((e) => e.type === 'first_touch').length).toBeGreaterThanOrEqual(8);

    // Breaches recorded by the SLA engine itself (its ledger and the breach table), both kinds.
    const breaches = await prisma.slaBreach.findMany({ where: { handoffId: { in: handoffs.map((h) => h.id) } } });
    expect(breaches.filter((b) => b.kind === 'accept').length).toBeGreaterThanOrEqual(8);
    expect(breaches.filter((b) => b.kind === 'first_touch').length).toBeGreaterThanOrEqual(4);
    for (const b of breaches) expect(b.firedAt.getTime()).toBeGreaterThanOrEqual(b.dueAt.getTime());
    expect(await prisma.slaFiring.count()).toBeGreaterThan(breaches.length);

    // Spread over the past six weeks, with this week's data for the digest.
    const created = handoffs.map((h) => h.createdAt.getTime());
    expect(Math.min(...created)).toBeGreaterThanOrEqual(startedAt - 43 * DAY);
    expect(Math.max(...created)).toBeLessThanOrEqual(Date.now());
    for (const t of playbook.transitions) {
      expect(handoffs.filter((h) => h.transitionId === t.id && h.createdAt.getTime() > startedAt - 7 * DAY).length).toBeGreaterThanOrEqual(2);
    }
    const kpis = await computeKpis(db, playbook, { from: new Date(startedAt - 7 * DAY), to: new Date(), asOf: new Date() });
    expect(kpis.overall.volume).toBeGreaterThanOrEqual(16);
    expect(kpis.byTransition).toHaveLength(8);

    // Nothing waits to be posted to Slack or Teams; the open handoffs' timers wait in the job store.
    expect(await prisma.outboxDelivery.count()).toBe(0);
    const jobs = await createJobScheduler({ db, databaseUrl: demoUrl, log: silentLog });
    try {
      const pending = await jobs.list<{ handoffId: number }>();
      const open = handoffs.filter((h) => OPEN.includes(h.status) || (h.status === 'accepted' && !h.firstTouchAt));
      expect(pending.length).toBeGreaterThanOrEqual(open.length);
      for (const j of pending) {
        expect(open.map((h) => h.id)).toContain(j.data.handoffId);
        expect(j.runAt!.getTime()).toBeGreaterThan(startedAt - 60_000);
      }
    } finally {
      await jobs.stop();
    }
    await db.close();
    db = undefined;
  });

  it('is idempotent: a second run finds the demo data and adds nothing', async () => {
    // PGlite is one process: let go of it (also when the test above failed half-way).
    await db?.close();
    db = undefined;
    const run = await runDemo(env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('The demo data is already there (96 handoffs): nothing was added.');
    db = await openDatabase({ url: demoUrl, dataDir: demoPglite });
    expect(await db.prisma.handoff.count()).toBe(96);
    await db.close();
    db = undefined;
  });

  it('refuses, naming the process, while a Baton holds the demo\'s embedded database', async () => {
    const busyDir = mkdtempSync(join(tmpdir(), 'baton-busy-'));
    const baton = await startBaton({
      config: loadConfig({ BATON_DATA_DIR: join(busyDir, 'demo'), PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: TEST_TOKEN, LOG_LEVEL: 'silent' }),
      log: silentLog,
      playbook: await defaultPlaybook(),
      jobs: { processEveryMs: 500, lockLifetimeMs: 1500 },
    });
    try {
      const run = await runDemo({ BATON_DATA_DIR: busyDir });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`The embedded database in ${join(busyDir, 'demo', 'pglite')} is in use by process ${process.pid}`);
      expect(run.stderr).toContain('stop Baton');
      expect(await baton.db.prisma.handoff.count()).toBe(0);
    } finally {
      await baton.close();
      rmSync(busyDir, { recursive: true, force: true });
    }
  });

  it('plans, whatever the day it runs, all twelve per transition in the past six weeks and two or more in the last seven days', async () => {
    const playbook = await defaultPlaybook();
    // A week of run dates, at hours in and out of office time (the plan must not depend on today).
    for (let d = 0; d < 7; d++) {
      for (const hour of [3, 9, 14, 22]) {
        const end = new Date(Date.UTC(2026, 10, 23 + d, hour, 17));
        const start = new Date(end.getTime() - 42 * DAY);
        const plans = planDemo(playbook, start, end, 12);
        for (const t of playbook.transitions) {
          const mine = plans.filter((p) => p.transition.id === t.id);
          const recent = mine.filter((p) => p.createdAt.getTime() > end.getTime() - 7 * DAY);
          expect({ end: end.toISOString(), transition: t.id, planned: mine.length, recentAtLeastTwo: recent.length >= 2 }).toEqual({ end: end.toISOString(), transition: t.id, planned: 12, recentAtLeastTwo: true });
          for (const p of mine) expect(p.createdAt.getTime()).toBeLessThan(end.getTime());
        }
      }
    }
  });
});
