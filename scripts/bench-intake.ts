/**
 * Focused driver for the intake → card path (issue #8): Baton in-process with the Slack plugin on
 * the fake Slack Web API, `POST /api/handoffs` paced open-loop, and a count of the SQL statements
 * the process sends (every `pg` client query, every PGlite query/exec, plus BEGIN/COMMIT of PGlite
 * transactions), grouped by statement text, per intake.
 *
 *   npx tsx scripts/bench-intake.ts --db pglite|postgres [--n 300] [--rate 50] [--count] [--top 40]
 *
 * Prints HTTP 201 latency, card latency (request sent → fake Slack receives chat.postMessage),
 * cards per second, CPU time of the process, and (with --count) statements per intake, split into
 * those issued while intakes were in flight and the whole run until every delivery was recorded.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { installStatementCounter } from './statementCounter.js';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startBaton, type Baton } from '../src/app.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { dropScratchSchema, newScratchSchema } from './scratchDatabase.js';
import { loadPlaybook } from '../src/playbook/load.js';
import { createSlackPlugin } from '../bots/slack/plugin.js';
import { CardArrivals, FakeSlackApi } from '../test/fakes/slackApi.js';
import { BOT_TOKEN, defaultPlaybookUsers } from '../test/bots/slack/helpers.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'pglite' },
    n: { type: 'string', default: '300' },
    rate: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '20' },
    count: { type: 'boolean', default: false },
    top: { type: 'string', default: '40' },
  },
});
const N = Number(args.n);
const RATE = Number(args.rate);
const PG_BASE = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const API_TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------ statement counting
// Every statement of the process (intake, deliveries, SLA arming, job polls), see statementCounter.ts.
const counter = args.count ? installStatementCounter() : undefined;
const total = () => counter?.total() ?? 0;

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.at(-1) ?? NaN };
}
const fmt = (s: ReturnType<typeof stats>) => `p50 ${s.p50.toFixed(0)} ms, p90 ${s.p90.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms (n=${s.n})`;

async function main(): Promise<void> {
  const playbook = await loadPlaybook('playbook.yml');
  const fake = await new FakeSlackApi({ token: BOT_TOKEN, users: defaultPlaybookUsers(playbook) }).start();
  let db: Database;
  let url: string | undefined;
  let schema: string | undefined;
  if (args.db === 'postgres') {
    schema = newScratchSchema();
    const u = new URL(PG_BASE);
    u.searchParams.set('schema', schema);
    url = u.toString();
    db = await openDatabase({ url, dataDir: '' });
  } else {
    db = await openDatabase({ dataDir: 'memory://' });
  }
  let baton: Baton | undefined;
  try {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: API_TOKEN, LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5', SLACK_API_URL: fake.apiUrl,
    });
    baton = await startBaton({ config, log, playbook, db, plugins: [createSlackPlugin({ postIntervalMs: 1, requestTimeoutMs: 5000 })], ...(url ? { jobs: { databaseUrl: url } } : {}) });
    const b = baton;
    const example = (await (await fetch(`${b.url}/api/transitions`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()) as { id: string; example: Record<string, unknown> }[];
    const template = example.find((t) => t.id === 'marketing_to_sdr')!.example;
    let seq = 0;
    const arrivals = new CardArrivals(fake);
    const cardAt = arrivals.at;
    const scan = () => arrivals.scan();
    const intake = async () => {
      const k = ++seq;
      const body = structuredClone(template);
      body.account = { name: `Bench ${k}`, domain: `bench-${k}.example`, crmId: `B-${k}` };
      body.to = 'amelia';
      const sentAt = Date.now();
      const res = await fetch(`${b.url}/api/handoffs`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as { id?: number };
      return { id: json.id ?? -1, sentAt, status: res.status, httpMs: Date.now() - sentAt };
    };
    const pending = async () => (await b.outbox.stats()).pending;
    const run = async (n: number, rate: number) => {
      const t0 = performance.now();
      const ps: Promise<Awaited<ReturnType<typeof intake>>>[] = [];
      for (let i = 0; i < n; i++) {
        const wait = t0 + (i * 1000) / rate - performance.now();
        if (wait > 1) await sleep(wait);
        ps.push(intake());
      }
      const results = await Promise.all(ps);
      const httpDone = performance.now();
      const ok = results.filter((r) => r.status === 201);
      const end = Date.now() + 120_000;
      while (Date.now() < end) {
        scan();
        if (ok.every((r) => cardAt.has(r.id)) && (await pending()) === 0) break;
        await sleep(50);
      }
      scan();
      return { results, ok, t0, httpDone, done: performance.now() };
    };

    await run(Number(args.warmup), 20);
    await sleep(300);
    counter?.clear();
    if (counter) counter.counting = true;
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const r = await run(N, RATE);
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - w0) / 1000;
    if (counter) counter.counting = false;
    const firstSent = Math.min(...r.results.map((x) => x.sentAt));
    const lat = r.ok.filter((x) => cardAt.has(x.id)).map((x) => cardAt.get(x.id)! - x.sentAt);
    const lastCard = Math.max(...r.ok.map((x) => cardAt.get(x.id) ?? 0));
    console.log(`db ${args.db}; ${N} intakes at ${RATE}/s; load ${(await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim()}`);
    console.log(`HTTP:  ${fmt(stats(r.results.map((x) => x.httpMs)))}; ${r.ok.length} × 201`);
    console.log(`card:  ${fmt(stats(lat))}; ${lat.length} cards at ${(lat.length / ((lastCard - firstSent) / 1000)).toFixed(1)}/s`);
    console.log(`all deliveries recorded after ${wall.toFixed(1)} s; process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s = ${((cpu.user + cpu.system) / 1e3 / N).toFixed(1)} ms per handoff`);
    if (args.count) {
      console.log(`statements: ${total()} = ${(total() / N).toFixed(1)} per handoff (intake + every consumer's delivery + SLA arming)`);
      const top = counter!.top(Number(args.top));
      for (const [sql, c] of top) console.log(`${(c / N).toFixed(2).padStart(7)}  ${sql}`);
    }
  } finally {
    await baton?.close();
    await db.close();
    await fake.stop();
    if (schema) await dropScratchSchema(PG_BASE, schema);
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 200).unref(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
