/**
 * Scenario 4 — requests Baton must not act on twice, or at all.
 *  - Slack retries an event (X-Slack-Retry-Num) and a captured request is replayed inside the
 *    signature window: each is processed once.
 *  - Forged signature, stale or future timestamp, missing headers (Slack); missing, wrong,
 *    expired or forged tokens (Teams); missing or wrong bearer token (API): 401, and not one row
 *    in any table changes and nothing is sent to a platform.
 */
import { jest } from '@jest/globals';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { FakeBotConnector } from '../fakes/botConnector.js';
import { diffCounts, recordFigures, rowCounts, sleep, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, slackUser } from './playbook.js';
import { FORM, slackClick, slackEvent, startPlatformRig, teamsFrom, teamsInstall, teamsInvoke, teamsMessage, type PlatformRig } from './platforms.js';

jest.setTimeout(120_000);
const playbook = reliabilityPlaybook({ teams: 1 });
let rig: PlatformRig;
let handoffId: number;
let version: number;

// botframework-connector prints each refused token to the console; keep the output readable.
let quiet: ReturnType<typeof jest.spyOn>;
beforeAll(async () => {
  quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  rig = await startPlatformRig({ playbook });
  expect((await rig.teamsPost(teamsInstall(rig, teamsFrom('adam')))).status).toBe(200);
  const r = await rig.baton.api('POST', '/api/handoffs', intakeBody({ team: 1, to: 'own1a' }));
  handoffId = r.json.id;
  const view = await until('posted', async () => {
    const v = await rig.baton.service.get(handoffId, { events: false });
    return v.status === 'posted' ? v : undefined;
  });
  version = view.version;
  await until('deliveries done', async () => {
    const [x] = await rig.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE delivered_at IS NULL AND failed_at IS NULL`);
    return x!.n === '0';
  });
});
afterAll(async () => {
  await rig?.stop();
  quiet.mockRestore();
});

/** Everything a request could have changed: every table's row count, the handoff, and every call to a platform. */
async function snapshot() {
  await sleep(300); // let anything a request set off happen
  return {
    rows: await rowCounts(rig.baton.db.sql),
    handoff: await rig.baton.service.get(handoffId, { events: false }),
    slackCalls: rig.slack.calls.length,
    slackResponses: rig.slack.responses.length,
    teamsCalls: rig.teams.calls.length,
  };
}

describe('retries and replays are processed once', () => {
  it('a Slack event retried by Slack (X-Slack-Retry-Num) and replayed later is handled once', async () => {
    const user = slackUser('own1a');
    const body = slackEvent(rig, 'Ev0REL0001', { type: 'app_home_opened', user, channel: 'D0REL', tab: 'home', event_ts: '1.2' });
    const published = () => rig.slack.views.filter((v) => v.method === 'views.publish' && v.userId === user).length;
    expect((await rig.slackPost(body, 'application/json')).status).toBe(200);
    await until('the Home tab', () => published() === 1);
    expect((await rig.slackPost(body, 'application/json', { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } })).status).toBe(200);
    expect((await rig.slackPost(body, 'application/json', { headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' } })).status).toBe(200);
    // A replay: the same event, signed again (an attacker inside the window would re-send the captured bytes).
    expect((await rig.slackPost(body, 'application/json', { timestamp: Math.floor(Date.now() / 1000) - 60 })).status).toBe(200);
    await sleep(500);
    expect(published()).toBe(1);
    const rows = await rig.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM platform_event WHERE event_id = 'Ev0REL0001'`);
    expect(rows[0]!.n).toBe('1');
  });

  it('a captured Snooze click replayed inside the signature window is applied once', async () => {
    const body = slackClick(rig, { user: slackUser('own1a'), actionId: CARD_ACTIONS.snooze.slack, value: encodeSlackButtonValue(handoffId, version) }).body;
    const ts = Math.floor(Date.now() / 1000);
    const snoozes = async () => (await rig.baton.service.events(handoffId)).filter((e) => e.type === 'snoozed').length;
    const before = await snoozes();
    expect((await rig.slackPost(body, FORM, { timestamp: ts })).status).toBe(200);
    await until('snoozed', async () => (await snoozes()) === before + 1);
    // The very same bytes and signature, twice more.
    expect((await rig.slackPost(body, FORM, { timestamp: ts })).status).toBe(200);
    expect((await rig.slackPost(body, FORM, { timestamp: ts })).status).toBe(200);
    await sleep(800);
    expect(await snoozes()).toBe(before + 1);
  });

  it('a replayed Accept (Slack and Teams) is applied once; the replay is told it already happened', async () => {
    const r = await rig.baton.api('POST', '/api/handoffs', intakeBody({ team: 1, to: 'own1b' }));
    const id = r.json.id as number;
    const v = (await until('posted', async () => {
      const x = await rig.baton.service.get(id, { events: false });
      return x.status === 'posted' ? x : undefined;
    })).version;
    const invoke = teamsInvoke(rig, teamsFrom('own1b'), CARD_ACTIONS.accept.teams, { handoffId: id, version: v });
    const token = rig.teamsToken();
    const first = await rig.teamsPost(invoke, token);
    expect(JSON.stringify(first.json.value)).toContain('You accepted this handoff.');
    const again = await rig.teamsPost(invoke, token);
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.json.value)).not.toContain('You accepted this handoff.');
    const click = slackClick(rig, { user: slackUser('own1b'), actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, v) }).body;
    expect((await rig.slackPost(click, FORM)).status).toBe(200);
    await sleep(500);
    const accepted = (await rig.baton.service.events(id)).filter((e) => e.type === 'accepted');
    expect(accepted).toHaveLength(1);
  });
});

describe('unauthenticated requests: 401, no row written anywhere, nothing sent', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const click = () => slackClick(rig, { user: slackUser('own1a'), actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(handoffId, version) }).body;
  const slackCases: [string, () => Promise<{ status: number }>][] = [
    ['Slack: a forged signature (wrong signing secret)', () => rig.slackPost(click(), FORM, { secret: 'not-the-secret-at-all' })],
    ['Slack: a stale timestamp (6 minutes old)', () => rig.slackPost(click(), FORM, { timestamp: now() - 360 })],
    ['Slack: a timestamp 10 minutes in the future', () => rig.slackPost(click(), FORM, { timestamp: now() + 600 })],
    ['Slack: no signature header', () => rig.slackPost(click(), FORM, { signature: null })],
    ['Slack: a signature of other bytes', () => rig.slackPost(click(), FORM, { signature: 'v0=' + '0'.repeat(64) })],
    ['Slack: a forged event callback', () => rig.slackPost(slackEvent(rig, 'Ev0FORGED', { type: 'app_home_opened', user: slackUser('own1a'), tab: 'home' }), 'application/json', { secret: 'wrong' })],
  ];
  const invoke = () => teamsInvoke(rig, teamsFrom('own1a'), CARD_ACTIONS.accept.teams, { handoffId, version });
  const teamsCases: [string, () => Promise<{ status: number }>][] = [
    ['Teams: no Authorization header', () => rig.teamsPost(invoke(), null)],
    ['Teams: a token for another bot (wrong audience)', () => rig.teamsPost(invoke(), rig.teamsToken({ aud: 'another-app' }))],
    ['Teams: an expired token', () => rig.teamsPost(invoke(), rig.teamsToken({ expiresIn: -900 }))],
    ['Teams: a token signed with another key', () => rig.teamsPost(invoke(), rig.teamsToken({ key: FakeBotConnector.otherKey() }))],
    ['Teams: an unsigned token (alg none)', () => rig.teamsPost(invoke(), rig.teamsToken({ alg: 'none' }))],
    ['Teams: a token for another service URL', () => rig.teamsPost(invoke(), rig.teamsToken({ serviceUrl: 'https://smba.trafficmanager.net/evil/' }))],
    ['Teams: garbage instead of a token', () => rig.teamsPost(teamsMessage(rig, teamsFrom('own1a'), 'mine'), 'garbage')],
  ];
  const apiCases: [string, () => Promise<{ status: number }>][] = [
    ['API: no bearer token', () => rig.baton.api('POST', `/api/handoffs/${handoffId}/actions`, { action: 'accept', actor: 'own1a' }, { authorization: '' })],
    ['API: a wrong bearer token', () => rig.baton.api('POST', '/api/handoffs', intakeBody({ team: 1 }), { authorization: 'Bearer wrong-token-0123456789abcdef' })],
  ];
  const figures: Record<string, number> = {};
  afterAll(() => recordFigures('authentication', { refused: Object.keys(figures).length, statuses: figures }));

  it.each([...slackCases, ...teamsCases, ...apiCases])('%s', async (name, send) => {
    const before = await snapshot();
    const res = await send();
    expect(res.status).toBe(401);
    figures[name] = res.status;
    const after = await snapshot();
    expect(diffCounts(before.rows, after.rows)).toEqual({});
    expect(after).toEqual(before);
  });
});
