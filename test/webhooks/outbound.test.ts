/**
 * Signed events out, end to end over real HTTP on the real database (PGlite, or PostgreSQL with
 * DATABASE_URL): the playbook's webhooks: section subscribes a local receiver, handoffs are
 * created and acted on through the API, and the receiver — verifying every request with the
 * `standardwebhooks` library — gets each event exactly once, across a 503 outage, a 429 with
 * Retry-After, and a 410 that stops the retries.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parsePlaybook } from '../../src/playbook/load.js';
import { startTestBaton, TEST_TOKEN, type TestBaton } from '../helpers/baton.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhookReceiver.js';
import { DEFAULT_TEXT } from '../playbook/helpers.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let receiver: WebhookReceiver;
let baton: TestBaton;
const logLines: Record<string, any>[] = [];
/** The ops receiver is down (answers 503) while this is true. */
let opsDown = true;

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  receiver.script = ({ path, attempt }) => {
    if (path === '/ops' && opsDown) return { status: 503, body: 'maintenance' };
    if (path === '/retired') return { status: 410, body: 'this endpoint was retired' };
    if (path === '/throttled' && attempt === 1) return { status: 429, headers: { 'retry-after': '1' } };
    return undefined;
  };
  const playbook = parsePlaybook(
    `${DEFAULT_TEXT}
webhooks:
  - id: ops
    url: ${receiver.url}/ops
    events: [handoff.*]
    secret: env:OPS_WEBHOOK_SECRET
  - id: retired
    url: ${receiver.url}/retired
    events: [handoff.accepted]
    secret: env:OPS_WEBHOOK_SECRET
  - url: ${receiver.url}/throttled
    events: [handoff.routed]
    secret: env:OPS_WEBHOOK_SECRET
`,
  );
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (logLines.push(JSON.parse(String(c))), cb()) }));
  baton = await startTestBaton({ playbook, log, env: { OPS_WEBHOOK_SECRET: SECRET } });
}, 60_000);
afterAll(async () => {
  await baton?.stop();
  await receiver?.close();
});

async function deliveries(consumer: string): Promise<{ eventId: string; type: string; payload: Record<string, unknown>; createdAt: Date; delivered: boolean; failed: boolean; attempts: number }[]> {
  const rows = await baton.db.sql.query<{ event_id: string; type: string; payload: Record<string, unknown> | string; created_at: Date | string; delivered: boolean; failed: boolean; attempts: number }>(
    `SELECT d.event_id::text AS event_id, e.type, e.payload, e.created_at, d.delivered_at IS NOT NULL AS delivered, d.failed_at IS NOT NULL AS failed, d.attempts
     FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id WHERE d.consumer = $1 ORDER BY d.event_id`,
    [consumer],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    type: r.type,
    payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
    createdAt: new Date(r.created_at),
    delivered: r.delivered,
    failed: r.failed,
    attempts: Number(r.attempts),
  }));
}

describe('outbound webhooks', () => {
  it('delivers every event signed, exactly once, across an outage, a 429 and a 410', async () => {
    const [transition] = (await baton.api('GET', '/api/transitions')).json;
    const a = (await baton.api('POST', '/api/handoffs', transition.example)).json;
    const owner = a.owner.email;
    expect((await baton.api('POST', `/api/handoffs/${a.id}/actions`, { action: 'accept', actor: owner })).status).toBe(200);
    expect((await baton.api('POST', `/api/handoffs/${a.id}/actions`, { action: 'complete', actor: owner })).status).toBe(200);
    const b = (await baton.api('POST', '/api/handoffs', { ...transition.example, account: { name: 'Second Account Ltd' } })).json;
    const reasonCode = baton.playbook.transitions.find((t) => t.id === transition.id)!.rejectReasons[0]!.code;
    expect((await baton.api('POST', `/api/handoffs/${b.id}/actions`, { action: 'reject', actor: b.owner.email, reasonCode, note: 'not ours' })).status).toBe(200);

    // The outage: the first event is refused and tried again with the same webhook-id.
    await waitFor('a retried delivery during the outage', () => {
      const refused = receiver.requests.filter((r) => r.path === '/ops' && r.status === 503).map((r) => r.webhookId);
      return refused.some((id, i) => refused.indexOf(id) !== i);
    });
    const during = await baton.api('GET', '/api/webhooks/subscriptions');
    expect(during.status).toBe(200);
    const opsDuring = during.json.subscriptions.find((s: any) => s.id === 'ops');
    expect(opsDuring).toMatchObject({ url: `${receiver.url}/ops`, failed: 0 });
    expect(opsDuring.pending).toBeGreaterThan(0);
    expect(opsDuring.lastError).toContain('answered 503: maintenance');

    opsDown = false;
    const ops = await waitFor('every ops delivery recorded as delivered', async () => {
      const rows = await deliveries('webhook:ops');
      return rows.every((r) => r.delivered) ? rows : undefined;
    });
    expect(ops.map((r) => r.type)).toEqual(['handoff.routed', 'handoff.accepted', 'handoff.completed', 'handoff.routed', 'handoff.rejected']);

    // Each event reached the receiver's processing once, as { type, timestamp, data } with the union's payload.
    // Not necessarily in order: a retried event arrives after later ones (receivers order by data.version).
    const byEvent = (m: { webhookId: string }) => Number(m.webhookId.slice('evt_'.length));
    const processed = receiver.processed.filter((m) => m.path === '/ops').sort((x, y) => byEvent(x) - byEvent(y));
    expect(processed).toEqual(
      ops.map((r) => ({ webhookId: `evt_${r.eventId}`, path: '/ops', type: r.type, timestamp: r.createdAt.toISOString(), data: r.payload })),
    );
    expect(processed.find((m) => m.type === 'handoff.accepted')!.data).toMatchObject({ handoffId: a.id, action: 'accept', ownerId: a.owner.id, version: 2 });
    expect(ops.some((r) => r.attempts > 1)).toBe(true);
    expect(receiver.repeats).toEqual([]);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);

    // 429 + Retry-After: the throttled subscriber gets both routed events after waiting.
    const throttled = await waitFor('the throttled deliveries', async () => {
      const rows = await deliveries('webhook:127.0.0.1:' + new URL(receiver.url).port + '/throttled');
      return rows.length === 2 && rows.every((r) => r.delivered) ? rows : undefined;
    });
    expect(receiver.processed.filter((m) => m.path === '/throttled').map((m) => m.webhookId).sort()).toEqual(throttled.map((r) => `evt_${r.eventId}`));
    expect(receiver.requests.filter((r) => r.path === '/throttled' && r.status === 429).length).toBeGreaterThan(0);

    // 410: failed for good after one request, with a log line that says what to do.
    const [gone] = await waitFor('the 410 delivery marked failed', async () => {
      const rows = await deliveries('webhook:retired');
      return rows.length === 1 && rows[0]!.failed ? rows : undefined;
    });
    expect(gone).toMatchObject({ type: 'handoff.accepted', attempts: 1, delivered: false });
    expect(receiver.requests.filter((r) => r.path === '/retired')).toHaveLength(1);
    const logged = logLines.find((l) => l.subscription === 'retired' && l.status === 410);
    expect(logged).toMatchObject({ level: 50, webhookId: `evt_${gone!.eventId}`, url: `${receiver.url}/retired` });
    expect(logged!.msg).toContain('410 Gone means the receiver no longer wants these events: this event will not be retried; remove webhook "retired" from the playbook or fix its URL');
    expect(logLines.find((l) => l.consumer === 'webhook:retired' && l.msg === 'outbox delivery failed for good')).toBeDefined();

    const after = (await baton.api('GET', '/api/webhooks/subscriptions')).json.subscriptions;
    expect(after.map((s: any) => [s.id, s.delivered, s.pending, s.failed])).toEqual([
      ['ops', 5, 0, 0],
      ['retired', 0, 0, 1],
      [`127.0.0.1:${new URL(receiver.url).port}/throttled`, 2, 0, 0],
    ]);
    expect(after[1].lastError).toContain('answered 410: this endpoint was retired');

    const metrics = await (await fetch(`${baton.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text();
    expect(metrics).toContain('\nbaton_webhook_failed_deliveries 1\n');
    expect(metrics).toContain('\nbaton_webhook_pending_deliveries 0\n');
  });

  it('asks for the API token on the status route', async () => {
    const none = await fetch(`${baton.url}/api/webhooks/subscriptions`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('unauthorized');
    const wrong = await fetch(`${baton.url}/api/webhooks/subscriptions`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });
});
