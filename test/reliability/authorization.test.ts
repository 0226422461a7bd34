/**
 * Scenario 5 — the authorization matrix. One table, transcribed from the README's "Who may act",
 * says for every action which roles may take it; the test generates every action × role case and
 * runs it on the HTTP API, on Slack (signed clicks and modal submissions) and on Teams (Universal
 * Actions with locally issued tokens), each on a fresh handoff in a status where the action
 * applies. The observed matrix of each platform must equal the expected one, a refusal must name
 * who can act, and a refused action must write no audit event and leave the version alone.
 */
import { jest } from '@jest/globals';
import { CARD_ACTIONS, SLACK_VIEWS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { MODAL_INPUTS } from '../../blocks/slack/modals.js';
import { USER_ACTIONS, type UserAction } from '../../src/domain/lifecycle.js';
import { pool, recordFigures, sleep, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, slackChannel, slackUser } from './playbook.js';
import { FORM, slackClick, slackSubmit, useInstalledRig, teamsFrom, teamsInvoke } from './platforms.js';

jest.setTimeout(300_000);

type Role = 'owner' | "owner's lead" | 'admin' | 'sender' | "sender's lead" | 'other member' | 'unknown user';
type Outcome = 'allowed' | 'forbidden' | 'unknown user';
type Platform = 'api' | 'slack' | 'teams';

const ROLES: readonly Role[] = ['owner', "owner's lead", 'admin', 'sender', "sender's lead", 'other member', 'unknown user'];
/** The people of the reliability playbook in each role on a handoff from sally to own1a (team r1). */
const PERSON: Record<Role, string | null> = {
  owner: 'own1a',
  "owner's lead": 'lead1',
  admin: 'adam',
  sender: 'sally',
  "sender's lead": 'sol',
  'other member': 'olga',
  'unknown user': null,
};

/** The README's "Who may act" table: allowed for … / allowed from …. */
const WHO_MAY_ACT: Record<UserAction, { roles: readonly Role[]; from: 'posted' | 'accepted' }> = {
  accept: { roles: ['owner', "owner's lead", 'admin'], from: 'posted' },
  reject: { roles: ['owner', "owner's lead", 'admin'], from: 'posted' },
  reassign: { roles: ['owner', "owner's lead", 'admin'], from: 'posted' },
  complete: { roles: ['owner', "owner's lead", 'admin'], from: 'accepted' },
  touch: { roles: ['owner', "owner's lead", 'admin'], from: 'accepted' },
  snooze: { roles: ['owner', "owner's lead", 'admin'], from: 'posted' },
  withdraw: { roles: ['sender', "sender's lead", 'admin'], from: 'posted' },
};

/** Past-tense audit event of each action. */
const EVENT: Record<UserAction, string> = { accept: 'accepted', reject: 'rejected', reassign: 'reassigned', complete: 'completed', touch: 'first_touch', snooze: 'snoozed', withdraw: 'withdrawn' };

/** Actions a platform offers a control for. Withdrawing is the sender side's act, done from the CRM/API. */
const OFFERED: Record<Platform, readonly UserAction[]> = {
  api: USER_ACTIONS,
  slack: USER_ACTIONS.filter((a) => a !== 'withdraw'),
  teams: USER_ACTIONS.filter((a) => a !== 'withdraw'),
};

function expected(platform: Platform): Record<string, Record<Role, Outcome>> {
  const m: Record<string, Record<Role, Outcome>> = {};
  for (const action of OFFERED[platform]) {
    m[action] = Object.fromEntries(ROLES.map((r) => [r, r === 'unknown user' ? 'unknown user' : WHO_MAY_ACT[action].roles.includes(r) ? 'allowed' : 'forbidden'])) as Record<Role, Outcome>;
  }
  return m;
}

const playbook = reliabilityPlaybook({ teams: 1 });
const rig = useInstalledRig(playbook);

it('the matrix covers every user action of the core, and no platform offers a control the table does not list', () => {
  expect(Object.keys(WHO_MAY_ACT).sort()).toEqual([...USER_ACTIONS].sort());
  expect(Object.keys(CARD_ACTIONS)).not.toContain('withdraw');
});

/** A fresh handoff from sally to own1a, "posted" (or accepted by the admin), with its current version. */
async function handoffIn(status: 'posted' | 'accepted'): Promise<{ id: number; version: number }> {
  const r = await rig.baton.api('POST', '/api/handoffs', intakeBody({ team: 1, to: 'own1a' }));
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  let view = await until('posted', async () => {
    const v = await rig.baton.service.get(id, { events: false });
    return v.status === 'posted' ? v : undefined;
  });
  if (status === 'accepted') view = await rig.baton.service.act(id, { action: 'accept', actor: 'adam' });
  return { id, version: view.version };
}

interface Observation {
  outcome: Outcome | 'unclear';
  message: string;
}

const REJECT = { reasonCode: 'not_ready', note: 'The packet is missing the budget' };
const REASSIGN = { to: 'own1b', note: 'On leave next week' };

function classify(text: string): Outcome | undefined {
  if (/You can't|You can’t/.test(text)) return 'forbidden';
  if (/not in the Baton playbook|doesn't know your Teams account|is not a person in the playbook/.test(text)) return 'unknown user';
  return undefined;
}

async function viaApi(action: UserAction, role: Role, h: { id: number; version: number }): Promise<Observation> {
  const actor = PERSON[role] ?? 'nobody@elsewhere.example';
  const extra = action === 'reject' ? REJECT : action === 'reassign' ? REASSIGN : {};
  const r = await rig.baton.api('POST', `/api/handoffs/${h.id}/actions`, { action, actor, expectedVersion: h.version, ...extra });
  const message = String(r.json?.error?.message ?? '');
  if (r.status === 200) return { outcome: 'allowed', message };
  if (r.status === 403) return { outcome: 'forbidden', message };
  if (r.status === 422 && r.json.error.code === 'unknown_actor') return { outcome: 'unknown user', message };
  return { outcome: 'unclear', message: `${r.status} ${JSON.stringify(r.json)}` };
}

async function viaSlack(action: UserAction, role: Role, h: { id: number; version: number }): Promise<Observation> {
  const user = PERSON[role] ? slackUser(PERSON[role]!) : 'U0NOBODY000';
  const ephemeralsBefore = rig.slack.ephemerals.length;
  let responseKey: string | undefined;
  if (action === 'reject' || action === 'reassign') {
    const values: Record<string, Record<string, unknown>> =
      action === 'reject'
        ? { [MODAL_INPUTS.rejectReason.block]: { [MODAL_INPUTS.rejectReason.action]: { type: 'static_select', selected_option: { value: REJECT.reasonCode } } }, [MODAL_INPUTS.rejectNote.block]: { [MODAL_INPUTS.rejectNote.action]: { type: 'plain_text_input', value: REJECT.note } } }
        : { [MODAL_INPUTS.reassignTo.block]: { [MODAL_INPUTS.reassignTo.action]: { type: 'static_select', selected_option: { value: REASSIGN.to } } }, [MODAL_INPUTS.reassignNote.block]: { [MODAL_INPUTS.reassignNote.action]: { type: 'plain_text_input', value: REASSIGN.note } } };
    const body = slackSubmit(rig, { user, callbackId: SLACK_VIEWS[action], privateMetadata: JSON.stringify({ handoffId: h.id, version: h.version, channelId: slackChannel(1) }), values });
    const r = await rig.slackPost(body, FORM);
    if (r.status !== 200) return { outcome: 'unclear', message: `HTTP ${r.status}` };
  } else {
    const click = slackClick(rig, { user, actionId: CARD_ACTIONS[action as keyof typeof CARD_ACTIONS].slack, value: encodeSlackButtonValue(h.id, h.version), channel: slackChannel(1) });
    responseKey = click.responseKey;
    const r = await rig.slackPost(click.body, FORM);
    if (r.status !== 200) return { outcome: 'unclear', message: `HTTP ${r.status}` };
  }
  // The answer is asynchronous: the effect in the database, or an ephemeral message to the clicker.
  const answer = () => {
    const viaResponse = responseKey ? rig.slack.responses.find((x) => x.key === responseKey) : undefined;
    if (viaResponse) return String(viaResponse.body.text ?? '');
    const e = rig.slack.ephemerals.slice(ephemeralsBefore).find((x) => x.user === user);
    return e?.text;
  };
  const observed = await until(
    `the outcome of ${action} by ${role} on Slack`,
    async () => {
      const text = answer();
      if (text !== undefined && classify(text)) return { outcome: classify(text)!, message: text };
      if (await applied(h.id, action, PERSON[role])) return { outcome: 'allowed' as const, message: text ?? '' };
      return undefined;
    },
    15_000,
  );
  return observed;
}

async function viaTeams(action: UserAction, role: Role, h: { id: number; version: number }): Promise<Observation> {
  const from = PERSON[role] ? teamsFrom(PERSON[role]!) : teamsFrom('29:rel-stranger', 'Stranger Danger');
  const data: Record<string, unknown> = { handoffId: h.id, version: h.version };
  if (action === 'reject') Object.assign(data, { rejectReason: REJECT.reasonCode, rejectNote: REJECT.note });
  if (action === 'reassign') Object.assign(data, { reassignTo: REASSIGN.to, reassignNote: REASSIGN.note });
  const r = await rig.teamsPost(teamsInvoke(rig, from, CARD_ACTIONS[action as keyof typeof CARD_ACTIONS].teams, data));
  const text = JSON.stringify(r.json?.value ?? '');
  const c = classify(text);
  if (c) return { outcome: c, message: text };
  if (r.status === 200 && (await applied(h.id, action, PERSON[role]))) return { outcome: 'allowed', message: text };
  return { outcome: 'unclear', message: `${r.status} ${text.slice(0, 500)}` };
}

async function applied(id: number, action: UserAction, personId: string | null): Promise<boolean> {
  if (!personId) return false;
  return (await rig.baton.service.events(id)).some((e) => e.type === EVENT[action] && e.actor?.id === personId);
}

const RUN: Record<Platform, typeof viaApi> = { api: viaApi, slack: viaSlack, teams: viaTeams };

describe.each(['api', 'slack', 'teams'] as const)('on %s', (platform) => {
  it('every action × role matches the README', async () => {
    const cases = OFFERED[platform].flatMap((action) => ROLES.map((role) => ({ action, role })));
    const observed: Record<string, Record<string, Outcome | 'unclear'>> = {};
    const problems: string[] = [];
    await pool(cases, 6, async ({ action, role }) => {
      const h = await handoffIn(WHO_MAY_ACT[action].from);
      const o = await RUN[platform](action, role, h);
      (observed[action] ??= {})[role] = o.outcome;
      await sleep(150); // anything else a refused click set off has happened
      const events = await rig.baton.service.events(h.id);
      const view = await rig.baton.service.get(h.id, { events: false });
      const mine = events.filter((e) => e.type === EVENT[action]);
      if (o.outcome === 'allowed') {
        if (mine.length !== 1 || mine[0]!.actor?.id !== PERSON[role]) problems.push(`${action} by ${role}: expected one ${EVENT[action]} event by ${PERSON[role]}, found ${mine.length}`);
      } else {
        if (mine.length !== 0) problems.push(`${action} by ${role} was refused (${o.outcome}) but wrote ${mine.length} ${EVENT[action]} event(s)`);
        if (view.version !== h.version) problems.push(`${action} by ${role} was refused but the version moved ${h.version} → ${view.version}`);
      }
      if (o.outcome === 'forbidden') {
        // The refusal names who can act.
        const names = action === 'withdraw' ? ['Sally Sender (sender)', 'Sol Senderlead (their lead)'] : ['Oona Owner1a (owner)', 'Lee Lead1 (their lead)'];
        for (const n of [...names, 'a playbook admin']) if (!o.message.includes(n)) problems.push(`${action} by ${role}: the refusal does not name ${n}: ${o.message.slice(0, 300)}`);
      }
      if (o.outcome === 'unclear') problems.push(`${action} by ${role}: ${o.message}`);
    });
    const sorted = Object.fromEntries(OFFERED[platform].map((a) => [a, Object.fromEntries(ROLES.map((r) => [r, observed[a]?.[r]]))]));
    expect(problems).toEqual([]);
    expect(sorted).toEqual(expected(platform));
    const allowed = cases.filter((c) => sorted[c.action]![c.role] === 'allowed').length;
    recordFigures(`authorization-${platform}`, { cases: cases.length, allowed, refused: cases.length - allowed, matrix: sorted });
  });
});
