/**
 * Scenario 3 — many people (or one impatient person) click Accept at the same moment: 50 signed
 * Slack block_actions, 50 Teams Action.Execute invokes with locally issued tokens, and both
 * platforms plus the API together on one handoff. Exactly one accept is applied; everyone else
 * is told who accepted it first.
 */
import { jest } from '@jest/globals';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { recordFigures, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, slackUser } from './playbook.js';
import { FORM, slackClick, useInstalledRig, teamsFrom, teamsInvoke } from './platforms.js';

jest.setTimeout(120_000);
const CLICKS = 50;
const playbook = reliabilityPlaybook({ teams: 1 });
const rig = useInstalledRig(playbook);

/** Who may accept a handoff owned by own1a: the owner, her lead, the admin. */
const deciders = ['own1a', 'lead1', 'adam'];

async function postedHandoff(): Promise<{ id: number; version: number }> {
  const r = await rig.baton.api('POST', '/api/handoffs', intakeBody({ team: 1, to: 'own1a' }));
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  // Clicks carry the version the card showed: wait until the card was drawn as "posted".
  const view = await until('posted', async () => {
    const v = await rig.baton.service.get(id, { events: false });
    return v.status === 'posted' ? v : undefined;
  });
  return { id, version: view.version };
}

async function accepted(id: number) {
  const events = await rig.baton.service.events(id);
  return events.filter((e) => e.type === 'accepted');
}

function slackBurst(id: number, version: number, n: number) {
  return Array.from({ length: n }, (_, i) =>
    rig.slackPost(slackClick(rig, { user: slackUser(deciders[i % deciders.length]!), actionId: CARD_ACTIONS.accept.slack, value: encodeSlackButtonValue(id, version) }).body, FORM),
  );
}

function teamsBurst(id: number, version: number, n: number) {
  return Array.from({ length: n }, (_, i) => rig.teamsPost(teamsInvoke(rig, teamsFrom(deciders[i % deciders.length]!), CARD_ACTIONS.accept.teams, { handoffId: id, version })));
}

/** Slack answers each click at once; the outcome follows as an ephemeral answer on response_url (the winner gets none). */
async function slackOutcomes(before: number, expected: number): Promise<string[]> {
  await until(`${expected} ephemeral answers`, () => rig.slack.responses.length - before >= expected, 30_000);
  return rig.slack.responses.slice(before).map((r) => String(r.body.text ?? ''));
}

it(`${CLICKS} concurrent Slack Accept clicks: exactly one accept, ${CLICKS - 1} told who was first`, async () => {
  const { id, version } = await postedHandoff();
  const before = rig.slack.responses.length;
  const started = performance.now();
  const answers = await Promise.all(slackBurst(id, version, CLICKS));
  const ackMs = performance.now() - started;
  expect(answers.map((a) => a.status)).toEqual(Array(CLICKS).fill(200));
  const refusals = await slackOutcomes(before, CLICKS - 1);
  const winner = (await accepted(id))[0]!;
  expect(await accepted(id)).toHaveLength(1);
  expect(refusals).toHaveLength(CLICKS - 1);
  for (const text of refusals) expect(text).toContain(`ccepted by ${winner.actor!.name}`);
  const view = await rig.baton.service.get(id, { events: false });
  expect(view).toMatchObject({ status: 'accepted', version: version + 1 });
  recordFigures('concurrency-slack', { clicks: CLICKS, accepts: 1, refusals: refusals.length, allAckedMs: Math.round(ackMs) });
});

it(`${CLICKS} concurrent Teams Action.Execute invokes: exactly one accept; the others get the card with who was first`, async () => {
  const { id, version } = await postedHandoff();
  const started = performance.now();
  const answers = await Promise.all(teamsBurst(id, version, CLICKS));
  const ms = performance.now() - started;
  expect(answers.map((a) => a.status)).toEqual(Array(CLICKS).fill(200));
  const texts = answers.map((a) => JSON.stringify(a.json?.value ?? ''));
  const winners = texts.filter((t) => t.includes('You accepted this handoff.'));
  expect(winners).toHaveLength(1);
  const events = await accepted(id);
  expect(events).toHaveLength(1);
  const losers = texts.filter((t) => !t.includes('You accepted this handoff.'));
  for (const t of losers) expect(t).toMatch(new RegExp(`(already accepted by|changed since you saw it: accepted by|Someone else changed this handoff first: it was accepted by) ${events[0]!.actor!.name}`));
  expect(await rig.baton.service.get(id, { events: false })).toMatchObject({ status: 'accepted', version: version + 1 });
  recordFigures('concurrency-teams', { invokes: CLICKS, accepts: 1, refusals: losers.length, allAnsweredMs: Math.round(ms) });
});

it(`${CLICKS} Slack clicks, ${CLICKS} Teams invokes and ${CLICKS} API calls at once on one handoff: exactly one accept`, async () => {
  const { id, version } = await postedHandoff();
  const before = rig.slack.responses.length;
  const api = Array.from({ length: CLICKS }, (_, i) => rig.baton.api('POST', `/api/handoffs/${id}/actions`, { action: 'accept', actor: deciders[i % deciders.length], expectedVersion: version }));
  const [slack, teams, viaApi] = await Promise.all([Promise.all(slackBurst(id, version, CLICKS)), Promise.all(teamsBurst(id, version, CLICKS)), Promise.all(api)]);
  expect(slack.every((a) => a.status === 200)).toBe(true);
  expect(teams.every((a) => a.status === 200)).toBe(true);
  const apiStatuses = viaApi.map((r) => r.status);
  expect(apiStatuses.every((s) => s === 200 || s === 409)).toBe(true);
  const teamsWins = teams.filter((a) => JSON.stringify(a.json?.value ?? '').includes('You accepted this handoff.')).length;
  const apiWins = apiStatuses.filter((s) => s === 200).length;
  // Slack's winner (if any) gets no ephemeral answer: wait for the other answers.
  const slackWins = teamsWins + apiWins === 1 ? 0 : 1;
  await slackOutcomes(before, CLICKS - slackWins);
  expect(teamsWins + apiWins + slackWins).toBe(1);
  expect(await accepted(id)).toHaveLength(1);
  for (const r of viaApi.filter((x) => x.status === 409)) expect(['already_accepted', 'stale_version']).toContain(r.json.error.code);
  const rows = await rig.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_event WHERE handoff_id = $1 AND type = 'handoff.accepted'`, [id]);
  expect(rows[0]!.n).toBe('1');
  recordFigures('concurrency-mixed', { slack: CLICKS, teams: CLICKS, api: CLICKS, accepts: 1, winner: slackWins ? 'slack' : teamsWins ? 'teams' : 'api' });
});
