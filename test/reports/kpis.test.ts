/**
 * KPIs against a hand-computed fixture: two weeks of handoffs driven through the real core with a
 * manual clock, then GET /api/reports/kpis. Every expected number below is worked out by hand in
 * the comments, not read back from the code.
 */
import { ManualClock } from '../../src/clock.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import { startTestBaton, type TestBaton } from '../helpers/baton.js';

const PLAYBOOK = `
organization: { name: KPI Co, timeZone: UTC }
stages: { a: Stage A, b: Stage B, c: Stage C }
teams:
  alpha: { name: Alpha, stage: a, timeZone: UTC, businessHours: { mon: "09:00-17:00", tue: "09:00-17:00", wed: "09:00-17:00", thu: "09:00-17:00", fri: "09:00-17:00" }, lead: ann }
  beta: { name: Beta, stage: b, timeZone: UTC, businessHours: { mon: "09:00-17:00", tue: "09:00-17:00", wed: "09:00-17:00", thu: "09:00-17:00", fri: "09:00-17:00" }, lead: bob }
  gamma: { name: Gamma, stage: c, timeZone: UTC, businessHours: { mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00", thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00" }, lead: dan }
people:
  ann: { name: Ann, email: ann@kpi.example, team: alpha }
  bob: { name: Bob, email: bob@kpi.example, team: beta }
  cat: { name: Cat, email: cat@kpi.example, team: beta, manager: bob }
  dan: { name: Dan, email: dan@kpi.example, team: gamma }
  eve: { name: Eve, email: eve@kpi.example, team: gamma, manager: dan }
transitions:
  a_to_b:
    from: alpha
    to: beta
    packet:
      note: { label: Note, type: string, description: Context, example: hello }
    sla: { accept: 4h, firstTouch: 8h }
    rejectReasons: { nope: Not for us, dup: Duplicate }
  a_to_c:
    from: alpha
    to: gamma
    packet:
      note: { label: Note, type: string, description: Context, example: hello }
    sla: { accept: 1h, firstTouch: 2h }
    rejectReasons: { nope: Not for us }
`;

const clock = new ManualClock('2026-11-09T00:00:00Z');
let baton: TestBaton;
const ids: Record<string, number> = {};

async function at<T>(iso: string, fn: () => Promise<T>): Promise<T> {
  clock.set(iso);
  return fn();
}
const intake = (transition: string, to: string, account = 'Globex') =>
  baton.service.intake({ transition, account: { name: account, domain: `${account.toLowerCase()}.example` }, from: 'ann', to, packet: { note: 'x' } }).then((r) => r.handoff.id);
const act = (id: number, action: string, actor: string, extra: Record<string, unknown> = {}) => baton.service.act(id, { action, actor, ...extra });

beforeAll(async () => {
  baton = await startTestBaton({ playbook: parsePlaybook(PLAYBOOK, 'kpi.yml'), clock });
  // The fixture's breaches are inserted by hand: with the outbox stopped, no SLA timer is armed
  // for these past dates.
  await baton.outbox.stop();
  // Previous week: H7 accepted after 30 min, on time.
  ids.h7 = await at('2026-11-10T10:00:00Z', () => intake('a_to_b', 'cat', 'Initech'));
  await at('2026-11-10T10:30:00Z', () => act(ids.h7!, 'accept', 'cat'));
  // Current week (Mon 2026-11-16 → Mon 2026-11-23):
  // H1 accepted after 1h (due 14:00), first touch 2h after creation.
  ids.h1 = await at('2026-11-16T10:00:00Z', () => intake('a_to_b', 'cat'));
  await at('2026-11-16T11:00:00Z', () => act(ids.h1!, 'accept', 'cat'));
  await at('2026-11-16T12:00:00Z', () => act(ids.h1!, 'touch', 'cat'));
  // H2 created Fri 16:00, accepted Sat 10:00: 18h wall, 1h business (Fri 16–17), due Mon 12:00 → on time.
  ids.h2 = await at('2026-11-20T16:00:00Z', () => intake('a_to_b', 'cat', 'Umbrella'));
  await at('2026-11-21T10:00:00Z', () => act(ids.h2!, 'accept', 'cat'));
  // H3 rejected.
  ids.h3 = await at('2026-11-17T09:00:00Z', () => intake('a_to_b', 'cat', 'Hooli'));
  await at('2026-11-17T10:00:00Z', () => act(ids.h3!, 'reject', 'cat', { reasonCode: 'nope', note: 'Not a fit' }));
  // H4 reassigned dan → eve at 08:30 (accept SLA restarts: due 09:30), accepted 10:00 → late, breached.
  ids.h4 = await at('2026-11-18T08:00:00Z', () => intake('a_to_c', 'dan'));
  await at('2026-11-18T08:30:00Z', () => act(ids.h4!, 'reassign', 'dan', { to: 'eve', note: 'Eve covers Globex' }));
  await baton.db.sql.query(
    `INSERT INTO sla_breach (handoff_id, transition_id, team_id, kind, owner_id, due_at, fired_at, level, escalated_to_id) VALUES ($1, 'a_to_c', 'gamma', 'accept', 'eve', $2, $2, 1, 'dan')`,
    [ids.h4, new Date('2026-11-18T09:30:00Z')],
  );
  await at('2026-11-18T10:00:00Z', () => act(ids.h4!, 'accept', 'eve'));
  // H5 never accepted: due Thu 13:00, still open at the end of the week.
  ids.h5 = await at('2026-11-19T12:00:00Z', () => intake('a_to_c', 'dan', 'Soylent'));
  // H6 withdrawn by the sender.
  ids.h6 = await at('2026-11-19T09:00:00Z', () => intake('a_to_b', 'cat', 'Vandelay'));
  await at('2026-11-19T09:30:00Z', () => act(ids.h6!, 'withdraw', 'ann'));
  clock.set('2026-11-23T00:00:00Z');
});
afterAll(async () => {
  await baton?.stop();
});

const week = '/api/reports/kpis?from=2026-11-16&to=2026-11-23';

it('computes the week overall, with the previous week beside it', async () => {
  const r = await baton.api('GET', week);
  expect(r.status).toBe(200);
  expect(r.json.overall).toMatchObject({
    volume: 6,
    accepted: 3, // H1, H2, H4
    conversionRate: 0.5,
    slaMeasured: 4, // the three accepted + H5 overdue
    slaMet: 2, // H1, H2 (H4 breached)
    slaAttainment: 0.5,
    acceptWallP50S: 7200, // [3600, 7200, 64800]
    acceptWallP90S: 53280, // 7200 + 0.8 × (64800 − 7200)
    acceptBusinessP50S: 3600, // [3600, 3600, 7200]
    acceptBusinessP90S: 6480,
    firstTouchWallP50S: 7200,
    rejected: 1,
    reassigned: 1,
    withdrawn: 1,
    completed: 0,
    overdueUnaccepted: 1,
    timeLostWallS: 3600 + 64800 + 7200 + 302400, // H5 waited Thu 12:00 → Mon 00:00 = 84 h
    breaches: 1,
  });
  expect(r.json.overall.rejectionRate).toBeCloseTo(1 / 6);
  expect(r.json.overall.previous).toMatchObject({ volume: 1, accepted: 1, slaAttainment: 1, acceptWallP50S: 1800 });
});

it('splits by transition and by team', async () => {
  const r = (await baton.api('GET', week)).json;
  const ab = r.byTransition.find((x: any) => x.key === 'a_to_b');
  const ac = r.byTransition.find((x: any) => x.key === 'a_to_c');
  expect(ab).toMatchObject({ volume: 4, accepted: 2, slaMeasured: 2, slaMet: 2, slaAttainment: 1, name: 'Alpha → Beta' });
  expect(ac).toMatchObject({ volume: 2, accepted: 1, slaMeasured: 2, slaMet: 0, slaAttainment: 0, breaches: 1 });
  expect(r.byTeam.map((x: any) => [x.key, x.volume])).toEqual([['beta', 4], ['gamma', 2]]);
  expect(r.slowestTransition).toMatchObject({ transition: 'a_to_b', acceptWallP50S: (3600 + 64800) / 2 });
});

it('lists the top reject reasons and the breaches, worst first', async () => {
  const r = (await baton.api('GET', week)).json;
  expect(r.topRejectReasons).toEqual([{ transition: 'a_to_b', reasonCode: 'nope', label: 'Not for us', count: 1 }]);
  expect(r.breaches).toEqual([
    expect.objectContaining({ handoffId: ids.h4, kind: 'accept', ownerName: 'Eve', escalatedToName: 'Dan', lateS: 1800, account: 'Globex' }),
  ]);
});

it('filters by team, reports an empty week as zeros, and exports CSV', async () => {
  const gamma = (await baton.api('GET', `${week}&team=gamma`)).json;
  expect(gamma.overall.volume).toBe(2);
  const empty = (await baton.api('GET', '/api/reports/kpis?from=2026-10-01&to=2026-10-08')).json;
  expect(empty.overall).toMatchObject({ volume: 0, accepted: 0, slaAttainment: null, acceptWallP50S: null });
  const csv = await fetch(`${baton.url}${week}&format=csv`, { headers: { authorization: `Bearer ${baton.apiToken}` } });
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  const lines = (await csv.text()).trim().split('\n');
  expect(lines[0]!.startsWith('scope,key,name,volume,volumePrevious,accepted,acceptedPrevious')).toBe(true);
  expect(lines[1]!.startsWith('overall,all,All handoffs,6,1,3,1,')).toBe(true);
  expect(lines).toHaveLength(1 + 1 + 2 + 2);
});

it('refuses bad periods naming the parameter', async () => {
  // A malformed parameter is a malformed request (400); a well-formed period that breaks a rule, 422.
  const r = await baton.api('GET', '/api/reports/kpis?from=yesterday&format=xml');
  expect(r.status).toBe(400);
  expect(r.json.error.code).toBe('bad_query');
  expect(r.json.error.details.map((d: any) => d.path)).toEqual(['from', 'format']);
  const backwards = await baton.api('GET', '/api/reports/kpis?from=2026-11-23&to=2026-11-16');
  expect(backwards.status).toBe(422);
  expect(backwards.json.error.details).toEqual([{ path: 'from', message: 'must be before "to"' }]);
});

it('gives the account chain of custody across transitions, with the breach', async () => {
  const r = await baton.api('GET', '/api/accounts/globex.example/timeline');
  expect(r.status).toBe(200);
  expect(r.json.handoffs.map((h: any) => [h.id, h.transition, h.status])).toEqual([
    [ids.h1, 'a_to_b', 'accepted'],
    [ids.h4, 'a_to_c', 'accepted'],
  ]);
  const steps = r.json.entries.map((e: any) => `${e.handoffId}:${e.type}`);
  expect(steps).toEqual([
    `${ids.h1}:received`, `${ids.h1}:routed`, `${ids.h1}:accepted`, `${ids.h1}:first_touch`,
    `${ids.h4}:received`, `${ids.h4}:routed`, `${ids.h4}:reassigned`, `${ids.h4}:sla_breach`, `${ids.h4}:accepted`,
  ]);
  expect(r.json.owners.map((o: any) => [o.stage, o.owner.id])).toEqual([['b', 'cat'], ['c', 'eve']]);
});

describe('monthly review', () => {
  it('groups failures by reason, finds packet fields named in rejection notes, and counts breaches by step', async () => {
    const { monthlyReview } = await import('../../src/reports/review.js');
    // One more rejection naming the "Note" field, in the same month.
    const h = await at('2026-11-20T09:00:00Z', () => intake('a_to_b', 'cat', 'Dynamic'));
    await at('2026-11-20T09:10:00Z', () => act(h, 'reject', 'cat', { reasonCode: 'dup', note: 'The note field is empty' }));
    clock.set('2026-11-23T00:00:00Z');
    const r = await monthlyReview(baton.db, baton.playbook, new Date('2026-11-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    expect(r.failures).toEqual([
      { transition: 'a_to_b', transitionName: 'Alpha → Beta', outcome: 'rejected', reasonCode: 'dup', reasonLabel: 'Duplicate', count: 1 },
      { transition: 'a_to_b', transitionName: 'Alpha → Beta', outcome: 'rejected', reasonCode: 'nope', reasonLabel: 'Not for us', count: 1 },
      { transition: 'a_to_b', transitionName: 'Alpha → Beta', outcome: 'withdrawn', reasonCode: null, reasonLabel: null, count: 1 },
    ]);
    expect(r.fieldsNamedInRejections).toEqual([{ transition: 'a_to_b', field: 'note', label: 'Note', count: 1 }]);
    expect(r.breachesByStep).toEqual([{ transition: 'a_to_c', transitionName: 'Alpha → Gamma', kind: 'accept', level: 1, count: 1, medianLateS: 1800 }]);
  });
});

describe('weekly digest', () => {
  it('covers the teams a lead leads, with week-over-week changes and an 8-week series', async () => {
    const { buildDigest, previousWeek } = await import('../../src/reports/digest.js');
    const dan = baton.playbook.people.find((p) => p.id === 'dan')!;
    const period = previousWeek(new Date('2026-11-23T08:00:00Z'), 'UTC');
    expect(period).toEqual({ from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-11-23T00:00:00Z') });
    const d = await buildDigest(baton.db, baton.playbook, dan, period);
    expect(d.scope).toEqual({ teamIds: ['gamma'], label: 'Gamma' });
    expect(d.headline.volume).toEqual({ value: 2, previous: 0, change: 2, higherIsBetter: true });
    expect(d.headline.breaches).toMatchObject({ value: 1, previous: 0, change: 1, higherIsBetter: false });
    expect(d.headline.slaAttainment).toMatchObject({ value: 0, previous: null, change: null });
    expect(d.worstBreaches.map((b) => b.handoffId)).toEqual([ids.h4]);
    expect(d.series.weeks).toEqual(['2026-09-28', '2026-10-05', '2026-10-12', '2026-10-19', '2026-10-26', '2026-11-02', '2026-11-09', '2026-11-16']);
    expect(d.series.transitions.map((t) => t.id)).toEqual(['a_to_c']);
    expect(d.series.transitions[0]!.breaches).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(d.series.overall.slaAttainment).toEqual([null, null, null, null, null, null, null, 0]);
  });

  it('renders the chart to a PNG offline', async () => {
    const { buildDigest } = await import('../../src/reports/digest.js');
    const { buildDigestChartSvg } = await import('../../blocks/chart.js');
    const { Resvg } = await import('@resvg/resvg-js');
    const eve = baton.playbook.people.find((p) => p.id === 'eve')!;
    const d = await buildDigest(baton.db, baton.playbook, eve, { from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-11-23T00:00:00Z') });
    expect(d.scope).toEqual({ teamIds: null, label: 'KPI Co' }); // Eve leads no team: the whole organisation
    expect(d.series.transitions.map((t) => t.id)).toEqual(['a_to_b', 'a_to_c']);
    expect(d.series.overall.slaAttainment.at(-1)).toBe(0.5);
    expect(d.series.overall.slaAttainment.at(-2)).toBe(1);
    const svg = buildDigestChartSvg(d.series, 'Breaches and SLA attainment, last 8 weeks');
    const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(960);
    expect(png.readUInt32BE(20)).toBe(480);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/digest-chart.png', png);
  });
});
