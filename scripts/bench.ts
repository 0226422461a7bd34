/**
 * `npm run bench` — Baton's benchmarks, each figure beside a baseline measured in the same run
 * (these machines are shared and noisy: compare ratios, not absolute numbers across runs).
 *
 *   npm run bench                 full run (see BENCHMARKS.md for the latest numbers)
 *   npm run bench -- --quick      ≤ 1-minute smoke run for CI: checks the harness, not the targets
 *   options: --only pglite|postgres   --timers <N>   --kpi-handoffs <N>
 *   npm run bench -- --clicks 100 click→ack only: N cards posted at 50/s, then N concurrent clicks
 *                                (before/after comparisons of the click path, e.g. the click inbox)
 *
 * Runs on the embedded PGlite (in memory) and on PostgreSQL (DATABASE_URL, default
 * postgresql://postgres@127.0.0.1:5432/test, in a throw-away schema `bench_…` dropped afterwards).
 * Slack is the fake Web API from test/fakes/slackApi.ts on loopback, in this process.
 *
 * 1. intake → card: HTTP POST /api/handoffs paced open-loop at a fixed rate; latency = from the
 *    request being sent to the fake receiving chat.postMessage for that handoff's card. Then the
 *    rate is stepped up; the max sustained rate is the highest step where every card arrived, the
 *    requests completed at ≥ 95 % of the offered rate and p99 < 250 ms. Baseline: single-row
 *    INSERTs (closed loop, 10 in flight) through `pg` (PGlite: its `query`) on the same database.
 * 2. click → ack: 100 concurrent signed block_actions (Accept on 100 posted cards; 25 in --quick).
 * 3. SLA timers: N timers pending an hour out, plus probe timers armed while the scheduler runs
 *    (the probes scenario of scripts/bench-timers.ts); lateness = handler start − due time.
 *    Baseline: Agenda 6 with its default configuration (processEvery 5 s, default lock limits,
 *    the backend's default notifications) on the same database, same N, same probes.
 * 4. weekly KPI report: scripts/bench-kpis.ts in a child process (PostgreSQL only).
 * 5. memory: RSS of this process idle (Baton started, nothing happening) and the peak during
 *    phase 1 at 50 req/s. It includes the fake Slack and the load generator (and, on PGlite, the
 *    database itself); on PostgreSQL the database runs in its own processes.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Agenda } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startBaton, type Baton } from '../src/app.js';
import { type Database } from '../src/store/database.js';
import { dropScratchSchema, openScratchPglite, openScratchPostgres } from './scratchDatabase.js';
import { startEmbeddedMaintenance } from '../src/store/maintenance.js';
import { loadPlaybook } from '../src/playbook/load.js';
import { createJobScheduler, pgPoolConfig } from '../src/jobs/agendaScheduler.js';
import { ensureJobSchema } from '../src/jobs/schema.js';
import { SqlBackend } from '../src/jobs/sqlBackend.js';
import { createSlackPlugin } from '../bots/slack/plugin.js';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../blocks/actions.js';
import { CardArrivals, FakeSlackApi } from '../test/fakes/slackApi.js';
import { BOT_TOKEN, SIGNING_SECRET, FORM, blockAction, defaultPlaybookUsers } from '../test/bots/slack/helpers.js';
import { signSlackRequest } from '../bots/slack/verify.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    timers: { type: 'string' },
    'kpi-handoffs': { type: 'string' },
    clicks: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const QUICK = args.quick;
/** --clicks N: only the click→ack phase (and the intakes it needs). */
const CLICKS_ONLY = args.clicks ? Number(args.clicks) : undefined;
const VERBOSE = args.verbose;
const CFG = QUICK
  ? { warmup: 5, load1Ms: 500, steps: [] as number[], stepMs: 0, drainMs: 20_000, insertMs: 1000, clicks: 25, timers: 2000, probes: 10, probeSpanMs: 1000, probeAheadMs: [300, 1000], timerWaitMs: 4000, kpiHandoffs: 20_000, kpiRuns: 2 }
  : { warmup: 20, load1Ms: 10_000, steps: [50, 100, 150, 200, 300, 400, 500], stepMs: 5000, drainMs: 90_000, insertMs: 5000, clicks: 100, timers: 100_000, probes: 200, probeSpanMs: 15_000, probeAheadMs: [300, 8000], timerWaitMs: 40_000, kpiHandoffs: 1_000_000, kpiRuns: 5 };
if (args.timers) CFG.timers = Number(args.timers);
if (args['kpi-handoffs']) CFG.kpiHandoffs = Number(args['kpi-handoffs']);
if (CLICKS_ONLY) Object.assign(CFG, { clicks: CLICKS_ONLY, load1Ms: Math.ceil(CLICKS_ONLY / 50) * 1000 + 1000, steps: [], insertMs: 0 });
const PG_BASE = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const API_TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const TIMER_JOB = 'bench.timer';

// ---------------------------------------------------------------------------------------------- util

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
interface Stats { n: number; min: number; p50: number; p99: number; max: number }
function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, min: s[0] ?? NaN, p50: q(0.5), p99: q(0.99), max: s.at(-1) ?? NaN };
}
const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : '—');
/** Runs scripts/bench-clicker.mjs: every request sent at once from a separate Node process. */
async function sendFromAnotherProcess(url: string, requests: { body: string; headers: Record<string, string> }[]): Promise<{ status: number; ms: number; error?: string }[]> {
  const child = spawn(process.execPath, [new URL('./bench-clicker.mjs', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end(JSON.stringify({ url, requests }));
  const code = await exited;
  if (code !== 0) throw new Error(`bench-clicker exited with ${code}`);
  return JSON.parse(out) as { status: number; ms: number; error?: string }[];
}

async function waitUntil(check: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
  return true;
}
/** Calls fn(i) at `rate` per second for `durationMs`, open loop (a slow answer does not slow the sender). */
async function paced<T>(rate: number, durationMs: number, fn: (i: number) => Promise<T>): Promise<{ results: T[]; sendSeconds: number; allSeconds: number }> {
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const t0 = performance.now();
  const ps: Promise<T>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    ps.push(fn(i));
  }
  const sent = performance.now();
  const results = await Promise.all(ps);
  return { results, sendSeconds: (sent - t0) / 1000, allSeconds: (performance.now() - t0) / 1000 };
}

interface Row { section: string; db: string; metric: string; value: string; baseline: string; ratio: string; target: string; met: string; load: string }
const rows: Row[] = [];
const problems: string[] = [];
function row(r: Omit<Row, 'load'> & { load?: number }): void {
  rows.push({ ...r, load: (r.load ?? load1()).toFixed(2) });
}
const verdict = (ok: boolean) => (QUICK ? 'n/a (quick)' : ok ? 'yes' : 'NO');

// ------------------------------------------------------------------------------------------ targets

interface Target {
  name: 'PGlite' | 'PostgreSQL';
  /** A fresh, empty database (and its URL on PostgreSQL). */
  open(): Promise<{ db: Database; url: string | undefined; close(): Promise<void> }>;
}
const targets: Target[] = [];
if (args.only !== 'postgres') targets.push({ name: 'PGlite', open: openScratchPglite });
if (args.only !== 'pglite') targets.push({ name: 'PostgreSQL', open: () => openScratchPostgres(PG_BASE) });
const dropSchema = (schema: string) => dropScratchSchema(PG_BASE, schema);

// ---------------------------------------------------------------------------- 1, 2, 5: Baton + Slack

async function batonBench(target: Target): Promise<void> {
  const T = target.name;
  const playbook = await loadPlaybook('playbook.yml');
  const fake = await new FakeSlackApi({ token: BOT_TOKEN, users: defaultPlaybookUsers(playbook) }).start();
  const { db, url, close } = await target.open();
  let baton: Baton | undefined;
  try {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: API_TOKEN, LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.apiUrl,
    });
    // postIntervalMs 1: Slack's ~1 post/s per channel is a Slack limit, not Baton's cost; every
    // handoff here goes to the one SDR channel. The jobs get the database URL (LISTEN/NOTIFY) as in
    // production, where Baton opens its own database.
    baton = await startBaton({ config, log, playbook, db, plugins: [createSlackPlugin({ postIntervalMs: 1, requestTimeoutMs: 5000 })], ...(url ? { jobs: { databaseUrl: url } } : {}) });
    const b = baton;
    const example = await (await fetch(`${b.url}/api/transitions`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json() as { id: string; example: Record<string, unknown> }[];
    const template = example.find((t) => t.id === 'marketing_to_sdr')!.example;
    let seq = 0;

    // Card arrival per handoff id, from the fake's call log (arrival time of chat.postMessage).
    const arrivals = new CardArrivals(fake);
    const cardAt = arrivals.at;
    const scan = () => arrivals.scan();
    const intake = async (): Promise<{ id: number; sentAt: number; status: number; httpMs: number }> => {
      const k = ++seq;
      const body = structuredClone(template);
      body.account = { name: `Bench ${k}`, domain: `bench-${k}.example`, crmId: `B-${k}` };
      body.to = 'amelia';
      const sentAt = Date.now();
      try {
        const res = await fetch(`${b.url}/api/handoffs`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const json = (await res.json()) as { id?: number };
        return { id: json.id ?? -1, sentAt, status: res.status, httpMs: Date.now() - sentAt };
      } catch {
        return { id: -1, sentAt, status: 0, httpMs: Date.now() - sentAt };
      }
    };
    /** One paced phase: card latencies (missing cards count as failures). */
    const phase = async (rate: number, durationMs: number) => {
      const r = await paced(rate, durationMs, intake);
      const ok = r.results.filter((x) => x.status === 201);
      await waitUntil(() => (scan(), ok.every((x) => cardAt.has(x.id))), CFG.drainMs, 50);
      scan();
      const lat = ok.filter((x) => cardAt.has(x.id)).map((x) => cardAt.get(x.id)! - x.sentAt);
      const http = stats(r.results.map((x) => x.httpMs));
      // Cards delivered per second over the phase (first request sent → last card received).
      const lastCard = Math.max(...ok.map((x) => cardAt.get(x.id) ?? 0));
      const firstSent = Math.min(...r.results.map((x) => x.sentAt));
      const cardRate = lat.length / Math.max(0.001, (lastCard - firstSent) / 1000);
      if (VERBOSE) console.log(`\n  ${T} ${rate}/s × ${durationMs / 1000} s: HTTP 201 p50 ${ms(http.p50)} p99 ${ms(http.p99)}; card p50 ${ms(stats(lat).p50)} p99 ${ms(stats(lat).p99)}; ${lat.length}/${r.results.length} cards at ${cardRate.toFixed(1)}/s; load1 ${load1()}`);
      return { ...stats(lat), http, cardRate, offered: r.results.length, accepted: ok.length, carded: lat.length, achievedRate: r.results.length / r.allSeconds, ids: ok.map((x) => x.id), load: load1() };
    };

    // Warm-up (JIT, connection pools, the playbook caches) — not measured.
    await phase(CFG.warmup, 1000);
    await sleep(500);
    const rssIdle = process.memoryUsage().rss;
    const idleLoad = load1();

    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
    const p1 = await phase(50, CFG.load1Ms);
    clearInterval(sampler);
    if (p1.carded < p1.offered) problems.push(`${T}: ${p1.offered - p1.carded} of ${p1.offered} intakes at 50/s got no card`);

    // Step the rate up until p99 ≥ 250 ms or it cannot keep up.
    let best = 0;
    const stepNotes: string[] = [];
    for (const rate of CFG.steps) {
      await sleep(500);
      const s = await phase(rate, CFG.stepMs);
      const pass = s.carded === s.offered && s.achievedRate >= 0.95 * rate && s.p99 < 250;
      stepNotes.push(`${rate}/s: p99 ${ms(s.p99)}, cards ${s.cardRate.toFixed(0)}/s${pass ? '' : ' ✗'}`);
      if (!pass) break;
      best = rate;
    }

    // Baseline: single-row INSERTs on the same database, 10 in flight, closed loop.
    await db.sql.exec('CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
    const payload = JSON.stringify(template);
    let insert: (p: string) => Promise<unknown>;
    let pool: pg.Pool | undefined;
    if (url) {
      pool = new pg.Pool(pgPoolConfig(url, 10).config);
      insert = (p) => pool!.query('INSERT INTO bench_insert (payload) VALUES ($1)', [p]);
    } else {
      insert = (p) => db.sql.query('INSERT INTO bench_insert (payload) VALUES ($1)', [p]);
    }
    let inserted = 0;
    const insEnd = performance.now() + CFG.insertMs;
    const insStart = performance.now();
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (performance.now() < insEnd) {
        await insert(payload);
        inserted++;
      }
    }));
    const insertRate = inserted / ((performance.now() - insStart) / 1000);
    await pool?.end();
    const insLoad = load1();

    // 2. 100 concurrent Accept clicks on 100 posted cards (the owner clicks).
    const clickIds = p1.ids.slice(0, CFG.clicks);
    const versions = await Promise.all(clickIds.map(async (id) => {
      for (let i = 0; i < 100; i++) {
        const v = await b.service.get(id, { events: false });
        if (v.status === 'posted') return v.version;
        await sleep(50);
      }
      return (await b.service.get(id, { events: false })).version;
    }));
    const amelia = playbook.people.find((p) => p.id === 'amelia')!.slackUserId!;
    // Sent from another process, as Slack sends them: a sender sharing Baton's event loop would
    // add its own CPU to every latency.
    const ts = Math.floor(Date.now() / 1000);
    const clicks = await sendFromAnotherProcess(`${b.url}/slack/events`, clickIds.map((id, i) => {
      const a = blockAction(fake, { user: amelia, actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, versions[i]!), channel: 'C0ECEXM8EYG' });
      return { body: a.body, headers: { 'content-type': FORM, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(SIGNING_SECRET, ts, a.body) } };
    }));
    const clickStats = stats(clicks.map((c) => c.ms));
    const clickLoad = load1();
    const bad = clicks.filter((c) => c.status !== 200).length;
    if (bad) problems.push(`${T}: ${bad} of ${clicks.length} clicks not acknowledged with 200`);
    await sleep(300); // let the last accepts commit before counting them
    let acceptedN = 0;
    for (const id of clickIds) if ((await b.service.get(id, { events: false })).status === 'accepted') acceptedN++;

    if (!CLICKS_ONLY) row({ section: '1 intake→card @50/s', db: T, metric: `p50 / p99 (n=${p1.carded}/${p1.offered}; HTTP 201 alone: p50 ${ms(p1.http.p50)}, p99 ${ms(p1.http.p99)})`, value: `${ms(p1.p50)} / ${ms(p1.p99)}`, baseline: '', ratio: '', target: 'p99 ≤ 50 ms', met: verdict(p1.p99 <= 50), load: p1.load });
    if (!CLICKS_ONLY) row({ section: '1 max sustained intake', db: T, metric: QUICK ? 'not stepped in --quick' : `p99 < 250 ms (${stepNotes.join(', ')})`, value: QUICK ? '—' : best ? `${best}/s` : `< ${CFG.steps[0]}/s`, baseline: `${Math.round(insertRate)} INSERT/s`, ratio: `${QUICK ? '' : `${((best / insertRate) * 100).toFixed(1)} %; `}card throughput at 50/s: ${p1.cardRate.toFixed(1)}/s = ${((p1.cardRate / insertRate) * 100).toFixed(1)} %`, target: '≥ 300/s', met: verdict(best >= 300), load: insLoad });
    row({ section: `2 click→ack ×${clickIds.length} concurrent`, db: T, metric: `p50 / p99 (accepted ${acceptedN}/${clickIds.length})`, value: `${ms(clickStats.p50)} / ${ms(clickStats.p99)}`, baseline: 'Slack: 3000 ms', ratio: `${((clickStats.p99 / 3000) * 100).toFixed(1)} % of it`, target: 'p99 ≤ 100 ms', met: verdict(clickStats.p99 <= 100), load: clickLoad });
    if (!CLICKS_ONLY) row({ section: '5 RSS idle', db: T, metric: 'bench process (Baton + fake Slack)', value: `${Math.round(rssIdle / 2 ** 20)} MB`, baseline: '', ratio: '', target: '≤ 150 MB', met: verdict(rssIdle <= 150 * 2 ** 20), load: idleLoad });
    if (!CLICKS_ONLY) row({ section: '5 RSS under load 1', db: T, metric: 'peak during 50 req/s', value: `${Math.round(rssPeak / 2 ** 20)} MB`, baseline: '', ratio: '', target: '≤ 300 MB', met: verdict(rssPeak <= 300 * 2 ** 20), load: p1.load });
  } finally {
    await baton?.close().catch((err: unknown) => problems.push(`${T}: Baton did not close: ${String(err)}`));
    await close();
    await fake.stop();
  }
}

// -------------------------------------------------------------------------------------- 3: timers

/** Bulk-inserts parked timers. `shape` is Baton's stored data (key, runAt, data) or plain Agenda data. */
async function insertParked(db: Database, table: string, n: number, baton: boolean): Promise<void> {
  const hour = Date.now() + 3_600_000;
  for (let i = 0; i < n; i += 5000) {
    const m = Math.min(5000, n - i);
    const runAts = Array.from({ length: m }, (_, j) => new Date(hour + (i + j) * 10).toISOString());
    const keys = runAts.map((_, j) => `bench:parked:${i + j}:${randomUUID()}`);
    await db.sql.query(
      `INSERT INTO ${table} (name, priority, next_run_at, type, data, disabled)
       SELECT $1, 0, r::timestamptz, 'normal', ${baton ? `jsonb_build_object('key', k, 'runAt', r, 'data', jsonb_build_object('tag', 'parked'))` : `jsonb_build_object('tag', 'parked', 'due', 0)`}, false
       FROM unnest($2::text[], $3::text[]) AS t(k, r)`,
      [TIMER_JOB, keys, runAts],
    );
  }
}

async function armProbes(schedule: (i: number, due: number) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  const [lo, hi] = CFG.probeAheadMs as [number, number];
  for (let i = 0; i < CFG.probes; i++) {
    const armAt = t0 + Math.floor((i * CFG.probeSpanMs) / CFG.probes);
    if (armAt > Date.now()) await sleep(armAt - Date.now());
    await schedule(i, Date.now() + lo + Math.floor(Math.random() * (hi - lo)));
  }
}

async function timersBench(target: Target): Promise<void> {
  const T = target.name;
  const { db, url, close } = await target.open();
  try {
    const N = CFG.timers;
    // Ours: the production scheduler (src/jobs), as createJobScheduler sets it up.
    await ensureJobSchema(db.sql);
    const t0 = Date.now();
    await insertParked(db, 'agenda_jobs', N, true);
    const insertS = (Date.now() - t0) / 1000;
    const ours: number[] = [];
    // As startBaton runs it: on PGlite (no autovacuum) Baton keeps the planner's statistics fresh.
    const maintenance = db.kind === 'pglite' ? startEmbeddedMaintenance(db.sql, log) : undefined;
    const s = await createJobScheduler({ db, databaseUrl: url, log });
    s.define<{ tag: string }>(TIMER_JOB, async (job) => {
      if (job.data.tag === 'probe') ours.push(Date.now() - job.runAt.getTime());
    });
    await s.start();
    try {
      await armProbes((i, due) => s.schedule({ name: TIMER_JOB, key: `probe:${i}:${randomUUID()}`, runAt: new Date(due), data: { tag: 'probe' } }));
      await waitUntil(() => ours.length >= CFG.probes, CFG.timerWaitMs, 50);
    } finally {
      await s.stop();
      await maintenance?.stop();
    }
    const oursLoad = load1();

    // Baseline: Agenda with its defaults on the same database, its own table, same N and probes.
    const table = 'bench_default_jobs';
    await ensureJobSchema(db.sql, table);
    await insertParked(db, table, N, false);
    const base: number[] = [];
    // Default Agenda polls every 5 s: give it the time to, so its figure is a lateness, not a cut-off.
    const baseWaitMs = CFG.timerWaitMs + 5000;
    let poolEnd = async () => undefined as void;
    let backend;
    if (url) {
      const { config, schema } = pgPoolConfig(url, 10);
      const pool = new pg.Pool(config);
      pool.on('error', () => undefined);
      poolEnd = () => pool.end();
      // channelName only keeps concurrent runs in other schemas apart (NOTIFY is per database).
      backend = new PostgresBackend({ pool, tableName: table, channelName: `${table}_${schema ?? 'public'}`, ensureSchema: false });
    } else {
      backend = new SqlBackend('PGlite', db.sql, { table, ensureSchema: false });
    }
    const agenda = new Agenda({ backend });
    agenda.on('error', () => undefined);
    agenda.define<{ tag: string; due: number }>(TIMER_JOB, async (job) => {
      if (job.attrs.data.tag === 'probe') base.push(Date.now() - job.attrs.data.due);
    });
    await agenda.ready;
    await agenda.start();
    try {
      await armProbes(async (_i, due) => void (await agenda.schedule(new Date(due), TIMER_JOB, { tag: 'probe', due })));
      await waitUntil(() => base.length >= CFG.probes, baseWaitMs, 50);
    } finally {
      await agenda.stop();
      await poolEnd();
    }
    const baseLoad = load1();
    const o = stats(ours);
    const bs = stats(base);
    if (o.n < CFG.probes) problems.push(`${T}: only ${o.n}/${CFG.probes} SLA probe timers fired`);
    // The baseline missing probes is a finding (shown in the table), not a broken harness.
    row({
      section: `3 SLA timer lateness`, db: T,
      metric: `${CFG.probes} probes, ${N.toLocaleString('en')} pending (inserted in ${insertS.toFixed(1)} s); p50 / p99 (min–max)`,
      value: `${ms(o.p50)} / ${ms(o.p99)} (${ms(o.min)}–${ms(o.max)})`,
      baseline: `${ms(bs.p50)} / ${ms(bs.p99)} (${ms(bs.min)}–${ms(bs.max)})${bs.n < CFG.probes ? `; only ${bs.n}/${CFG.probes} fired within ${baseWaitMs / 1000} s` : ''}`,
      ratio: `p99 ${(bs.p99 / o.p99).toFixed(1)}× better`,
      target: 'p99 ≤ 1 s and ≥ 5× baseline', met: verdict(o.p99 <= 1000 && bs.p99 / o.p99 >= 5), load: Math.max(oursLoad, baseLoad),
    });
  } finally {
    await close();
  }
}

// ----------------------------------------------------------------------------------------- 4: KPIs

async function kpiBench(): Promise<void> {
  const schema = `bench_kpis_${randomBytes(4).toString('hex')}`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench-kpis.ts', '--handoffs', String(CFG.kpiHandoffs), '--runs', String(CFG.kpiRuns), '--schema', schema], {
      env: { ...process.env, DATABASE_URL: PG_BASE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`bench-kpis exited ${code}:\n${text}`))));
  }).finally(() => dropSchema(schema).catch(() => undefined));
  const m = /median ([\d.]+) ms, min ([\d.]+) ms, max ([\d.]+) ms/.exec(out);
  const gen = /generated in ([\d.]+) s/.exec(out);
  if (!m) throw new Error(`could not read bench-kpis output:\n${out}`);
  const median = Number(m[1]);
  row({
    section: '4 weekly KPI report', db: 'PostgreSQL',
    metric: `${CFG.kpiHandoffs.toLocaleString('en')} handoffs, ${CFG.kpiRuns} runs (generated in ${gen?.[1] ?? '?'} s); median (min–max)`,
    value: `${ms(median)} (${ms(Number(m[2]))}–${ms(Number(m[3]))})`, baseline: '', ratio: '', target: '≤ 1 s', met: verdict(median <= 1000),
  });
}

// ------------------------------------------------------------------------------------------- main

function printTable(): void {
  const head: Row = { section: 'benchmark', db: 'database', metric: 'measured', value: 'Baton', baseline: 'baseline (same run)', ratio: 'ratio', target: 'target', met: 'met', load: 'load1' };
  const keys = Object.keys(head) as (keyof Row)[];
  const all = [head, ...rows];
  const width = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: Row) => '| ' + keys.map((k, i) => r[k].padEnd(width[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const started = Date.now();
  const cpu = cpus();
  console.log(`baton bench${QUICK ? ' --quick (smoke run: checks the harness, not the targets)' : ''}`);
  console.log(`machine: ${cpu.length} CPUs (${cpu[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GB RAM, node ${process.version}; load average at start ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  const pgUp = await (async () => {
    const c = new pg.Client({ connectionString: PG_BASE });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch (err) {
      console.log(`PostgreSQL not reachable at ${PG_BASE}: ${(err as Error).message}`);
      return false;
    }
  })();
  for (const t of targets) {
    if (t.name === 'PostgreSQL' && !pgUp) {
      problems.push('PostgreSQL not reachable: its benchmarks did not run');
      continue;
    }
    const section = async (what: string, fn: () => Promise<void>) => {
      const t0 = Date.now();
      process.stdout.write(`· ${t.name}: ${what}… `);
      try {
        await fn();
        console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        console.log('FAILED');
        problems.push(`${t.name}: ${what} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    };
    await section('intake, clicks, memory', () => batonBench(t));
    if (!CLICKS_ONLY) await section(`SLA timers (${CFG.timers.toLocaleString('en')} pending)`, () => timersBench(t));
  }
  if (pgUp && args.only !== 'pglite' && !CLICKS_ONLY) {
    const t0 = Date.now();
    process.stdout.write(`· PostgreSQL: weekly KPIs over ${CFG.kpiHandoffs.toLocaleString('en')} handoffs… `);
    try {
      await kpiBench();
      console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      console.log('FAILED');
      problems.push(`KPIs failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  console.log('');
  printTable();
  console.log(`\nload1 = 1-minute load average (/proc/loadavg) when the figure was taken, on ${cpu.length} CPUs; above ${cpu.length} the machine was oversubscribed and latencies include waiting for a CPU.`);
  console.log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; load average at end ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  if (problems.length) {
    console.log('\nproblems:');
    for (const p of problems) console.log(`- ${p}`);
    process.exitCode = 1;
  }
}

main().then(
  // Stray handles (a keep-alive socket, a timer in a library) must not keep the run alive.
  () => setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
