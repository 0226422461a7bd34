/**
 * Digests and report commands in Slack, end to end: the weekly digest job fires (twice, as a
 * duplicate would), exactly one DM and one chart upload reach the fake Slack; `/handoff digest`,
 * `stats` and `timeline` answer over real signed requests.
 */
import { WEEKLY_DIGEST_JOB, MONTHLY_REVIEW_JOB } from '../../../src/digest.js';
import { FORM, blocksText, postSigned, slashCommand, startSlackHarness, waitFor, type SlackHarness } from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => {
  await h?.stop();
});

const person = (id: string) => h.playbook.people.find((p) => p.id === id)!;

async function command(user: string, text: string) {
  const c = slashCommand(h.fake, user, text);
  const r = await postSigned(h.baton, c.body, FORM);
  expect(r.status).toBe(200);
  const reply = await waitFor(`reply to /handoff ${text}`, () => h.fake.responses.find((x) => x.key === c.responseKey));
  return { text: String(reply.body.text), blocks: blocksText(reply.body.blocks as unknown[]) };
}

it('arms the next weekly digest for each playbook subscriber at 08:00 on Monday in their zone', async () => {
  const jobs = await h.baton.jobs.list({ name: WEEKLY_DIGEST_JOB });
  const byPerson = new Map(jobs.map((j) => [String(j.data.personId), j]));
  for (const id of h.playbook.digest.subscribers) {
    const job = byPerson.get(id)!;
    expect(job).toBeDefined();
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: person(id).timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false }).format(job.runAt!);
    expect(local).toBe('Mon 08:00');
  }
  expect((await h.baton.jobs.list({ name: MONTHLY_REVIEW_JOB })).map((j) => j.data.personId)).toEqual(h.playbook.admins);
});

it('delivers a digest once — message and PNG chart — even when the job fires twice', async () => {
  const rachel = person('rachel');
  // Some history in the covered week, so the digest has numbers.
  const t = (await h.baton.api('GET', '/api/transitions')).json[1];
  await h.baton.api('POST', '/api/handoffs', t.example);
  const to = new Date();
  const from = new Date(to.getTime() - 7 * 86_400_000);
  const data = { personId: rachel.id, periodFrom: from.toISOString(), periodTo: to.toISOString() };
  await h.baton.jobs.schedule({ name: WEEKLY_DIGEST_JOB, key: 'test-digest-a', runAt: new Date(), data });
  await h.baton.jobs.schedule({ name: WEEKLY_DIGEST_JOB, key: 'test-digest-b', runAt: new Date(), data });
  const dm = h.fake.dmChannelOf(rachel.slackUserId!);
  const upload = await waitFor('the chart upload', () => h.fake.uploads.find((u) => u.channel === dm), 20_000);
  expect(upload.bytes.subarray(1, 4).toString()).toBe('PNG');
  expect(upload.title).toBe('Breaches and SLA attainment, last 8 weeks');
  const message = h.fake.topLevel(dm).find((m) => m.text.startsWith('Handoff digest'));
  expect(message).toBeDefined();
  expect(blocksText(message!.blocks)).toContain('SLA attainment');
  // Give the duplicate job every chance to deliver a second copy.
  await new Promise((r) => setTimeout(r, 1500));
  expect(h.fake.uploads.filter((u) => u.channel === dm)).toHaveLength(1);
  expect(h.fake.topLevel(dm).filter((m) => m.text.startsWith('Handoff digest'))).toHaveLength(1);
  const sends = await h.baton.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM digest_send WHERE person_id = $1`, [rachel.id]);
  expect(sends[0]!.n).toBe(1);
});

it('/handoff digest subscribe, status and unsubscribe', async () => {
  const dana = person('priya');
  const on = await command(dana.slackUserId!, 'digest subscribe');
  expect(on.text).toMatch(/^Subscribed: you get the weekly breach digest\. The next one arrives <!date\^/);
  expect((await h.baton.jobs.list({ name: WEEKLY_DIGEST_JOB, match: { personId: dana.id } })).length).toBe(1);
  expect((await command(dana.slackUserId!, 'digest')).text).toMatch(/^You get the weekly breach digest/);
  const off = await command(dana.slackUserId!, 'digest unsubscribe');
  expect(off.text).toMatch(/^Unsubscribed/);
  expect((await h.baton.jobs.list({ name: WEEKLY_DIGEST_JOB, match: { personId: dana.id } })).length).toBe(0);
});

it('/handoff digest now previews last week; stats and timeline answer', async () => {
  const rachel = person('rachel');
  const preview = await command(rachel.slackUserId!, 'digest now');
  expect(preview.text).toMatch(/^Preview: Handoff digest/);
  expect(preview.blocks).toContain('Handoffs:');
  const stats = await command(rachel.slackUserId!, 'stats 30d');
  expect(stats.text).toBe('Handoff KPIs, last 30 days, all teams');
  expect(stats.blocks).toContain('SLA attainment:');
  expect((await command(rachel.slackUserId!, 'stats 12d')).blocks).toContain('stats periods are 7d, 30d or 90d');
  const t = (await h.baton.api('GET', '/api/transitions')).json[0];
  const created = (await h.baton.api('POST', '/api/handoffs', t.example)).json;
  const timeline = await command(rachel.slackUserId!, `timeline ${created.account.domain}`);
  expect(timeline.text).toBe(`Chain of custody of ${created.account.name}`);
  expect(timeline.blocks).toContain(`#${created.id} ${created.transitionName}: routed to ${created.owner.name}`);
});

it('delivers the monthly review to an admin once', async () => {
  const admin = person(h.playbook.admins[0]!);
  const t = (await h.baton.api('GET', '/api/transitions')).json[0];
  const created = (await h.baton.api('POST', '/api/handoffs', t.example)).json;
  await h.baton.api('POST', `/api/handoffs/${created.id}/actions`, { action: 'reject', actor: created.owner.email, reasonCode: t.rejectReasons[0].code, note: 'ICP fit is wrong' });
  const to = new Date(Date.now() + 60_000);
  const data = { personId: admin.id, periodFrom: new Date(to.getTime() - 31 * 86_400_000).toISOString(), periodTo: to.toISOString() };
  await h.baton.jobs.schedule({ name: MONTHLY_REVIEW_JOB, key: 'test-review-a', runAt: new Date(), data });
  await h.baton.jobs.schedule({ name: MONTHLY_REVIEW_JOB, key: 'test-review-b', runAt: new Date(), data });
  const dm = h.fake.dmChannelOf(admin.slackUserId!);
  const review = await waitFor('the monthly review', () => h.fake.topLevel(dm).find((m) => m.text.startsWith('Monthly handoff review')), 20_000);
  const text = blocksText(review.blocks);
  expect(text).toContain('Failures by transition and reason');
  expect(text).toContain(`${t.name}: rejected — ${t.rejectReasons[0].label}`);
  expect(text).toContain('Packet fields most often named in rejections');
  await new Promise((r) => setTimeout(r, 1500));
  expect(h.fake.topLevel(dm).filter((m) => m.text.startsWith('Monthly handoff review'))).toHaveLength(1);
});
