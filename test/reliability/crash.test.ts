/**
 * Scenario 2 — SIGKILL in the middle of a burst. Baton runs as a child process (`node --import
 * tsx bots/main.ts`) on a PGlite data directory, or on a fresh schema of the PostgreSQL server
 * with DATABASE_URL, with Slack pointed at the local fake. INTAKES intakes (Idempotency-Key,
 * a transition with a 6-second accept SLA) and ACTIONS accepts are fired concurrently; the
 * process is killed with SIGKILL half-way, restarted on the same database, and the clients do
 * what a client should: re-send every request that got no answer (same Idempotency-Key).
 * Then:
 *  - every intake exists exactly once (the acknowledged ones with the id they were given);
 *  - every accept is applied exactly once (one audit event, one outbox event);
 *  - every due SLA timer fired exactly once (one escalation per unaccepted handoff, at most one
 *    reminder, one row per step in the sla_firing ledger, no overdue job left);
 *  - every Slack card was posted exactly once, in the team channel and the owner's DM.
 *
 * CI size: RELIABILITY_CRASH_INTAKES (default 100) and RELIABILITY_CRASH_ACTIONS (default 40);
 * `npm run soak` runs 500 and 200.
 */
import { jest } from '@jest/globals';
import { openDatabase, type Database } from '../../src/store/database.js';
import { FakeSlackApi } from '../fakes/slackApi.js';
import { CHILD_TOKEN, childDatabase, startChildBaton, type ChildBaton, type ChildDatabase } from './child.js';
import { recordFigures, pool, sleep, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, reliabilityPlaybookYaml, slackChannel } from './playbook.js';
import { BOT_TOKEN, SIGNING_SECRET } from './platforms.js';
import { join } from 'node:path';

const INTAKES = Number(process.env.RELIABILITY_CRASH_INTAKES ?? 100);
const ACTIONS = Number(process.env.RELIABILITY_CRASH_ACTIONS ?? 40);
const ACCEPT_SLA_S = 6;
/** Slack's per-channel pacing in the child; production paces about one post per second per channel. */
const POST_INTERVAL_MS = Number(process.env.RELIABILITY_SLACK_POST_INTERVAL_MS ?? 20);
/**
 * How long the cards and escalation notices may take after the restart. The Slack lane delivers
 * in commit order, so with production pacing a burst drains at a few posts per second (about
 * three calls per handoff: the cards, their updates, the notice).
 */
const SETTLE_MS = Math.max(180_000, Math.round((3 * (INTAKES + ACTIONS) + INTAKES) * POST_INTERVAL_MS / 3));
jest.setTimeout(300_000 + (INTAKES + ACTIONS) * 300 + 2 * SETTLE_MS);

const TEAMS = 8;
const yaml = reliabilityPlaybookYaml({ teams: TEAMS, timed: { accept: `${ACCEPT_SLA_S}s`, nudgesAt: [0.5] } });
const playbook = reliabilityPlaybook({ teams: TEAMS, timed: { accept: `${ACCEPT_SLA_S}s`, nudgesAt: [0.5] } });

let slack: FakeSlackApi;
let dbh: ChildDatabase;
let env: Record<string, string>;
const children: ChildBaton[] = [];

beforeAll(async () => {
  slack = await new FakeSlackApi({ token: BOT_TOKEN, users: playbook.people.map((p) => ({ id: p.slackUserId!, email: p.email, name: p.name })) }).start();
  dbh = childDatabase(yaml);
  env = { ...dbh.env, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl };
});
afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL');
  await slack?.stop();
  await dbh?.drop();
});

/**
 * The process `npm start` runs, with Slack's per-channel pacing shortened for CI sizes
 * (RELIABILITY_SLACK_POST_INTERVAL_MS, default 20 ms here: this scenario is about the crash, not Slack's pacing).
 */
async function start(): Promise<ChildBaton> {
  const c = await startChildBaton({ RELIABILITY_SLACK_POST_INTERVAL_MS: String(POST_INTERVAL_MS), ...env }, { entry: 'test/reliability/childMain.ts' });
  children.push(c);
  return c;
}

type Result = { kind: 'ok'; status: number; id: number } | { kind: 'refused'; status: number; code: string } | { kind: 'no answer'; error: string };

async function send(baton: ChildBaton, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Result> {
  try {
    const r = await baton.api(method, path, body, headers);
    if (r.status >= 200 && r.status < 300) return { kind: 'ok', status: r.status, id: r.json.id };
    return { kind: 'refused', status: r.status, code: String(r.json?.error?.code ?? '') };
  } catch (err) {
    return { kind: 'no answer', error: err instanceof Error ? `${err.message} ${String((err as { cause?: { code?: string } }).cause?.code ?? '')}` : String(err) };
  }
}

it(`SIGKILL during ${INTAKES} intakes and ${ACTIONS} accepts on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}: nothing lost, nothing applied twice, every due timer fires once`, async () => {
  const first = await start();
  // Targets of the accepts, created (and acknowledged) before the storm.
  const targets = await pool(Array.from({ length: ACTIONS }, (_, i) => i), 8, async (i) => {
    const r = await first.api('POST', '/api/handoffs', intakeBody({ team: (i % TEAMS) + 1, tag: `target-${i}` }));
    expect(r.status).toBe(201);
    return { id: r.json.id as number, owner: r.json.owner.id as string };
  });

  // ---- The storm: intakes and accepts interleaved, 16 in flight; SIGKILL half-way.
  type Job = { kind: 'intake'; key: string; body: Record<string, unknown> } | { kind: 'accept'; id: number; actor: string };
  const jobs: Job[] = [];
  for (let i = 0; i < INTAKES; i++) {
    jobs.push({ kind: 'intake', key: `crash-${i}`, body: intakeBody({ transition: `timed_r${(i % TEAMS) + 1}`, tag: `storm-${i}` }) });
    const t = targets[Math.floor((i * ACTIONS) / INTAKES)];
    if (t && (i * ACTIONS) % INTAKES < ACTIONS) jobs.push({ kind: 'accept', id: t.id, actor: t.owner });
  }
  for (const t of targets) if (!jobs.some((j) => j.kind === 'accept' && j.id === t.id)) jobs.push({ kind: 'accept', id: t.id, actor: t.owner });
  const killAfter = Math.floor(jobs.length / 2);
  let done = 0;
  let killedAt = 0;
  const stormStarted = Date.now();
  const results = await pool(jobs, 16, async (job) => {
    const r =
      job.kind === 'intake'
        ? await send(first, 'POST', '/api/handoffs', job.body, { 'idempotency-key': job.key })
        : await send(first, 'POST', `/api/handoffs/${job.id}/actions`, { action: 'accept', actor: job.actor });
    if (++done === killAfter) {
      killedAt = Date.now();
      first.proc.kill('SIGKILL');
    }
    return r;
  });
  await first.exited;
  expect(first.proc.signalCode).toBe('SIGKILL');
  const acked = results.filter((r) => r.kind === 'ok').length;
  const unanswered = results.filter((r) => r.kind === 'no answer').length;
  // Nothing was refused: a request either succeeded or got no answer at all.
  expect(results.filter((r) => r.kind === 'refused')).toEqual([]);
  expect(acked).toBeGreaterThan(0);
  expect(unanswered).toBeGreaterThan(0);

  // ---- Restart on the same database; clients re-send what got no answer.
  const restartStarted = Date.now();
  const second = await start();
  const restartMs = Date.now() - restartStarted;
  const resent = await pool(
    jobs.map((job, i) => ({ job, i })).filter(({ i }) => results[i]!.kind === 'no answer'),
    16,
    async ({ job, i }) => {
      const r =
        job.kind === 'intake'
          ? await send(second, 'POST', '/api/handoffs', job.body, { 'idempotency-key': job.key })
          : await send(second, 'POST', `/api/handoffs/${job.id}/actions`, { action: 'accept', actor: job.actor });
      return { i, r };
    },
  );
  let replayed = 0;
  let appliedBeforeCrash = 0;
  for (const { i, r } of resent) {
    const job = jobs[i]!;
    if (job.kind === 'intake') {
      // 201: it never reached the database; 200: it had committed, only the answer was lost.
      expect(r.kind).toBe('ok');
      if (r.kind === 'ok' && r.status === 200) replayed++;
      results[i] = r;
    } else {
      // Applied now, or refused because the lost attempt had already applied it.
      if (r.kind === 'refused') {
        expect(r.status).toBe(409);
        expect(r.code).toBe('already_accepted');
        appliedBeforeCrash++;
      } else expect(r.kind).toBe('ok');
    }
  }

  // ---- Wait until every timer is due and has fired, and every delivery is done.
  const intakeIds = jobs.map((j, i) => (j.kind === 'intake' ? (results[i] as Extract<Result, { kind: 'ok' }>).id : null)).filter((x): x is number => x !== null);
  expect(new Set(intakeIds).size).toBe(INTAKES);
  const settleStarted = Date.now();
  const count = async (status: string) => {
    let n = 0;
    let before: number | null = null;
    do {
      const r = await second.api('GET', `/api/handoffs?status=${status}&limit=200${before ? `&before=${before}` : ''}`);
      n += r.json.handoffs.length;
      before = r.json.nextBefore;
    } while (before);
    return n;
  };
  await until('an escalation for every timed handoff', async () => (await count('escalated')) === INTAKES, SETTLE_MS, 500);
  // Slack has every card and every escalation notice, and then nothing more arrives for 2 s.
  let progress = '';
  await until('every Slack card and escalation notice', () => {
    const keys = new Set(slack.messages.filter((m) => !m.thread_ts && m.metadata?.event_type === 'baton_handoff').map((m) => `${String(m.metadata!.event_payload.handoff_id)}|${m.channel}`));
    const noticed = new Set(slack.messages.filter((m) => m.metadata?.event_type === 'baton_notice').map((m) => String(m.metadata!.event_payload.handoff_id)));
    progress = `${keys.size}/${2 * (INTAKES + ACTIONS)} cards, ${noticed.size}/${INTAKES} escalation notices, ${slack.calls.length} Slack calls, last ${JSON.stringify(slack.calls.at(-1)?.method)} ${slack.calls.at(-1)?.error ?? ''}`;
    return keys.size >= 2 * (INTAKES + ACTIONS) && noticed.size >= INTAKES;
  }, SETTLE_MS, 500).catch((err: unknown) => {
    throw new Error(`${String(err)} (${progress})`);
  });
  // Every outbox delivery done (the SLA engine arming the next phase's timers makes no Slack call):
  // read from the running Baton's own /metrics gauge, since PGlite cannot be opened beside it.
  await until('every outbox delivery to be done', async () => {
    const r = await fetch(`${second.url}/metrics`, { headers: { authorization: `Bearer ${CHILD_TOKEN}` } });
    const m = /^baton_outbox_pending_deliveries (\d+)/m.exec(await r.text());
    return m !== null && m[1] === '0';
  }, SETTLE_MS, 500);
  for (let calls = -1; calls !== slack.calls.length; ) {
    calls = slack.calls.length;
    await sleep(2000); // a duplicate firing or a late second post would show up now
  }
  const settleMs = Date.now() - settleStarted;
  await second.kill('SIGTERM');
  expect(await second.exited).toBe(0);

  // ---- Verify on the database itself.
  const db: Database = dbh.kind === 'pglite' ? await openDatabase({ dataDir: join(dbh.env.BATON_DATA_DIR!, 'pglite') }) : await openDatabase({ url: dbh.url!, dataDir: '' });
  try {
    const q = <T>(sql: string, params?: unknown[]) => db.sql.query<T>(sql, params);
    // Intakes: each key exactly once, the acknowledged ones with the id they were given.
    const keys = await q<{ idempotency_key: string; n: string; id: number }>(`SELECT idempotency_key, count(*)::text AS n, min(id) AS id FROM handoff WHERE idempotency_key LIKE 'crash-%' GROUP BY idempotency_key`);
    expect(keys).toHaveLength(INTAKES);
    expect(keys.filter((k) => k.n !== '1')).toEqual([]);
    const byKey = new Map(keys.map((k) => [k.idempotency_key, k.id]));
    jobs.forEach((j, i) => {
      if (j.kind === 'intake') expect(byKey.get(j.key)).toBe((results[i] as Extract<Result, { kind: 'ok' }>).id);
    });
    const [{ n: total }] = (await q<{ n: string }>(`SELECT count(*)::text AS n FROM handoff`)) as [{ n: string }];
    expect(Number(total)).toBe(INTAKES + ACTIONS);

    // Accepts: exactly one per target, in the audit trail and in the outbox.
    const accepts = await q<{ handoff_id: number; events: string; outbox: string }>(
      `SELECT h.id AS handoff_id,
              (SELECT count(*) FROM handoff_event e WHERE e.handoff_id = h.id AND e.type = 'accepted')::text AS events,
              (SELECT count(*) FROM outbox_event o WHERE o.handoff_id = h.id AND o.type = 'handoff.accepted')::text AS outbox
       FROM handoff h WHERE h.id = ANY($1::int[])`,
      [targets.map((t) => t.id)],
    );
    expect(accepts).toHaveLength(ACTIONS);
    expect(accepts.filter((a) => a.events !== '1' || a.outbox !== '1')).toEqual([]);

    // Timers: one escalation per timed handoff, at most one reminder, each step once in the ledger.
    const timers = await q<{ id: number; escalations: string; nudges: string; fired_escalate: string; fired_nudge: string }>(
      `SELECT h.id,
              (SELECT count(*) FROM handoff_event e WHERE e.handoff_id = h.id AND e.type = 'escalated')::text AS escalations,
              (SELECT count(*) FROM handoff_event e WHERE e.handoff_id = h.id AND e.type = 'nudged')::text AS nudges,
              (SELECT count(*) FROM sla_firing f WHERE f.handoff_id = h.id AND f.step LIKE '%escalate%')::text AS fired_escalate,
              (SELECT count(*) FROM sla_firing f WHERE f.handoff_id = h.id AND f.step LIKE '%nudge%')::text AS fired_nudge
       FROM handoff h WHERE h.transition_id LIKE 'timed_%'`,
    );
    expect(timers).toHaveLength(INTAKES);
    expect(timers.filter((t) => t.escalations !== '1' || t.fired_escalate !== '1')).toEqual([]);
    expect(timers.filter((t) => Number(t.nudges) > 1 || t.nudges !== t.fired_nudge)).toEqual([]);
    const overdue = await q<{ n: string }>(`SELECT count(*)::text AS n FROM agenda_jobs WHERE next_run_at IS NOT NULL AND next_run_at < now() - interval '5 seconds'`);
    expect(overdue[0]!.n).toBe('0');
    const nudged = timers.filter((t) => t.nudges === '1').length;

    // Outbox: nothing failed, nothing pending.
    const outbox = await q<{ pending: string; failed: string; max_attempts: number }>(
      `SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL)::text AS pending, count(*) FILTER (WHERE failed_at IS NOT NULL)::text AS failed, max(attempts) AS max_attempts FROM outbox_delivery`,
    );
    const open = await q<{ consumer: string; type: string; n: string; attempts: number; last_error: string | null }>(
      `SELECT d.consumer, e.type, count(*)::text AS n, max(d.attempts) AS attempts, max(d.last_error) AS last_error
       FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id
       WHERE d.delivered_at IS NULL GROUP BY d.consumer, e.type ORDER BY d.consumer, e.type`,
    );
    expect({ ...outbox[0], open }).toMatchObject({ pending: '0', failed: '0', open: [] });

    // Slack: every handoff's two cards, each posted once.
    const handoffs = await q<{ id: number; owner_id: string; team_id: string }>(`SELECT id, owner_id, team_id FROM handoff`);
    const cards = new Map<string, number>();
    for (const m of slack.messages) {
      if (m.thread_ts || m.metadata?.event_type !== 'baton_handoff') continue;
      const k = `${String(m.metadata.event_payload.handoff_id)}|${m.channel}`;
      cards.set(k, (cards.get(k) ?? 0) + 1);
    }
    const duplicates = [...cards.entries()].filter(([, n]) => n > 1);
    let missing = 0;
    for (const h of handoffs) {
      const owner = playbook.people.find((p) => p.id === h.owner_id)!;
      for (const ch of [slackChannel(Number(h.team_id.slice(1))), slack.dmChannelOf(owner.slackUserId!)]) if (cards.get(`${h.id}|${ch}`) !== 1) missing++;
    }
    expect(duplicates).toEqual([]);
    expect(missing).toBe(0);

    recordFigures('crash', {
      intakes: INTAKES,
      accepts: ACTIONS,
      requestsBeforeKill: killAfter,
      acknowledgedBeforeKill: acked,
      unansweredAtKill: unanswered,
      killedAfterMs: killedAt - stormStarted,
      restartMs,
      resentIntakesThatHadCommitted: replayed,
      resentAcceptsThatHadApplied: appliedBeforeCrash,
      settleAfterRestartMs: settleMs,
      handoffs: Number(total),
      escalations: timers.length,
      remindersSent: nudged,
      remindersSkippedAsStale: INTAKES - nudged,
      slackCards: cards.size,
      slackDuplicates: duplicates.length,
      maxDeliveryAttempts: Number(outbox[0]!.max_attempts),
    });
  } finally {
    await db.close();
  }
});
