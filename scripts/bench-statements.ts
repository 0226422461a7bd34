/**
 * Statements and CPU per intake (issue #17): Baton in-process on a throw-away database (PGlite in
 * memory, or a fresh schema on PostgreSQL), its outbox stopped so no delivery runs beside the
 * intakes, then N intakes one after another through `service.intake` (what `POST /api/handoffs`
 * calls after parsing HTTP) for each kind of intake:
 *
 *   named   — `to` names the owner (no routing read)
 *   queue   — routed by the transition's round-robin queue (lock + counts + counter bump)
 *   keyed   — named, with an Idempotency-Key (the replay lookup)
 *
 * Statements are counted in the drivers (scripts/statementCounter.ts), only those started inside
 * an intake call; CPU is `process.cpuUsage()` over the N calls divided by N (on PGlite the
 * database runs in this process, so its CPU is included; on PostgreSQL the server's is not).
 *
 *   npx tsx scripts/bench-statements.ts --db pglite|postgres [--n 300] [--top 12]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { installStatementCounter } from './statementCounter.js';
import { loadConfig } from '../src/config.js';
import { startBaton, type Baton } from '../src/app.js';
import { HANDOFF_EVENT_TYPES, type OutboxConsumer } from '../src/events.js';
import { exampleRequest } from '../src/playbook/packet.js';
import { loadPlaybook } from '../src/playbook/load.js';
import { openScratchPglite, openScratchPostgres, type ScratchDatabase } from './scratchDatabase.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'pglite' },
    n: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '50' },
    top: { type: 'string', default: '12' },
  },
});
const N = Number(args.n);
const PG_BASE = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const counter = installStatementCounter({ scoped: true });

// A platform gateway's delivery rows without a platform: subscribes like the Slack gateway.
const gatewayStandIn: OutboxConsumer = { name: 'slack', subscribes: HANDOFF_EVENT_TYPES, handle: async () => undefined };

async function main(): Promise<void> {
  const playbook = await loadPlaybook('playbook.yml');
  const scratch: ScratchDatabase = args.db === 'postgres' ? await openScratchPostgres(PG_BASE) : await openScratchPglite();
  let baton: Baton | undefined;
  try {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: `bench-${randomBytes(12).toString('hex')}`, LOG_LEVEL: 'silent' });
    baton = await startBaton({
      config,
      log: pino({ level: 'silent' }),
      playbook,
      db: scratch.db,
      consumers: [gatewayStandIn],
      ...(scratch.url ? { jobs: { databaseUrl: scratch.url } } : {}),
    });
    await baton.outbox.stop();
    const service = baton.service;
    const t = playbook.transitions.find((x) => x.id === 'marketing_to_sdr')!;
    const template = exampleRequest(t, playbook) as unknown as Record<string, unknown>;
    let seq = 0;
    const body = (kind: string) => {
      const k = ++seq;
      const b = structuredClone(template);
      delete b.externalId;
      delete b.to;
      b.account = { name: `Bench ${k}`, domain: `bench-${k}.example`, crmId: `B-${k}` };
      if (kind !== 'queue') b.to = 'amelia';
      return b;
    };
    const intake = (kind: string) => service.intake(body(kind), kind === 'keyed' ? { idempotencyKey: `bench-${seq + 1}-${randomBytes(4).toString('hex')}` } : {});
    console.log(`db ${args.db}; ${N} intakes of each kind, one at a time; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
    for (const kind of ['named', 'queue', 'keyed']) {
      for (let i = 0; i < Number(args.warmup); i++) await intake(kind);
      counter.clear();
      counter.counting = true;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await counter.attribute(() => intake(kind));
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      counter.counting = false;
      const ms = (cpu.user + cpu.system) / 1e3 / N;
      console.log(`${kind.padEnd(6)} statements ${(counter.total() / N).toFixed(2)} per intake; CPU ${ms.toFixed(2)} ms per intake; ${(N / (wall / 1000)).toFixed(0)} intakes/s one at a time`);
      for (const [sql, c] of counter.top(Number(args.top))) console.log(`  ${(c / N).toFixed(2).padStart(5)}  ${sql}`);
    }
  } finally {
    await baton?.close();
    await scratch.close();
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 200).unref(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
