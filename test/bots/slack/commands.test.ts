/**
 * `/handoff owner|mine|team|show|help`, the App Home tab and Events API retries, over real HTTP.
 * A hand-moved clock makes SLA breaches happen on demand; requests are signed with that clock.
 */
import { ManualClock } from '../../../src/clock.js';
import { CARD_ACTIONS } from '../../../blocks/actions.js';
import { escapeMrkdwn } from '../../../blocks/slack/limits.js';
import { BOT_TOKEN, FORM, SIGNING_SECRET, blockAction, blocksText, buttonValue, defaultPlaybookUsers, eventCallback, exampleOf, postSigned, slashCommand, waitFor, type SlackHarness } from './helpers.js';
import { createSlackPlugin } from '../../../bots/slack/plugin.js';
import { FakeSlackApi } from '../../fakes/slackApi.js';
import { defaultPlaybook, startTestBaton } from '../../helpers/baton.js';

let h: SlackHarness;
const clock = new ManualClock(new Date());
const ts = () => Math.floor(clock.now().getTime() / 1000);

beforeAll(async () => {
  const playbook = await defaultPlaybook();
  const fake = await new FakeSlackApi({ token: BOT_TOKEN, users: defaultPlaybookUsers(playbook) }).start();
  const baton = await startTestBaton({
    playbook,
    clock,
    plugins: [createSlackPlugin({ postIntervalMs: 10, requestTimeoutMs: 2000 })],
    env: { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.apiUrl },
  });
  h = { baton, fake, playbook, stop: async () => (await baton.stop(), await fake.stop()) };
});
afterAll(async () => {
  await h?.stop();
});

const slackId = (id: string) => h.playbook.people.find((p) => p.id === id)!.slackUserId!;

async function command(user: string, text: string): Promise<{ text: string; blocks: unknown[]; body: Record<string, unknown> }> {
  const c = slashCommand(h.fake, user, text);
  const r = await postSigned(h.baton, c.body, FORM, { timestamp: ts() });
  expect(r.status).toBe(200);
  expect(r.text).toBe(''); // acknowledged at once; the answer goes to response_url
  const reply = await waitFor(`reply to /handoff ${text}`, () => h.fake.responses.find((x) => x.key === c.responseKey));
  expect(reply.body.response_type).toBe('ephemeral');
  return { text: String(reply.body.text), blocks: reply.body.blocks as unknown[], body: reply.body };
}

let accountN = 0;
async function handoff(to: string, account?: { name: string; domain?: string; crmId?: string }) {
  const k = ++accountN;
  const req = await exampleOf(h.baton, 'marketing_to_sdr');
  req.account = account ?? { name: `Cmd Account ${k}`, domain: `cmd-${k}.example`, crmId: `CMD-${k}` };
  req.to = to;
  const r = await h.baton.api('POST', '/api/handoffs', req);
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  await waitFor('posted', async () => (await h.baton.service.get(id, { events: false })).status === 'posted');
  return id;
}

describe('/handoff', () => {
  it('help, and unknown input gets help with the problem named', async () => {
    const help = await command(slackId('amelia'), 'help');
    const text = blocksText(help.blocks);
    for (const c of ['/handoff owner', '/handoff mine', '/handoff team', '/handoff show', '/handoff help']) expect(text).toContain(c);
    const unknown = await command(slackId('amelia'), 'frobnicate');
    expect(blocksText(unknown.blocks)).toContain('I don\'t know "frobnicate".');
    expect(blocksText(unknown.blocks)).toContain('/handoff owner');
  });

  it('owner <crm id | domain | name>: who owns the account at each stage, and its open handoffs', async () => {
    const id = await handoff('amelia', { name: 'Globex Freight', domain: 'globex-freight.example', crmId: 'GLX-1' });
    // Accepting makes Amelia the SDR-stage owner of Globex.
    await h.baton.service.act(id, { action: 'accept', actor: 'amelia' });
    const second = await handoff('amelia', { name: 'Globex Freight', domain: 'globex-freight.example', crmId: 'GLX-1' });
    for (const key of ['GLX-1', 'globex-freight.example', 'Globex Freight']) {
      const r = await command(slackId('jordan'), `owner ${key}`);
      const text = blocksText(r.blocks);
      expect(text).toContain('Globex Freight');
      expect(text).toMatch(new RegExp(`SDR.*: <@${slackId('amelia')}> since <!date\\^`));
      expect(text).toContain(`#${second}`);
      expect(text).toContain(`#${id}*`); // accepted is still open until completed
    }
  });

  it('an ambiguous account name gets a short pick list', async () => {
    await handoff('amelia', { name: 'Initech', domain: 'initech-us.example', crmId: 'INI-US' });
    await handoff('amelia', { name: 'Initech', domain: 'initech-uk.example', crmId: 'INI-UK' });
    const r = await command(slackId('jordan'), 'owner initech');
    const text = blocksText(r.blocks);
    expect(text).toContain('matches 2 accounts');
    expect(text).toContain('/handoff owner INI-US');
    expect(text).toContain('/handoff owner INI-UK');
  });

  it('mine: my open handoffs; team: a lead\'s team, with breaches flagged', async () => {
    const mine = await command(slackId('sven'), 'mine');
    expect(blocksText(mine.blocks)).toContain('You have no open handoffs');
    const id = await handoff('sven');
    const again = await command(slackId('sven'), 'mine');
    expect(blocksText(again.blocks)).toContain(`*#${id}*`);
    expect(blocksText(again.blocks)).not.toContain(':warning:');

    clock.advance(3 * 24 * 3600_000); // well past the 1h (business time) accept SLA
    const team = await command(slackId('oliver'), 'team');
    const text = blocksText(team.blocks);
    expect(text).toContain('Open handoffs for SDR');
    expect(text).toMatch(/breached/);
    expect(text).toContain(`:warning: *#${id}*`);
    const byMention = await command(slackId('jordan'), `team <@${slackId('oliver')}|oliver>`);
    expect(blocksText(byMention.blocks)).toContain('Open handoffs for SDR');
  });

  it('show <id>: the packet and the timeline; an unknown id says so', async () => {
    const id = await handoff('amelia');
    const r = await command(slackId('maya'), `show ${id}`);
    const text = blocksText(r.blocks);
    expect(text).toContain('ICP fit');
    expect(text).toContain('Timeline');
    expect(text).toContain('Routed');
    const none = await command(slackId('maya'), 'show 999999');
    expect(blocksText(none.blocks)).toContain('There is no handoff #999999.');
  });

  it('a Slack user who is not in the playbook is told so', async () => {
    const r = await command('U0NOBODY01', 'mine');
    expect(r.text).toContain("You're not in the Baton playbook");
  });
});

describe('App Home', () => {
  async function openHome(user: string, eventId: string, headers: Record<string, string> = {}) {
    const body = eventCallback(h.fake, eventId, { type: 'app_home_opened', user, channel: h.fake.dmChannelOf(user), tab: 'home', event_ts: `${ts()}.000100` });
    return postSigned(h.baton, body, 'application/json', { timestamp: ts(), headers });
  }

  it('publishes my open handoffs with their SLA countdown, and for a lead their team\'s breaches', async () => {
    const id = await handoff('amelia');
    const before = h.fake.views.length;
    const r = await openHome(slackId('amelia'), `Ev${Date.now()}A`);
    expect(r.status).toBe(200);
    const v = await waitFor('home published', () => h.fake.views.slice(before).find((x) => x.method === 'views.publish' && x.userId === slackId('amelia')));
    const text = blocksText(v.view.blocks as unknown[]);
    expect(v.view.type).toBe('home');
    expect(text).toContain('Your handoffs, Amelia Hughes');
    expect(text).toContain(`*#${id}*`);
    expect(text).toMatch(/\((in|overdue by) [^)]+\)/);
    expect(text).not.toContain('Breached in');

    clock.advance(3 * 24 * 3600_000);
    const lead = await openHome(slackId('oliver'), `Ev${Date.now()}B`);
    expect(lead.status).toBe(200);
    const lv = await waitFor('lead home', () => h.fake.views.slice(before).find((x) => x.method === 'views.publish' && x.userId === slackId('oliver')));
    const lt = blocksText(lv.view.blocks as unknown[]);
    expect(lt).toContain('Breached in SDR');
    expect(lt).toContain(`#${id}`);
  });

  it('a Slack user who is not in the playbook is told what every other surface tells them: the core\'s copy, naming the admins', async () => {
    const before = h.fake.views.length;
    expect((await openHome('U0NOBODY02', `Ev${Date.now()}S`)).status).toBe(200);
    const v = await waitFor('stranger home', () => h.fake.views.slice(before).find((x) => x.method === 'views.publish' && x.userId === 'U0NOBODY02'));
    const text = blocksText(v.view.blocks as unknown[]);
    const expected = h.baton.service.policy.strangerMessage({ kind: 'unknown', reason: 'not_in_directory' }, 'your Slack account (member id U0NOBODY02)');
    expect(text).toContain(escapeMrkdwn(expected));
    expect(text).toContain("You're not in the Baton playbook");
    expect(text).not.toContain('Your handoffs');
  });

  it('an Events API retry of the same event is processed once', async () => {
    const eventId = `Ev${Date.now()}R`;
    const before = h.fake.okCalls('views.publish').length;
    const first = await openHome(slackId('maya'), eventId);
    const retry1 = await openHome(slackId('maya'), eventId, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    const retry2 = await openHome(slackId('maya'), eventId, { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' });
    expect([first.status, retry1.status, retry2.status]).toEqual([200, 200, 200]);
    await waitFor('one publish', () => h.fake.okCalls('views.publish').length === before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.okCalls('views.publish').length).toBe(before + 1);
    const rows = await h.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM platform_event WHERE platform = 'slack' AND event_id = '${eventId}'`);
    expect(rows[0]!.n).toBe('1');
  });

  it('a Full packet button on the Home tab opens the modal (no response_url there)', async () => {
    const id = await handoff('amelia');
    const value = buttonValue(h.fake.cardsFor(id)[0]!.blocks, CARD_ACTIONS.details.slack) ?? `${id}:1`;
    const before = h.fake.views.length;
    const a = blockAction(h.fake, { user: slackId('amelia'), actionId: CARD_ACTIONS.details.slack, value, fromHome: true });
    expect((await postSigned(h.baton, a.body, FORM, { timestamp: ts() })).status).toBe(200);
    await waitFor('modal', () => h.fake.views.slice(before).find((x) => x.method === 'views.open' && x.triggerId === a.triggerId));
  });
});
