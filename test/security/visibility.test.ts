/**
 * Who sees what, on every surface: one matrix. Each surface is driven the way its platform drives
 * it — Slack with signed requests to the real receiver (the fake Slack Web API records every post,
 * modal and response_url answer), Teams with Bot Framework activities signed on the local OpenID
 * path, the console through its HTTP API, the intake API with its bearer token — by a known owner,
 * a known non-owner, someone the playbook does not know, an inactive person (an admin, before they
 * were made inactive) and, on Slack, a member of another workspace (a Slack Connect guest whose
 * profile shows the owner's email).
 *
 * For each: do they see the handoff (its packet, account and notes), may they act on it, and for
 * those who may not see it, does anything Baton sends them carry a word of it, or tell an existing
 * handoff from a missing one? The answers must be the policy's (src/domain/policy.ts): active
 * playbook people see everything and act per their role; everyone else sees nothing and is told
 * which admin can add them.
 *
 * Teams' "foreign tenant" is the tenant gate's to refuse (issue 15 item 1, another change); here
 * the Teams stranger is a user of our tenant whom the playbook does not know.
 */
import { jest } from '@jest/globals';
import { CARD_ACTIONS, SLACK_VIEWS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { MODAL_INPUTS } from '../../blocks/slack/modals.js';
import { consolePlugin } from '../../bots/console/plugin.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import { sleep, until } from '../reliability/helpers.js';
import { intakeBody, reliabilityPlaybookYaml, slackChannel, slackUser, teamsUser } from '../reliability/playbook.js';
import { FORM, teamsFrom, teamsInvoke, teamsMessage, teamsPersonal, useInstalledRig } from '../reliability/platforms.js';
import { signIn } from '../bots/console/signIn.js';

jest.setTimeout(180_000);

type Who = 'owner' | 'non-owner' | 'unknown' | 'inactive' | 'foreign';
interface Outcome {
  sees: boolean;
  acts: 'allowed' | 'forbidden' | 'refused';
}

/** What the policy says each viewer gets. */
const EXPECTED: Record<Who, Outcome> = {
  owner: { sees: true, acts: 'allowed' },
  'non-owner': { sees: true, acts: 'forbidden' },
  unknown: { sees: false, acts: 'refused' },
  inactive: { sees: false, acts: 'refused' },
  foreign: { sees: false, acts: 'refused' },
};

const FOREIGN_WORKSPACE = 'TFOREIGN01';
const FOREIGN_SLACK_USER = 'U0FOREIGN1';
const MISSING_ID = 99_999_999;
/** Who strangers are told to ask: the active admin, by name (Ivy is an admin too, but inactive). */
const HELP = 'Adam Admin (adam@rel.example)';

// The reliability playbook plus Ivy: an admin, but inactive (left the company; ids still around).
const playbook = parsePlaybook(
  reliabilityPlaybookYaml({ teams: 1 })
    .replace('admins:\n  - adam\n', 'admins:\n  - adam\n  - ivy\n')
    .replace(
      'people:\n',
      `people:\n  ivy:\n    name: Ivy Inactive\n    email: ivy@rel.example\n    team: ops\n    manager: null\n    slackUserId: ${slackUser('ivy')}\n    teamsUserId: "${teamsUser('ivy')}"\n    active: false\n`,
    ),
  'visibility.yml',
);
const rig = useInstalledRig(playbook, { baton: { plugins: [consolePlugin] } });

beforeAll(() => {
  // A Slack Connect guest from another company whose profile email is the owner's.
  rig.slack.addUser({ id: FOREIGN_SLACK_USER, email: 'own1a@rel.example', name: 'Not Oona' });
});

// ---------------------------------------------------------------------------------------------
// A handoff with something to hide in each place it can leak from

interface Secret {
  id: number;
  version: number;
  /** Appears in the account name, its domain, the packet and a note: nothing a stranger gets may contain it. */
  tag: string;
  domain: string;
}

let seq = 0;
async function secretHandoff(): Promise<Secret> {
  const tag = `sec${++seq}q${process.pid}`;
  const body = intakeBody({ team: 1, to: 'own1b', tag, packet: { note: `Packet ${tag}` } });
  const r = await rig.baton.api('POST', '/api/handoffs', body);
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  await until('posted', async () => (await rig.baton.service.get(id, { events: false })).status === 'posted');
  // Reassigned to Oona by the admin, with a note: the owner is own1a, and there is a note to leak.
  const v = await rig.baton.service.act(id, { action: 'reassign', actor: 'adam', to: 'own1a', note: `Note ${tag}` });
  return { id, version: v.version, tag, domain: (body.account as { domain: string }).domain };
}

async function statusOf(id: number): Promise<string> {
  return (await rig.baton.service.get(id, { events: false })).status;
}

/** Checks shared by every surface; returns the problems found. */
function judge(who: Who, h: Secret, seen: { texts: string[]; missingTexts?: string[]; existingTexts?: string[] }): string[] {
  const problems: string[] = [];
  const all = seen.texts.join('\n');
  if (!EXPECTED[who].sees) {
    if (all.includes(h.tag)) problems.push(`${who} was sent the handoff's packet, account or note: ${all.slice(0, 400)}`);
    if (!all.includes("You're not in the Baton playbook")) problems.push(`${who} was not told they are not in the directory: ${all.slice(0, 400)}`);
    if (!all.includes(HELP)) problems.push(`${who} was not told which admin can help (${HELP}): ${all.slice(0, 400)}`);
    if (seen.missingTexts && JSON.stringify(seen.missingTexts) !== JSON.stringify(seen.existingTexts)) {
      problems.push(`${who} can tell an existing handoff from a missing one: ${JSON.stringify(seen.existingTexts).slice(0, 300)} vs ${JSON.stringify(seen.missingTexts).slice(0, 300)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Slack: signed requests to /slack/events

const SLACK_USER: Record<Who, { id: string; team: string | undefined }> = {
  owner: { id: slackUser('own1a'), team: undefined },
  'non-owner': { id: slackUser('olga'), team: undefined },
  unknown: { id: 'U0NOBODY77', team: undefined },
  inactive: { id: slackUser('ivy'), team: undefined },
  foreign: { id: FOREIGN_SLACK_USER, team: FOREIGN_WORKSPACE },
};

let slackSeq = 0;
/** A button click. A Slack Connect guest's click names their own workspace in `user.team_id`. */
function slackClick(who: Who, actionId: string, value: string): { body: string; key: string; trigger: string } {
  const n = ++slackSeq;
  const u = SLACK_USER[who];
  const ours = rig.slack.teamId;
  const key = `vis-click-${n}`;
  const trigger = `${n}.424242.vis`;
  const payload = {
    type: 'block_actions',
    user: { id: u.id, username: 'x', name: 'x', team_id: u.team ?? ours },
    api_app_id: 'ABATONAPP1',
    token: 'legacy-verification-token',
    trigger_id: trigger,
    team: { id: ours, domain: 'rel' },
    container: { type: 'message', message_ts: '1.000001', channel_id: slackChannel(1), is_ephemeral: false },
    channel: { id: slackChannel(1), name: 'rel' },
    message: { type: 'message', ts: '1.000001', text: 'card', user: rig.slack.botUserId },
    response_url: rig.slack.responseUrl(key),
    actions: [{ type: 'button', action_id: actionId, block_id: 'handoff_actions', text: { type: 'plain_text', text: 'x', emoji: true }, value, action_ts: `${Date.now() / 1000}` }],
  };
  return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), key, trigger };
}

/** `/handoff <text>`. A command typed by a guest carries their workspace in `team_id`. */
function slackCommand(who: Who, text: string): { body: string; key: string } {
  const n = ++slackSeq;
  const u = SLACK_USER[who];
  const key = `vis-cmd-${n}`;
  const body = new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: u.team ?? rig.slack.teamId,
    team_domain: 'rel',
    channel_id: slackChannel(1),
    channel_name: 'rel',
    user_id: u.id,
    user_name: 'x',
    command: '/handoff',
    text,
    api_app_id: 'ABATONAPP1',
    is_enterprise_install: 'false',
    response_url: rig.slack.responseUrl(key),
    trigger_id: `${n}.777.vis`,
  }).toString();
  return { body, key };
}

/** The reject modal submitted. */
function slackRejectSubmit(who: Who, h: Secret): string {
  const u = SLACK_USER[who];
  const payload = {
    type: 'view_submission',
    team: { id: rig.slack.teamId, domain: 'rel' },
    user: { id: u.id, username: 'x', name: 'x', team_id: u.team ?? rig.slack.teamId },
    api_app_id: 'ABATONAPP1',
    token: 'legacy-verification-token',
    trigger_id: `${++slackSeq}.555.vis`,
    view: {
      id: `VVIS${slackSeq}`,
      team_id: rig.slack.teamId,
      type: 'modal',
      callback_id: SLACK_VIEWS.reject,
      private_metadata: JSON.stringify({ handoffId: h.id, version: h.version, channelId: slackChannel(1) }),
      state: {
        values: {
          [MODAL_INPUTS.rejectReason.block]: { [MODAL_INPUTS.rejectReason.action]: { type: 'static_select', selected_option: { value: 'not_ready' } } },
          [MODAL_INPUTS.rejectNote.block]: { [MODAL_INPUTS.rejectNote.action]: { type: 'plain_text_input', value: 'Missing the budget' } },
        },
      },
      hash: '1.2',
      title: { type: 'plain_text', text: 'Modal' },
      blocks: [],
      app_id: 'ABATONAPP1',
      bot_id: rig.slack.botId,
    },
    response_urls: [],
    is_enterprise_install: false,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

async function slackPost(body: string): Promise<void> {
  const r = await rig.slackPost(body, FORM);
  expect(r.status).toBe(200);
}

/** What Slack was asked to show this user after `from`: response_url answers, ephemerals, DMs, modals. */
function slackSentTo(who: Who, from: { responses: number; ephemerals: number; views: number; messages: number }): string[] {
  const id = SLACK_USER[who].id;
  return [
    ...rig.slack.responses.slice(from.responses).filter((r) => r.key.startsWith('vis-')).map((r) => JSON.stringify(r.body)),
    ...rig.slack.ephemerals.slice(from.ephemerals).filter((e) => e.user === id).map((e) => JSON.stringify(e)),
    ...rig.slack.messages.slice(from.messages).filter((m) => m.channel === id).map((m) => JSON.stringify(m)),
    ...rig.slack.views.slice(from.views).map((v) => JSON.stringify(v.view)),
  ];
}

async function slackAnswer(key: string, trigger?: string): Promise<string> {
  return until(`Slack's answer on ${key}`, () => {
    const r = rig.slack.responses.find((x) => x.key === key);
    if (r) return JSON.stringify(r.body);
    const v = trigger ? rig.slack.views.find((x) => x.triggerId === trigger) : undefined;
    return v ? JSON.stringify(v.view) : undefined;
  }, 15_000);
}

async function viaSlack(who: Who): Promise<{ outcome: Outcome; problems: string[] }> {
  const h = await secretHandoff();
  const mark = { responses: rig.slack.responses.length, ephemerals: rig.slack.ephemerals.length, views: rig.slack.views.length, messages: rig.slack.messages.length };
  const answers: string[] = [];
  // Reads: the full packet (a modal), `/handoff show`, `/handoff owner`.
  const details = slackClick(who, CARD_ACTIONS.details.slack, encodeSlackButtonValue(h.id, h.version));
  await slackPost(details.body);
  const detailsAnswer = await slackAnswer(details.key, details.trigger);
  answers.push(detailsAnswer);
  const show = slackCommand(who, `show ${h.id}`);
  await slackPost(show.body);
  const showAnswer = await slackAnswer(show.key);
  answers.push(showAnswer);
  const owner = slackCommand(who, `owner ${h.domain}`);
  await slackPost(owner.body);
  answers.push(await slackAnswer(owner.key));
  const sees = [detailsAnswer, showAnswer].every((a) => a.includes(h.tag)) && answers[2]!.includes(h.tag);

  // The same reads of a handoff that does not exist, for those who may see nothing.
  let missingTexts: string[] | undefined;
  if (!EXPECTED[who].sees) {
    const d = slackClick(who, CARD_ACTIONS.details.slack, encodeSlackButtonValue(MISSING_ID, 1));
    await slackPost(d.body);
    const s = slackCommand(who, `show ${MISSING_ID}`);
    await slackPost(s.body);
    missingTexts = [await slackAnswer(d.key, d.trigger), await slackAnswer(s.key)];
  }

  // Acts: the reject modal (all but the owner), then Accept.
  if (who !== 'owner') {
    await slackPost(slackRejectSubmit(who, h));
    await until(`the reject refusal for ${who}`, () => rig.slack.ephemerals.slice(mark.ephemerals).some((e) => e.user === SLACK_USER[who].id), 15_000);
  }
  const accept = slackClick(who, CARD_ACTIONS.accept.slack, encodeSlackButtonValue(h.id, h.version));
  await slackPost(accept.body);
  const acts = await until(`the outcome of accept by ${who}`, async () => {
    if ((await statusOf(h.id)) === 'accepted') return 'allowed' as const;
    const r = rig.slack.responses.find((x) => x.key === accept.key);
    if (!r) return undefined;
    return /You can't|You can’t/.test(String(r.body.text)) ? ('forbidden' as const) : ('refused' as const);
  }, 15_000);
  await sleep(150); // anything a refused click set off has happened
  const problems = judge(who, h, { texts: slackSentTo(who, mark), missingTexts, existingTexts: [detailsAnswer, showAnswer] });
  if (acts !== 'allowed' && (await statusOf(h.id)) !== 'reassigned') problems.push(`${who}'s refused actions changed the handoff to ${await statusOf(h.id)}`);
  if (acts === 'forbidden') {
    const r = rig.slack.responses.find((x) => x.key === accept.key)!;
    if (!String(r.body.text).includes('Oona Owner1a (owner)')) problems.push(`the refusal does not say who can act: ${String(r.body.text)}`);
  }
  return { outcome: { sees, acts }, problems };
}

// ---------------------------------------------------------------------------------------------
// Teams: Bot Framework activities with locally signed tokens

const TEAMS_USER: Record<Exclude<Who, 'foreign'>, { id: string; name: string }> = {
  owner: teamsFrom('own1a', 'Oona'),
  'non-owner': teamsFrom('olga', 'Olga'),
  unknown: teamsFrom('29:vis-stranger', 'Stranger'),
  inactive: teamsFrom('ivy', 'Ivy'),
};

/** A text command in the user's personal chat; the bot's reply as the connector received it. */
async function teamsAsk(from: { id: string; name: string }, text: string): Promise<string> {
  const mark = rig.teams.calls.length;
  const r = await rig.teamsPost(teamsMessage(rig, from, text));
  expect(r.status).toBe(200);
  const chat = teamsPersonal(from).id;
  return until(`the Teams reply to "${text}"`, () => {
    const c = rig.teams.calls.slice(mark).find((x) => (x.kind === 'reply' || x.kind === 'send') && x.conversationId === chat);
    // What the user reads: the text and cards (the activity's own ids differ from reply to reply).
    return c ? JSON.stringify({ text: c.body?.text, attachments: c.body?.attachments }) : undefined;
  }, 15_000);
}

async function teamsInvokeText(from: { id: string; name: string }, verb: string, data: Record<string, unknown>): Promise<string> {
  const r = await rig.teamsPost(teamsInvoke(rig, from, verb, data));
  expect(r.status).toBe(200);
  return JSON.stringify(r.json);
}

async function viaTeams(who: Exclude<Who, 'foreign'>): Promise<{ outcome: Outcome; problems: string[] }> {
  const h = await secretHandoff();
  const from = TEAMS_USER[who];
  const mark = rig.teams.calls.length;
  const refresh = await teamsInvokeText(from, CARD_ACTIONS.refresh.teams, { handoffId: h.id });
  const details = await teamsInvokeText(from, CARD_ACTIONS.details.teams, { handoffId: h.id });
  const show = await teamsAsk(from, `show ${h.id}`);
  const owner = await teamsAsk(from, `owner ${h.domain}`);
  const sees = [refresh, details, show, owner].every((t) => t.includes(h.tag));
  let missingTexts: string[] | undefined;
  if (!EXPECTED[who].sees) {
    missingTexts = [
      await teamsInvokeText(from, CARD_ACTIONS.refresh.teams, { handoffId: MISSING_ID }),
      await teamsInvokeText(from, CARD_ACTIONS.details.teams, { handoffId: MISSING_ID }),
      await teamsAsk(from, `show ${MISSING_ID}`),
    ];
  }
  const accept = await teamsInvokeText(from, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: h.version });
  const acts: Outcome['acts'] = (await statusOf(h.id)) === 'accepted' ? 'allowed' : /You can't|You can’t/.test(accept) ? 'forbidden' : 'refused';
  // Everything the connector was asked to send this user, besides the invoke answers.
  const chat = teamsPersonal(from).id;
  const sent = rig.teams.calls.slice(mark).filter((c) => c.conversationId === chat).map((c) => JSON.stringify(c.body));
  const problems = judge(who, h, { texts: [refresh, details, show, owner, accept, ...sent], missingTexts, existingTexts: [refresh, details, show] });
  if (acts !== 'allowed' && (await statusOf(h.id)) !== 'reassigned') problems.push(`${who}'s refused accept changed the handoff`);
  if (acts === 'forbidden' && !accept.includes('Oona Owner1a (owner)')) problems.push(`the refusal does not say who can act: ${accept.slice(0, 300)}`);
  return { outcome: { sees, acts }, problems };
}

// ---------------------------------------------------------------------------------------------
// The console's HTTP API, and the intake API

/**
 * How the test reaches the console: with the API token, which its gate accepts from anywhere.
 * The one line to change when the console's sign-in changes.
 */
/** The console as an operator reaches it: signed in through a single-use link (test/bots/console/signIn.ts). */
let consoleCookie: string | undefined;
async function consoleRequest(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  consoleCookie ??= await signIn(rig.baton);
  return rig.baton.api(method, `/console${path}`, body, { cookie: consoleCookie, 'x-baton-console': '1' });
}

/** The persona the console previews a handoff as (`?as=`), and the actor its buttons send. */
const CONSOLE_AS: Record<Exclude<Who, 'foreign'>, string> = { owner: 'own1a', 'non-owner': 'olga', unknown: 'nobody@elsewhere.example', inactive: 'ivy' };

async function viaConsole(who: Exclude<Who, 'foreign'>): Promise<{ outcome: Outcome; problems: string[] }> {
  const h = await secretHandoff();
  const as = encodeURIComponent(CONSOLE_AS[who]);
  const detail = await consoleRequest('GET', `/api/handoffs/${h.id}?as=${as}&mode=details`);
  const text = JSON.stringify(detail.json);
  const sees = detail.status === 200 && text.includes(h.tag);
  let missingTexts: string[] | undefined;
  if (!EXPECTED[who].sees) {
    const missing = await consoleRequest('GET', `/api/handoffs/${MISSING_ID}?as=${as}&mode=details`);
    missingTexts = [`${missing.status} ${JSON.stringify(missing.json)}`];
  }
  const act = await consoleRequest('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: CONSOLE_AS[who], expectedVersion: h.version });
  const acts: Outcome['acts'] = act.status === 200 ? 'allowed' : act.status === 403 && act.json.error.code === 'forbidden' ? 'forbidden' : 'refused';
  const problems = judge(who, h, { texts: [text], missingTexts, existingTexts: [`${detail.status} ${text}`] });
  problems.push(...actorChecks(who, act, h, 'console'));
  if (acts !== 'allowed' && (await statusOf(h.id)) !== 'reassigned') problems.push(`${who}'s refused accept changed the handoff`);
  return { outcome: { sees, acts }, problems };
}

/**
 * Where an API call names an actor: unknown → 422 unknown_actor, inactive → 403 naming who can help.
 * The console acts as the person it previews, so it answers both as Slack and Teams do: 403 with
 * the policy's stranger message, naming who can help.
 */
function actorChecks(who: Who, act: { status: number; json: any }, h: Secret, surface: 'api' | 'console' = 'api'): string[] {
  const problems: string[] = [];
  const body = JSON.stringify(act.json);
  const stranger = act.status === 403 && act.json.error.code === 'not_in_directory' && body.includes(HELP);
  if (who === 'unknown' && !(surface === 'console' ? stranger : act.status === 422 && act.json.error.code === 'unknown_actor')) problems.push(`an unknown actor got ${act.status} ${body}`);
  if (who === 'inactive' && !(surface === 'console' ? stranger : act.status === 403 && act.json.error.code === 'inactive_actor' && body.includes(HELP))) problems.push(`an inactive actor got ${act.status} ${body}`);
  if (!EXPECTED[who].sees && body.includes(h.tag)) problems.push(`the refusal to ${who} carries the handoff: ${body}`);
  return problems;
}

async function viaApi(who: Exclude<Who, 'foreign'>): Promise<{ outcome: Outcome; problems: string[] }> {
  const h = await secretHandoff();
  // The bearer token is the integration: it reads every handoff whoever the actor will be.
  const read = await rig.baton.api('GET', `/api/handoffs/${h.id}`);
  const problems: string[] = [];
  if (read.status !== 200 || !JSON.stringify(read.json).includes(h.tag)) problems.push(`the integration could not read the handoff: ${read.status}`);
  const actor = CONSOLE_AS[who];
  const act = await rig.baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor, expectedVersion: h.version });
  const acts: Outcome['acts'] = act.status === 200 ? 'allowed' : act.status === 403 && act.json.error.code === 'forbidden' ? 'forbidden' : 'refused';
  problems.push(...actorChecks(who, act, h));
  if (acts !== 'allowed' && (await statusOf(h.id)) !== 'reassigned') problems.push(`${who}'s refused accept changed the handoff`);
  // What the actor would see is not the API's question (the token reads everything): expected here.
  return { outcome: { sees: EXPECTED[who].sees, acts }, problems };
}

// ---------------------------------------------------------------------------------------------

describe('on Slack', () => {
  it.each(['owner', 'non-owner', 'unknown', 'inactive', 'foreign'] as const)('%s', async (who) => {
    const { outcome, problems } = await viaSlack(who);
    expect(problems).toEqual([]);
    expect(outcome).toEqual(EXPECTED[who]);
  });
});

describe('on Teams', () => {
  it.each(['owner', 'non-owner', 'unknown', 'inactive'] as const)('%s', async (who) => {
    const { outcome, problems } = await viaTeams(who);
    expect(problems).toEqual([]);
    expect(outcome).toEqual(EXPECTED[who]);
  });
});

describe('on the console', () => {
  it.each(['owner', 'non-owner', 'unknown', 'inactive'] as const)('%s', async (who) => {
    const { outcome, problems } = await viaConsole(who);
    expect(problems).toEqual([]);
    expect(outcome).toEqual(EXPECTED[who]);
  });
});

describe('on the intake API (bearer token = integration; the named actor is checked)', () => {
  it.each(['owner', 'non-owner', 'unknown', 'inactive'] as const)('actor %s', async (who) => {
    const { outcome, problems } = await viaApi(who);
    expect(problems).toEqual([]);
    expect(outcome).toEqual(EXPECTED[who]);
  });
});
