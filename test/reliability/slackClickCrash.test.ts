/**
 * Issue 15 item 10 — a Slack click is stored before it is acknowledged. Slack does not re-send a
 * click it got a 200 for, so a process that acknowledges a click and dies before handling it
 * loses it, unless it stored it first.
 *
 * A real child Baton (`bots/main.ts`, as `npm start` runs it) with Slack pointed at the local fake
 * and BATON_TEST_CRASH_AFTER_CLICK_ACK=1: it SIGKILLs itself right after acknowledging a click.
 * A signed block_actions Accept is posted; the answer is 200 and the process is dead. A second
 * Baton starts on the same data directory (or PostgreSQL schema), replays the stored click once its
 * lease (15 s) has expired, and the accept is applied exactly once: the handoff accepted by its
 * owner, one `accepted` audit event, each card updated once, one thread reply per card.
 */
import { jest } from '@jest/globals';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { signSlackRequest } from '../../bots/slack/verify.js';
import { FakeSlackApi } from '../fakes/slackApi.js';
import { childDatabase, startChildBaton, type ChildBaton, type ChildDatabase } from './child.js';
import { sleep, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, reliabilityPlaybookYaml } from './playbook.js';
import { BOT_TOKEN, FORM, SIGNING_SECRET, slackClick, type PlatformRig } from './platforms.js';

jest.setTimeout(180_000);

const playbook = reliabilityPlaybook({ teams: 1 });
let slack: FakeSlackApi;
let dbh: ChildDatabase;
let env: Record<string, string>;
const children: ChildBaton[] = [];

beforeAll(async () => {
  slack = await new FakeSlackApi({ token: BOT_TOKEN, users: playbook.people.map((p) => ({ id: p.slackUserId!, email: p.email, name: p.name })) }).start();
  dbh = childDatabase(reliabilityPlaybookYaml({ teams: 1 }));
  env = { ...dbh.env, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl };
});
afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL');
  await slack?.stop();
  await dbh?.drop();
});

async function start(extra: Record<string, string> = {}): Promise<ChildBaton> {
  const c = await startChildBaton({ ...env, ...extra });
  children.push(c);
  return c;
}

/** Resolves with how the process ended, or with 'alive' after `ms`. */
function endedWithin(c: ChildBaton, ms: number): Promise<NodeJS.Signals | number | 'alive'> {
  return Promise.race([c.exited.then((code) => c.proc.signalCode ?? code ?? 'alive'), sleep(ms).then(() => 'alive' as const)]);
}

it(`a click acknowledged and then SIGKILLed is applied exactly once after a restart (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, async () => {
  const first = await start({ BATON_TEST_CRASH_AFTER_CLICK_ACK: '1' });
  const created = await first.api('POST', '/api/handoffs', intakeBody({ team: 1, tag: 'click-crash' }));
  expect(created.status).toBe(201);
  const id = created.json.id as number;
  const owner = playbook.people.find((p) => p.id === created.json.owner.id)!;
  // The cards are out (channel and DM), so the accept has cards to update.
  await until('both cards posted', () => slack.cardsFor(id).length === 2, 30_000, 100);
  // Slack has the cards a moment before Baton records them as posted (the post, then the record).
  await until('the handoff recorded as posted', async () => (await first.api('GET', `/api/handoffs/${id}`)).json.status === 'posted', 30_000, 100);
  const before = await first.api('GET', `/api/handoffs/${id}`);
  expect(before.json.status).toBe('posted');
  const repliesOf = (c: { channel: string; ts: string }) => slack.replies(c.channel, c.ts).filter((m) => m.metadata?.event_type === 'baton_handoff_event').length;
  const repliesBefore = new Map(slack.cardsFor(id).map((c) => [c.ts, repliesOf(c)]));

  // ---- The click: answered 200, then the process is gone.
  const click = slackClick({ slack } as unknown as PlatformRig, { user: owner.slackUserId!, actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, before.json.version) });
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${first.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': FORM, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(SIGNING_SECRET, ts, click.body) },
    body: click.body,
  });
  expect(res.status).toBe(200);
  const ackedAt = Date.now();
  expect(await endedWithin(first, 10_000)).toBe('SIGKILL');
  const updatesBefore = slack.callsTo('chat.update').length;

  // ---- A second Baton on the same database: the stored click is replayed once its lease expires.
  const second = await start();
  const accepted = await until(
    'the stored accept to be applied',
    async () => {
      const r = await second.api('GET', `/api/handoffs/${id}`);
      return r.json.status === 'accepted' ? r.json : undefined;
    },
    60_000,
    250,
  );
  const appliedAfterMs = Date.now() - ackedAt;
  // Each card updated (and a thread reply posted) once; then nothing more arrives.
  await until('both cards updated', () => slack.callsTo('chat.update').length - updatesBefore >= 2, 30_000, 100);
  await sleep(6_000); // a second replay pass (every 5 s) would show up now
  expect(accepted).toMatchObject({ status: 'accepted', version: before.json.version + 1, owner: { id: owner.id } });
  const events = (await second.api('GET', `/api/handoffs/${id}`)).json.events as { type: string; actor?: { id: string } }[];
  expect(events.filter((e) => e.type === 'accepted')).toEqual([expect.objectContaining({ actor: expect.objectContaining({ id: owner.id }) })]);
  const cards = slack.cardsFor(id);
  expect(cards).toHaveLength(2);
  for (const card of cards) {
    expect(card.updates).toBe(1);
    expect(repliesOf(card) - repliesBefore.get(card.ts)!).toBe(1);
  }
  expect(second.lines.filter((l) => l.includes('replaying a click stored but not applied'))).toHaveLength(1);
  await second.kill('SIGTERM');
  expect(await second.exited).toBe(0);

  // ---- The inbox row itself: stored once, applied, two attempts (the lost one and the replay).
  const db = dbh.kind === 'pglite' ? await openDatabase({ dataDir: join(dbh.env.BATON_DATA_DIR!, 'pglite') }) : await openDatabase({ url: dbh.url!, dataDir: '' });
  try {
    const rows = await db.prisma.platformInbox.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ platform: 'slack', attempts: 2, failedAt: null });
    expect(rows[0]!.appliedAt).not.toBeNull();
    expect((rows[0]!.payload as Record<string, unknown>).message).toBeUndefined();
    console.log(`[reliability] slack-click-crash (${dbh.kind}): applied ${appliedAfterMs} ms after the ack (lease 15 s, recovery every 5 s)`);
  } finally {
    await db.close();
  }
});
