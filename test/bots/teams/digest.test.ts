/**
 * Digests in Teams: after the leader installed the app, the weekly digest arrives in their
 * personal chat once — a card and the chart as an inline PNG — even when the job fires twice;
 * `digest now`, `stats` and `timeline` answer as cards.
 */
import { WEEKLY_DIGEST_JOB } from '../../../src/digest.js';
import { cardOf, eventually, personalChatId, personalInstall, personalMessage, startTeamsRig, type TeamsTestRig, type TeamsUser } from './helpers.js';

let rig: TeamsTestRig;
let rachel: TeamsUser;

beforeAll(async () => {
  rig = await startTeamsRig();
  const p = rig.baton.playbook.people.find((x) => x.id === 'rachel')!;
  rachel = { id: p.teamsUserId!, name: p.name, aadObjectId: p.aadObjectId ?? undefined };
  expect((await rig.post(personalInstall(rig.fake, rachel))).status).toBe(200);
});
afterAll(async () => {
  await rig?.stop();
});

const digestSends = () => rig.fake.ok('send').filter((c) => c.conversationId === personalChatId(rachel));

it('delivers the weekly digest once: a card, then the chart as an inline image', async () => {
  const to = new Date();
  const data = { personId: 'rachel', periodFrom: new Date(to.getTime() - 7 * 86_400_000).toISOString(), periodTo: to.toISOString() };
  await rig.baton.jobs.schedule({ name: WEEKLY_DIGEST_JOB, key: 'teams-digest-a', runAt: new Date(), data });
  await rig.baton.jobs.schedule({ name: WEEKLY_DIGEST_JOB, key: 'teams-digest-b', runAt: new Date(), data });
  await eventually(() => digestSends().length >= 2 || undefined, 'the digest card and chart', 20_000);
  await new Promise((r) => setTimeout(r, 1500));
  const sends = digestSends();
  expect(sends).toHaveLength(2);
  expect(cardOf(sends[0]!.body).fallbackText).toMatch(/^Handoff digest, /);
  const image = sends[1]!.body.attachments[0];
  expect(image.contentType).toBe('image/png');
  expect(Buffer.from(String(image.contentUrl).replace(/^data:image\/png;base64,/, ''), 'base64').subarray(1, 4).toString()).toBe('PNG');
});

it('answers digest now, stats and timeline with cards', async () => {
  const ask = async (text: string) => {
    const m = personalMessage(rig.fake, rachel, text);
    expect((await rig.post(m)).status).toBe(200);
    return cardOf((await eventually(() => rig.fake.ok('reply').find((r) => r.activityId === m.id), `reply to ${text}`)).body);
  };
  expect((await ask('digest now')).fallbackText).toMatch(/^Preview: Handoff digest, /);
  expect((await ask('stats 7d')).fallbackText).toBe('Handoff KPIs, last 7 days, all teams');
  const t = (await rig.baton.api('GET', '/api/transitions')).json[0];
  const h = (await rig.baton.api('POST', '/api/handoffs', t.example)).json;
  const timeline = await ask(`timeline ${h.account.domain}`);
  expect(timeline.fallbackText).toBe(`Chain of custody of ${h.account.name}`);
  expect(JSON.stringify(timeline)).toContain(`#${h.id} ${h.transitionName}: routed to ${h.owner.name}`);
});
