/**
 * Scenario 1 — a platform outage during a burst of intakes. Slack and Teams (local fakes behind
 * fault proxies) answer 429 with Retry-After, then 500s, then hang, for OUTAGE_MS while BURST
 * handoffs arrive through the API. Afterwards every handoff has exactly one card in its team's
 * channel and one in its owner's DM/personal chat on each platform: none lost, none twice.
 *
 * CI size: RELIABILITY_BURST (default 1000) intakes, RELIABILITY_OUTAGE_MS (default 6000) of
 * outage. `npm run soak` runs the 60-second outage.
 */
import { jest } from '@jest/globals';
import { recordFigures, pool, sleep, until, type ProxyMode } from './helpers.js';
import { intakeBody, reliabilityPlaybook, slackChannel, teamsChannel } from './playbook.js';
import { cardOf, handoffIdOfCard, startPlatformRig, teamsFrom, teamsInstall, type PlatformRig } from './platforms.js';

const BURST = Number(process.env.RELIABILITY_BURST ?? 1000);
const OUTAGE_MS = Number(process.env.RELIABILITY_OUTAGE_MS ?? 6000);
const TEAMS = 10;
jest.setTimeout(Math.max(240_000, OUTAGE_MS * 7 + BURST * 300));

const playbook = reliabilityPlaybook({ teams: TEAMS });
let rig: PlatformRig;

beforeAll(async () => {
  rig = await startPlatformRig({ playbook, baton: { env: { BATON_OUTBOX_POLL_MS: '100' } } });
  // Teams learns its service URL from the first activity; after that Baton reaches every
  // channel and creates personal chats itself.
  expect((await rig.teamsPost(teamsInstall(rig, teamsFrom('adam')))).status).toBe(200);
  await until('the welcome card', () => rig.teams.ok('reply').length === 1);
});
afterAll(async () => {
  await rig?.stop();
});

async function pending(consumer: string): Promise<number> {
  const [r] = await rig.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE consumer = $1 AND delivered_at IS NULL AND failed_at IS NULL`, [consumer]);
  return Number(r!.n);
}

it(`${BURST} intakes during a ${OUTAGE_MS / 1000}s Slack and Teams outage (429 → 500 → hang): every card posted once, none lost`, async () => {
  const phase = OUTAGE_MS / 3;
  const schedule: [ProxyMode, ProxyMode][] = [
    [{ kind: 'ratelimit', retryAfterSec: 1 }, { kind: 'ratelimit', retryAfterSec: 1 }],
    [{ kind: 'http', status: 500 }, { kind: 'http', status: 503 }],
    // Slack may do the work after the client gave up (its retry must find the message by its
    // metadata); Teams' connector has no idempotency key and bots cannot read history, so there
    // a hang is a connection that never answers (see RELIABILITY.md).
    [{ kind: 'hang', release: 'late' }, { kind: 'hang', release: 'drop' }],
  ];
  const started = Date.now();
  const backlog = { slack: 0, teams: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      backlog.slack = Math.max(backlog.slack, await pending('slack'));
      backlog.teams = Math.max(backlog.teams, await pending('teams'));
      await sleep(250);
    }
  })();
  // Each phase lasts its share of OUTAGE_MS and until each platform has felt it (the outbox backs
  // off, and on a busy database deliveries are slow to come round): at least MIN_CALLS refused calls.
  // A rate limit pauses the whole lane for Retry-After (1 s here), so that phase sees about one
  // refused call per second per platform, not one per waiting card.
  const MIN_CALLS = [2, 10, 1];
  const phaseLog: { phase: string; ms: number; slack: number; teams: number }[] = [];
  const outage = (async () => {
    for (const [i, [slackMode, teamsMode]] of schedule.entries()) {
      const from = Date.now();
      const slackBefore = rig.slackProxy.calls.length;
      const teamsBefore = rig.teamsProxy.calls.length;
      rig.slackProxy.setMode(slackMode);
      rig.teamsProxy.setMode(teamsMode);
      await until(
        `the ${slackMode.kind} phase to be felt by both platforms`,
        () => Date.now() - from >= phase && rig.slackProxy.calls.length - slackBefore >= MIN_CALLS[i]! && rig.teamsProxy.calls.length - teamsBefore >= MIN_CALLS[i]!,
        Math.max(120_000, phase * 20),
        50,
      );
      phaseLog.push({ phase: slackMode.kind, ms: Date.now() - from, slack: rig.slackProxy.calls.length - slackBefore, teams: rig.teamsProxy.calls.length - teamsBefore });
    }
    rig.slackProxy.setMode({ kind: 'pass' });
    rig.teamsProxy.setMode({ kind: 'pass' });
    return Date.now();
  })();

  const bodies = Array.from({ length: BURST }, (_, i) => intakeBody({ team: (i % TEAMS) + 1 }));
  const created = await pool(bodies, 8, async (body) => {
    const r = await rig.baton.api('POST', '/api/handoffs', body);
    expect(r.status).toBe(201);
    return { id: r.json.id as number, owner: r.json.owner.id as string, team: Number(String(body.transition).slice('to_r'.length)) };
  });
  const burstMs = Date.now() - started;
  const outageEnded = await outage;

  // Deliveries drain by themselves once the platforms answer again: after the last backoff of the
  // outage (up to about as long as the outage itself) and the backlog's own delivery time.
  try {
    await until(
      'every Slack and Teams delivery to finish',
      async () => (await pending('slack')) === 0 && (await pending('teams')) === 0,
      Math.max(180_000, BURST * 200, OUTAGE_MS * 5),
      250,
    );
  } finally {
    sampling = false;
    await sampler;
  }
  const drained = Date.now();

  const failed = await rig.baton.db.sql.query<{ consumer: string; last_error: string }>(`SELECT consumer, last_error FROM outbox_delivery WHERE failed_at IS NOT NULL`);
  expect(failed).toEqual([]);

  // ---- Slack: one card per handoff in its team's channel and one in its owner's DM.
  const slackPosts = new Map<string, number>();
  for (const c of rig.slack.okCalls('chat.postMessage')) {
    const meta = c.args.metadata as { event_type?: string; event_payload?: { handoff_id?: unknown } } | undefined;
    if (meta?.event_type !== 'baton_handoff') continue;
    const key = `${String(meta.event_payload?.handoff_id)}|${String(c.args.channel)}`;
    slackPosts.set(key, (slackPosts.get(key) ?? 0) + 1);
  }
  // Posts Slack committed although Baton saw a timeout (the hang phase) are in `messages` too.
  const slackCards = new Map<string, number>();
  for (const m of rig.slack.messages) {
    if (m.thread_ts || m.metadata?.event_type !== 'baton_handoff') continue;
    const key = `${String(m.metadata.event_payload.handoff_id)}|${m.channel}`;
    slackCards.set(key, (slackCards.get(key) ?? 0) + 1);
  }
  const slackUserOf = (personId: string) => playbook.people.find((p) => p.id === personId)!.slackUserId!;
  let slackMissing = 0;
  for (const h of created) {
    for (const channel of [slackChannel(h.team), rig.slack.dmChannelOf(slackUserOf(h.owner))]) {
      if ((slackCards.get(`${h.id}|${channel}`) ?? 0) !== 1) slackMissing++;
    }
  }
  const slackDuplicates = [...slackCards.values()].filter((n) => n > 1).length;
  expect(slackDuplicates).toBe(0);
  expect(slackMissing).toBe(0);
  expect(slackCards.size).toBe(2 * BURST);
  // Thread replies (the "posted" event produces none; each audit event at most one per card).
  const replies = new Map<string, number>();
  for (const m of rig.slack.messages) {
    if (!m.thread_ts || m.metadata?.event_type !== 'baton_handoff_event') continue;
    const key = `${m.channel}|${m.thread_ts}|${String(m.metadata.event_payload.event_id)}`;
    replies.set(key, (replies.get(key) ?? 0) + 1);
  }
  expect([...replies.values()].filter((n) => n > 1)).toEqual([]);

  // ---- Teams: one card per handoff in its team's channel and one in its owner's chat.
  const teamsCards = new Map<string, number>();
  for (const c of rig.teams.ok('send')) {
    const id = handoffIdOfCard(cardOf(c.body));
    if (id === undefined) continue;
    const key = `${id}|${c.baseConversationId}`;
    teamsCards.set(key, (teamsCards.get(key) ?? 0) + 1);
  }
  const chats = new Map<string, string>();
  for (const c of rig.teams.ok('createConversation')) chats.set(c.body.members[0].id, c.responseId!);
  let teamsMissing = 0;
  for (const h of created) {
    const chat = chats.get(teamsFrom(h.owner).id);
    for (const conversation of [teamsChannel(h.team), chat]) {
      if (!conversation || (teamsCards.get(`${h.id}|${conversation}`) ?? 0) !== 1) teamsMissing++;
    }
  }
  const teamsDuplicates = [...teamsCards.values()].filter((n) => n > 1).length;
  expect(teamsDuplicates).toBe(0);
  expect(teamsMissing).toBe(0);
  expect(teamsCards.size).toBe(2 * BURST);

  // Every handoff reached "posted".
  const [{ n: notPosted }] = (await rig.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM handoff WHERE status <> 'posted'`)) as [{ n: string }];
  expect(Number(notPosted)).toBe(0);

  const slackRetries = rig.slackProxy.failures().length;
  const teamsRetries = rig.teamsProxy.failures().length;
  expect(slackRetries).toBeGreaterThan(0);
  expect(teamsRetries).toBeGreaterThan(0);
  const attempts = await rig.baton.db.sql.query<{ consumer: string; max: number; total: string }>(
    `SELECT consumer, max(attempts) AS max, sum(attempts)::text AS total FROM outbox_delivery WHERE consumer IN ('slack','teams') GROUP BY consumer ORDER BY consumer`,
  );
  const byMode = (calls: { mode: string; status: number }[]) => {
    const out: Record<string, number> = {};
    for (const c of calls) out[`${c.mode}:${c.status}`] = (out[`${c.mode}:${c.status}`] ?? 0) + 1;
    return out;
  };
  recordFigures('outage', {
    callsByPhase: { slack: byMode(rig.slackProxy.calls), teams: byMode(rig.teamsProxy.calls) },
    intakes: BURST,
    outageMs: outageEnded - started,
    phases: phaseLog,
    burstMs,
    intakesPerSecond: Math.round((BURST / burstMs) * 1000),
    drainAfterOutageMs: drained - outageEnded,
    totalMs: drained - started,
    slack: { cards: slackCards.size, duplicates: slackDuplicates, missing: slackMissing, failedCalls: slackRetries, callsTotal: rig.slackProxy.calls.length, maxBacklog: backlog.slack },
    teams: { cards: teamsCards.size, duplicates: teamsDuplicates, missing: teamsMissing, failedCalls: teamsRetries, callsTotal: rig.teamsProxy.calls.length, maxBacklog: backlog.teams },
    deliveryAttempts: Object.fromEntries(attempts.map((a) => [a.consumer, { max: Number(a.max), total: Number(a.total) }])),
  });
});
