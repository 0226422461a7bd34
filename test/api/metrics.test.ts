/**
 * GET /metrics: Prometheus text exposition behind the API token. After known intakes, actions,
 * a real SLA breach (a 2-second SLA on a 24/7 calendar) and a job, the exposition is parsed and
 * every number checked.
 */
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { startTestBaton, TEST_TOKEN, type TestBaton } from '../helpers/baton.js';
import { slaPlaybook } from '../sla/helpers.js';
import { routeLabel } from '../../src/metrics.js';
import { waitFor } from '../helpers/wait.js';

jest.setTimeout(60_000);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

/** A strict reader of the text format (0.0.4): every line is a comment we know or a valid sample. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n').slice(0, -1)) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      const map = m[1] === 'TYPE' ? types : help;
      expect(map.has(m[2]!)).toBe(false); // one HELP and one TYPE per family
      if (m[1] === 'TYPE') expect(['counter', 'gauge', 'histogram']).toContain(m[3]);
      map.set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
      let consumed = 0;
      for (let l = re.exec(m[2]); l; l = re.exec(m[2])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      expect(consumed).toBe(m[2].length);
    }
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  // Every sample belongs to a declared family.
  for (const s of samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(s.name) || types.get(family) === 'histogram').toBe(true);
  }
  return { types, help, samples };
}

function value(e: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const s = e.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length);
  return s?.value;
}

async function scrape(baton: TestBaton): Promise<Exposition> {
  const res = await fetch(`${baton.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}


describe('GET /metrics', () => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton({ playbook: slaPlaybook(), jobs: { processEveryMs: 200, lockLifetimeMs: 1500 }, checkResponses: true });
  });
  afterAll(async () => {
    await baton?.stop();
  });

  const body = (transition: string, account = `Metrics ${randomUUID()}`) => ({ transition, account: { name: account }, from: 'ann', packet: { note: 'hello' } });

  it('needs the API token, like /api', async () => {
    const none = await fetch(`${baton.url}/metrics`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await fetch(`${baton.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-1234567890' } });
    expect(wrong.status).toBe(401);
  });

  it('counts intakes by transition and outcome, actions by action and outcome, and times requests by route', async () => {
    // Intakes: two created, one idempotent replay, one invalid packet, one unknown transition.
    const a = await baton.api('POST', '/api/handoffs', body('slow'), { 'idempotency-key': 'metrics-1' });
    expect(a.status).toBe(201);
    expect((await baton.api('POST', '/api/handoffs', body('slow'))).status).toBe(201);
    const replay = await baton.api('POST', '/api/handoffs', { ...body('slow'), account: { name: a.json.account.name } }, { 'idempotency-key': 'metrics-1' });
    expect(replay.status).toBe(200);
    expect((await baton.api('POST', '/api/handoffs', { ...body('slow'), packet: {} })).status).toBe(422);
    expect((await baton.api('POST', '/api/handoffs', body('made_up_transition'))).status).toBe(422);

    // Actions: accepted by the owner, accepted again (conflict), accepted by a stranger
    // (forbidden), by nobody known (invalid before apply), a reject without a reason (invalid in apply).
    const id = a.json.id;
    const owner = a.json.owner.id;
    expect((await baton.api('POST', `/api/handoffs/${id}/actions`, { action: 'accept', actor: owner })).status).toBe(200);
    expect((await baton.api('POST', `/api/handoffs/${id}/actions`, { action: 'accept', actor: owner })).status).toBe(409);
    const other = (await baton.service.list({ transition: 'slow', status: 'open' })).handoffs.find((h) => h.id !== id)!;
    expect((await baton.api('POST', `/api/handoffs/${other.id}/actions`, { action: 'accept', actor: 'ann' })).status).toBe(403);
    expect((await baton.api('POST', `/api/handoffs/${other.id}/actions`, { action: 'accept', actor: 'nobody@nowhere.example' })).status).toBe(422);
    expect((await baton.api('POST', `/api/handoffs/${other.id}/actions`, { action: 'reject', actor: other.owner.id })).status).toBe(422);
    // A platform's post is recorded once; the second platform's report changes nothing.
    expect(await baton.service.markPosted(other.id, 'slack')).toBe(true);
    expect(await baton.service.markPosted(other.id, 'teams')).toBe(false);
    expect((await baton.api('GET', '/no/such/route')).status).toBe(404);

    const e = await scrape(baton);
    expect(e.types.get('baton_intakes_total')).toBe('counter');
    expect(value(e, 'baton_intakes_total', { transition: 'slow', outcome: 'created' })).toBe(2);
    expect(value(e, 'baton_intakes_total', { transition: 'slow', outcome: 'replayed' })).toBe(1);
    expect(value(e, 'baton_intakes_total', { transition: 'slow', outcome: 'refused' })).toBe(1);
    // A transition that is not in the playbook never becomes a label value.
    expect(value(e, 'baton_intakes_total', { transition: 'unknown', outcome: 'refused' })).toBe(1);
    expect(e.samples.some((s) => s.labels.transition === 'made_up_transition')).toBe(false);

    expect(value(e, 'baton_actions_total', { action: 'accept', outcome: 'applied' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'accept', outcome: 'conflict' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'accept', outcome: 'forbidden' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'accept', outcome: 'invalid' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'reject', outcome: 'invalid' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'post', outcome: 'applied' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'post', outcome: 'conflict' })).toBe(1);

    expect(e.types.get('baton_http_request_duration_seconds')).toBe('histogram');
    const h = (route: string, method: string, status: string) => value(e, 'baton_http_request_duration_seconds_count', { method, route, status });
    expect(h('/api/handoffs', 'POST', '201')).toBe(2);
    expect(h('/api/handoffs', 'POST', '200')).toBe(1);
    expect(h('/api/handoffs', 'POST', '422')).toBe(2);
    expect(h('/api/handoffs/:id/actions', 'POST', '200')).toBe(1);
    // Errors leave the /api router before the response is timed: the route keeps its prefix.
    expect(h('/api/handoffs/:id/actions', 'POST', '409')).toBe(1);
    expect(h('/api/handoffs/:id/actions', 'POST', '403')).toBe(1);
    expect(h('unmatched', 'GET', '404')).toBe(1);
    // Histogram buckets are cumulative and end with +Inf = count.
    const buckets = e.samples.filter((s) => s.name === 'baton_http_request_duration_seconds_bucket' && s.labels.route === '/api/handoffs' && s.labels.status === '201');
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: 2 });
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(value(e, 'baton_http_request_duration_seconds_sum', { method: 'POST', route: '/api/handoffs', status: '201' })).toBeGreaterThan(0);
  });

  it('reports the outbox backlog from the database, and whether it could read it', async () => {
    const e = await scrape(baton);
    const stats = await baton.outbox.stats();
    expect(e.types.get('baton_outbox_pending_deliveries')).toBe('gauge');
    expect(value(e, 'baton_outbox_pending_deliveries', {})).toBeGreaterThanOrEqual(0);
    expect(value(e, 'baton_outbox_failed_deliveries', {})).toBe(stats.failed);
    expect(value(e, 'baton_outbox_oldest_pending_age_seconds', {})).toBeGreaterThanOrEqual(0);
    expect(value(e, 'baton_collector_up', { collector: 'outbox' })).toBe(1);
    expect(value(e, 'baton_process_start_time_seconds', {})).toBeGreaterThan(1_600_000_000);
  });

  it('counts a breach fired by the SLA engine and how late its timers ran', async () => {
    const r = await baton.api('POST', '/api/handoffs', body('steady'));
    expect(r.status).toBe(201);
    // steady: accept within 2s (nudge at 1s), breach at 2s.
    await waitFor('the escalation', async () => ((await baton.service.events(r.json.id)).some((ev) => ev.type === 'escalated') ? true : undefined), 15_000);
    const e = await scrape(baton);
    expect(value(e, 'baton_sla_breaches_total', { transition: 'steady', kind: 'accept' })).toBe(1);
    expect(value(e, 'baton_actions_total', { action: 'escalate', outcome: 'applied' })).toBeGreaterThanOrEqual(1);
    expect(value(e, 'baton_actions_total', { action: 'nudge', outcome: 'applied' })).toBe(1);
    const fired = value(e, 'baton_job_lateness_seconds_count', { job: 'sla.timer' })!;
    expect(fired).toBeGreaterThanOrEqual(2);
    // A healthy scheduler: every timer started within a few seconds of its due time.
    expect(value(e, 'baton_job_lateness_seconds_bucket', { job: 'sla.timer', le: '5' })).toBe(fired);
    expect(value(e, 'baton_job_lateness_seconds_sum', { job: 'sla.timer' })).toBeGreaterThanOrEqual(0);
  });
});

describe('route labels', () => {
  it('uses the matched pattern with its mount path, never the raw path', () => {
    expect(routeLabel('/api/handoffs/42/actions', '/api', { path: '/handoffs/:id/actions' }, 200)).toBe('/api/handoffs/:id/actions');
    expect(routeLabel('/api/handoffs/42/actions?x=1', '', { path: '/handoffs/:id/actions' }, 409)).toBe('/api/handoffs/:id/actions');
    expect(routeLabel('/healthz', '', { path: '/healthz' }, 200)).toBe('/healthz');
    expect(routeLabel('/api/anything/at/all', '', undefined, 401)).toBe('/api/*');
    expect(routeLabel('/random/path/123', '', undefined, 404)).toBe('unmatched');
  });
});
