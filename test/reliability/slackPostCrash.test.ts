/**
 * Issue 18 — a crash between a Slack post and its record. Slack accepts the post, and the process
 * dies before it learns the message id, so its "about to post" row stays without one. The retry —
 * here by another process on the same database — must find the message Slack already has (by its
 * metadata, in the channel's history) and record it, not post the card a second time.
 *
 * A real child Baton (`bots/main.ts`, as `npm start` runs it) with Slack pointed at the local fake.
 * The fake posts the first chat.postMessage (the channel card) and never answers it; once the card
 * is in the channel the child is SIGKILLed. A second Baton starts on the same data directory (or
 * PostgreSQL schema); when the dead process's claim on the delivery has run out it delivers
 * `routed` again: one channel card (the first process's), the DM card, the handoff posted.
 */
import { jest } from '@jest/globals';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { FakeSlackApi } from '../fakes/slackApi.js';
import { childDatabase, startChildBaton, type ChildBaton, type ChildDatabase } from './child.js';
import { until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, reliabilityPlaybookYaml, slackChannel } from './playbook.js';
import { BOT_TOKEN, SIGNING_SECRET } from './platforms.js';

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

async function start(): Promise<ChildBaton> {
  const c = await startChildBaton(env);
  children.push(c);
  return c;
}

it(`a card Slack posted for a process that died before recording it is found, not posted again (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, async () => {
  const first = await start();
  slack.inject({ kind: 'commitThenHang' }, { method: 'chat.postMessage', times: 1 });
  const created = await first.api('POST', '/api/handoffs', intakeBody({ team: 1, tag: 'post-crash' }));
  expect(created.status).toBe(201);
  const id = created.json.id as number;
  const channel = slackChannel(1);

  // ---- Slack has the channel card; the process waits for an answer that never comes, and dies.
  const posted = await until('the channel card in Slack', () => slack.cardsFor(id).find((c) => c.channel === channel), 30_000, 50);
  await first.kill('SIGKILL');
  expect(slack.calls.filter((c) => c.error === 'committed_then_no_answer')).toHaveLength(1);
  expect(slack.cardsFor(id)).toHaveLength(1);

  // ---- Another process on the same database takes the delivery over once the dead one's claim runs out.
  const historyBefore = slack.okCalls('conversations.history').length;
  const second = await start();
  await until(
    'the handoff posted, with its DM card',
    async () => (await second.api('GET', `/api/handoffs/${id}`)).json.status === 'posted' && slack.cardsFor(id).length === 2,
    120_000,
    250,
  );
  const cards = slack.cardsFor(id);
  expect(cards.filter((c) => c.channel === channel)).toEqual([posted]);
  expect(cards.filter((c) => c.channel !== channel)).toHaveLength(1);
  // It looked for its own message by metadata before posting.
  const searches = slack.okCalls('conversations.history').slice(historyBefore);
  expect(searches.some((c) => c.args.channel === channel && c.args.include_all_metadata === true)).toBe(true);
  expect(second.lines.filter((l) => l.includes('found the message an earlier attempt posted'))).toHaveLength(1);
  await second.kill('SIGTERM');
  expect(await second.exited).toBe(0);

  // ---- The record now names the message the first process posted.
  const db = dbh.kind === 'pglite' ? await openDatabase({ dataDir: join(dbh.env.BATON_DATA_DIR!, 'pglite') }) : await openDatabase({ url: dbh.url!, dataDir: '' });
  try {
    const row = await db.prisma.cardRef.findFirst({ where: { handoffId: id, platform: 'slack', kind: 'channel' } });
    expect(row).toMatchObject({ conversationId: channel, messageId: posted.ts, claimedUntil: null });
  } finally {
    await db.close();
  }
});
