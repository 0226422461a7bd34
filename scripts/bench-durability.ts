/**
 * What durable commits cost on the embedded database (issue #15, item 6): PGlite on disk with its
 * default start parameters (-F: fsync off, nothing forced to the disk) against Baton's
 * (fsync=on, wal_sync_method=open_datasync: the WAL opened O_DSYNC), measured in the same run,
 * alternating, on fresh data directories on the same file system.
 *
 *   npx tsx scripts/bench-durability.ts [--n 300] [--rounds 2] [--concurrency 1] [--commits 500] [--dir <parent>]
 *
 * Per setting and round: `POST /api/handoffs` over real HTTP (Baton in-process, no platform
 * plugins), `concurrency` requests in flight: HTTP latency p50/p99 and intakes per second; then
 * `commits` single-row autocommit INSERTs through the same database: the cost of one commit.
 * The data directories are made under --dir (default: the project's directory, so a tmpfs /tmp
 * does not hide the cost of reaching the disk) and removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startBaton } from '../src/app.js';
import { openDatabase } from '../src/store/database.js';
import { projectRoot } from '../src/store/migrate.js';
import { loadPlaybook } from '../src/playbook/load.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1' },
    commits: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '20' },
    dir: { type: 'string', default: projectRoot() },
  },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const COMMITS = Number(args.commits);
const API_TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

interface Result {
  setting: string;
  round: number;
  p50: number;
  p99: number;
  perSecond: number;
  commitMs: number;
}

async function measure(setting: 'default (-F)' | 'durable', round: number): Promise<Result> {
  const dataDir = mkdtempSync(join(args.dir, '.bench-durability-'));
  const db = await openDatabase({ dataDir: join(dataDir, 'pglite'), durable: setting === 'durable' });
  const playbook = await loadPlaybook('playbook.yml');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: API_TOKEN, LOG_LEVEL: 'silent', BATON_DATA_DIR: dataDir });
  const baton = await startBaton({ config, log, playbook, db });
  try {
    const transitions = (await (await fetch(`${baton.url}/api/transitions`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()) as { id: string; example: Record<string, unknown> }[];
    const template = transitions.find((t) => t.id === 'marketing_to_sdr')!.example;
    let seq = 0;
    const intake = async (): Promise<number> => {
      const k = ++seq;
      const body = structuredClone(template);
      body.account = { name: `Bench ${k}`, domain: `bench-${k}.example`, crmId: `B-${k}` };
      delete body.externalId;
      const t0 = performance.now();
      const res = await fetch(`${baton.url}/api/handoffs`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`intake answered ${res.status}`);
      return performance.now() - t0;
    };
    const run = async (n: number) => {
      const latencies: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next++ < n) latencies.push(await intake());
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return { latencies, seconds: (performance.now() - t0) / 1000 };
    };
    await run(Number(args.warmup));
    const r = await run(N);

    await db.sql.exec('CREATE TABLE bench_commit (id serial PRIMARY KEY, v text)');
    const c0 = performance.now();
    for (let i = 0; i < COMMITS; i++) await db.sql.query('INSERT INTO bench_commit (v) VALUES ($1)', [`row ${i}`]);
    const commitMs = (performance.now() - c0) / COMMITS;
    return { setting, round, p50: quantile(r.latencies, 0.5), p99: quantile(r.latencies, 0.99), perSecond: r.latencies.length / r.seconds, commitMs };
  } finally {
    await baton.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`bench-durability: ${N} intakes, ${CONCURRENCY} in flight, ${COMMITS} single-row commits per setting and round; data under ${args.dir}`);
  console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}; node ${process.version}`);
  const results: Result[] = [];
  for (let round = 1; round <= Number(args.rounds); round++) {
    // Alternate which setting goes first, so a machine getting busier does not favour one.
    const order = round % 2 ? (['default (-F)', 'durable'] as const) : (['durable', 'default (-F)'] as const);
    for (const setting of order) {
      const r = await measure(setting, round);
      results.push(r);
      console.log(`round ${round} ${setting.padEnd(13)} intake p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.perSecond.toFixed(1)} intakes/s; one commit ${r.commitMs.toFixed(2)} ms`);
    }
  }
  for (const setting of ['default (-F)', 'durable']) {
    const rs = results.filter((r) => r.setting === setting);
    const mean = (f: (r: Result) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    console.log(`mean   ${setting.padEnd(13)} intake p50 ${mean((r) => r.p50).toFixed(1)} ms, p99 ${mean((r) => r.p99).toFixed(1)} ms, ${mean((r) => r.perSecond).toFixed(1)} intakes/s; one commit ${mean((r) => r.commitMs).toFixed(2)} ms`);
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 200).unref(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
