/**
 * Measures the weekly KPI report over a large history on PostgreSQL.
 *   npx tsx scripts/bench-kpis.ts [--handoffs 1000000] [--runs 7] [--keep] [--schema bench_kpis]
 * Uses DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) in its own schema
 * (`bench_kpis` unless --schema names another; `npm run bench` gives each run its own), generates the history with SQL (handoffs spread over 52 weeks, 3 audit events
 * each, a breach on ~6 %), then times computeKpis for the last full week.
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { openDatabase } from '../src/store/database.js';
import { applyMigrations } from '../src/store/migrate.js';
import { loadPlaybook } from '../src/playbook/load.js';
import { computeKpis } from '../src/reports/kpis.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const N = Number(arg('handoffs', '1000000'));
const RUNS = Number(arg('runs', '7'));
const base = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const url = new URL(base);
const SCHEMA = arg('schema', 'bench_kpis');
if (!/^[a-z_][a-z0-9_]{0,50}$/.test(SCHEMA)) throw new Error('--schema must be a plain lower-case identifier');
url.searchParams.set('schema', SCHEMA);

const db = await openDatabase({ url: url.toString(), dataDir: '' });
await applyMigrations(db.sql, {});
const pb = await loadPlaybook('playbook.yml');
const end = new Date('2026-11-23T00:00:00Z'); // a Monday
const start = new Date(end.getTime() - 52 * 7 * 86_400_000);

const n = (await db.sql.query<{ n: string }>('SELECT count(*)::text AS n FROM handoff'))[0]?.n ?? '0';
if (Number(n) !== N) {
  console.log(`generating ${N.toLocaleString()} handoffs (found ${n})…`);
  const t0 = performance.now();
  await db.sql.exec('TRUNCATE handoff_event, sla_breach, account_owner, card_ref, outbox_delivery, outbox_event, handoff, account, person, team RESTART IDENTITY CASCADE');
  for (const t of pb.teams) await db.sql.query(`INSERT INTO team (id, name, stage, time_zone, lead_id, head_id, updated_at) VALUES ($1,$2,$3,$4,$5,$6,now())`, [t.id, t.name, t.stage, t.calendar.timeZone, t.leadId, t.headId]);
  for (const p of pb.people) await db.sql.query(`INSERT INTO person (id, name, email, team_id, time_zone, active, updated_at) VALUES ($1,$2,$3,$4,$5,true,now())`, [p.id, p.name, p.email, p.teamId, p.timeZone]);
  await db.sql.query(`INSERT INTO account (name, name_key, domain, created_at) SELECT 'Account ' || g, 'account ' || g, 'acct' || g || '.example', $1 FROM generate_series(1, 50000) g`, [start]);
  const transitions = pb.transitions.map((t) => [t.id, t.toTeamId, pb.teams.find((x) => x.id === t.toTeamId)!.leadId]);
  const sender = pb.people[0]!.id;
  await db.sql.query(
    `WITH tr AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(id, team, owner, i)),
     g AS (SELECT s, $4::timestamptz + (random() * (extract(epoch FROM $5::timestamptz - $4::timestamptz))) * interval '1 second' AS created,
                  1 + floor(random() * 8)::int AS ti, random() AS r, random() AS r2 FROM generate_series(1, $6::int) s)
     INSERT INTO handoff (transition_id, account_id, from_id, owner_id, team_id, status, packet, routing_reason, version, policy,
                          sla_accept_due_at, created_at, updated_at, accepted_at, accept_wall_s, accept_business_s, reassign_count, reject_reason, closed_at)
     SELECT tr.id, 1 + (g.s % 50000), $7, tr.owner, tr.team,
            CASE WHEN g.r < 0.70 THEN 'accepted' WHEN g.r < 0.80 THEN 'rejected' WHEN g.r < 0.85 THEN 'withdrawn' WHEN g.r < 0.95 THEN 'completed' ELSE 'posted' END,
            '{}'::jsonb, 'bench', 2, '{}'::jsonb, g.created + interval '4 hours', g.created, g.created,
            CASE WHEN g.r < 0.70 OR (g.r >= 0.85 AND g.r < 0.95) THEN g.created + (g.r2 * 8) * interval '1 hour' END,
            CASE WHEN g.r < 0.70 OR (g.r >= 0.85 AND g.r < 0.95) THEN (g.r2 * 8 * 3600)::int END,
            CASE WHEN g.r < 0.70 OR (g.r >= 0.85 AND g.r < 0.95) THEN (g.r2 * 5 * 3600)::int END,
            CASE WHEN g.r2 < 0.08 THEN 1 ELSE 0 END,
            CASE WHEN g.r >= 0.70 AND g.r < 0.80 THEN 'missing_context' END,
            CASE WHEN g.r >= 0.70 AND g.r < 0.95 THEN g.created + interval '1 day' END
     FROM g JOIN tr ON tr.i = g.ti
     ORDER BY g.created`, // rows arrive in time order in real life, so a week is physically contiguous
    [transitions.map((t) => t[0]), transitions.map((t) => t[1]), transitions.map((t) => t[2]), start, end, N, sender],
  );
  await db.sql.exec(`INSERT INTO handoff_event (handoff_id, version, type, actor_id, at, from_status, to_status)
    SELECT id, v, (ARRAY['received','routed','accepted'])[v + 1], owner_id, created_at + v * interval '1 minute', NULL, 'x'
    FROM handoff, generate_series(0, 2) v`);
  await db.sql.exec(`INSERT INTO sla_breach (handoff_id, transition_id, team_id, kind, owner_id, due_at, fired_at, level)
    SELECT id, transition_id, team_id, 'accept', owner_id, sla_accept_due_at, sla_accept_due_at, 1 FROM handoff WHERE accept_wall_s > 4 * 3600 OR status = 'posted'`);
  await db.sql.exec('ANALYZE');
  console.log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const counts = await db.sql.query<{ h: string; e: string; b: string }>('SELECT (SELECT count(*) FROM handoff)::text h, (SELECT count(*) FROM handoff_event)::text e, (SELECT count(*) FROM sla_breach)::text b');
const week = { from: new Date(end.getTime() - 7 * 86_400_000), to: end };
const times: number[] = [];
let volume = 0;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const r = await computeKpis(db, pb, week);
  times.push(performance.now() - t0);
  volume = r.overall.volume;
}
times.sort((a, b) => a - b);
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${db.description}`);
console.log(`history: ${Number(counts[0]!.h).toLocaleString()} handoffs, ${Number(counts[0]!.e).toLocaleString()} events, ${Number(counts[0]!.b).toLocaleString()} breaches; the week holds ${volume.toLocaleString()} handoffs`);
console.log(`weekly KPI report (2 periods + reasons + breaches), ${RUNS} runs: median ${fmt(times[Math.floor(times.length / 2)]!)}, min ${fmt(times[0]!)}, max ${fmt(times.at(-1)!)} (first run includes a cold cache)`);
if (!process.argv.includes('--keep')) {
  await db.sql.exec(`DROP SCHEMA "${SCHEMA}" CASCADE`);
}
await db.close();
