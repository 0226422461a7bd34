/** The intake and read API over real HTTP against the real database (PGlite, or PostgreSQL with DATABASE_URL). */
import { startTestBaton, type TestBaton } from '../helpers/baton.js';

let baton: TestBaton;
let transitions: any[];

beforeAll(async () => {
  baton = await startTestBaton({ checkResponses: true });
  transitions = (await baton.api('GET', '/api/transitions')).json;
});
afterAll(async () => {
  await baton?.stop();
});

const count = async (table: string) => Number((await baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n);

describe('health', () => {
  it('answers /healthz and /readyz without a token', async () => {
    expect((await fetch(baton.url + '/healthz')).status).toBe(200);
    const ready = await fetch(baton.url + '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: baton.db.kind });
  });
});

describe('authentication and framework errors', () => {
  it('401 without a token and with a wrong one, as JSON', async () => {
    const none = await baton.api('GET', '/api/transitions', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.json.error).toEqual({ code: 'unauthorized', message: 'Missing bearer token: send "Authorization: Bearer <BATON_API_TOKEN>".' });
    const wrong = await baton.api('GET', '/api/people', undefined, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('unauthorized');
  });
  it('400 for malformed JSON, 415 for non-JSON, 413 for an oversize body, 404 for unknown routes', async () => {
    const malformed = await baton.api('POST', '/api/handoffs', '{"transition":');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toEqual({ code: 'malformed_request', message: 'The request body is not valid JSON.' });
    const form = await baton.api('POST', '/api/handoffs', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe('unsupported_media_type');
    const big = await baton.api('POST', '/api/handoffs', JSON.stringify({ x: 'a'.repeat(1_100_000) }));
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('payload_too_large');
    const nowhere = await baton.api('GET', '/api/nowhere');
    expect(nowhere.status).toBe(404);
    expect(nowhere.json.error.message).toBe('No route for GET /api/nowhere.');
    expect(await count('handoff')).toBe(0);
  });
});

describe('GET /api/transitions and /api/people', () => {
  it('lists the eight transitions with a JSON Schema and a working example', () => {
    expect(transitions.length).toBeGreaterThanOrEqual(8);
    for (const t of transitions) {
      expect(t.packetSchema.type).toBe('object');
      expect(Array.isArray(t.packetSchema.required)).toBe(true);
      expect(t.example.transition).toBe(t.id);
    }
  });
  it('lists the directory', async () => {
    const people = (await baton.api('GET', '/api/people')).json;
    expect(people.length).toBeGreaterThan(5);
    for (const p of people) expect(Object.keys(p)).toEqual(expect.arrayContaining(['id', 'name', 'email', 'team', 'managerId', 'slackUserId', 'teamsUserId', 'timeZone']));
  });
});

describe('POST /api/handoffs', () => {
  it('creates every transition\'s example, routed to an owner with an SLA, with audit and outbox rows', async () => {
    for (const t of transitions) {
      const r = await baton.api('POST', '/api/handoffs', t.example);
      expect(r.status).toBe(201);
      const h = r.json;
      expect(h).toMatchObject({ status: 'routed', version: 1, transition: t.id, packet: t.example.packet });
      expect(h.owner).toEqual(expect.objectContaining({ id: expect.any(String), name: expect.any(String), email: expect.any(String) }));
      expect(h.routingReason).toEqual(expect.any(String));
      expect(new Date(h.slaDueAt).getTime()).toBeGreaterThan(new Date(h.createdAt).getTime());
      expect(r.headers.get('location')).toBe(`/api/handoffs/${h.id}`);
      const full = (await baton.api('GET', `/api/handoffs/${h.id}`)).json;
      expect(full.events.map((e: any) => e.type)).toEqual(['received', 'routed']);
    }
    expect(await count('outbox_event')).toBeGreaterThanOrEqual(transitions.length);
  });

  it('refuses an incomplete packet with every missing field named, and writes nothing', async () => {
    const before = await count('handoff');
    const t = transitions[0];
    const r = await baton.api('POST', '/api/handoffs', { transition: t.id, account: { name: 'Nothing Inc' }, from: t.example.from, packet: {} });
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe('validation_failed');
    const paths = r.json.error.details.map((d: any) => d.path);
    for (const req of t.packetSchema.required) expect(paths).toContain(`packet.${req}`);
    expect(await count('handoff')).toBe(before);
  });

  it('names unknown transitions, people and body fields together', async () => {
    const r = await baton.api('POST', '/api/handoffs', { transition: 'nope', account: { name: 'X' }, from: 'ghost@example.com', to: 'nobody', packet: {} });
    expect(r.status).toBe(422);
    expect(r.json.error.details.map((d: any) => d.path)).toEqual(['transition', 'from', 'to']);
    const extra = await baton.api('POST', '/api/handoffs', { ...transitions[0].example, surprise: 1 });
    expect(extra.status).toBe(422);
    expect(extra.json.error.details).toEqual([{ path: '(body)', message: 'unknown field "surprise"' }]);
    const missing = await baton.api('POST', '/api/handoffs', { packet: {} });
    expect(missing.json.error.details.map((d: any) => d.path)).toEqual(['transition', 'account', 'from']);
  });

  it('refuses an object with a hostile "length" where text is expected (found by the fuzz: it was a 500)', async () => {
    // zod runs length checks on anything with a .length, and {"toString": {}} cannot be compared.
    const hostile = { '0': 'a', length: { toString: {} } };
    const t = transitions[0];
    const textField = t.packetSchema.required.find((k: string) => t.packetSchema.properties[k].type === 'string' && t.packetSchema.properties[k].maxLength !== undefined && !t.packetSchema.properties[k].format);
    expect(textField).toEqual(expect.any(String));
    const before = await count('handoff');
    const r = await baton.api('POST', '/api/handoffs', { ...t.example, packet: { ...t.example.packet, [textField]: hostile } });
    expect(r.status).toBe(422);
    expect(r.json.error.details).toEqual([{ path: `packet.${textField}`, message: 'expected text or a list, got an object with a "length" field' }]);
    const inAccount = await baton.api('POST', '/api/handoffs', { ...t.example, account: { name: hostile } });
    expect(inAccount.status).toBe(422);
    expect(inAccount.json.error.details.map((d: any) => d.path)).toEqual(['account.name']);
    expect(await count('handoff')).toBe(before);
    const h = (await baton.api('POST', '/api/handoffs', t.example)).json;
    const action = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'reassign', actor: h.owner.email, note: 'x', reasonCode: hostile, to: h.owner.email });
    expect(action.status).toBe(422);
    expect(action.json.error.message).toBe('The action request is invalid: reasonCode expected text or a list, got an object with a "length" field.');
    expect((await baton.api('GET', `/api/handoffs/${h.id}`)).json.version).toBe(1);
  });

  it('returns the same handoff for a retried Idempotency-Key, and refuses the key with another body', async () => {
    const t = transitions[1];
    const key = `idem-${Date.now()}`;
    const a = await baton.api('POST', '/api/handoffs', t.example, { 'idempotency-key': key });
    const b = await baton.api('POST', '/api/handoffs', t.example, { 'idempotency-key': key });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.json.id).toBe(a.json.id);
    const c = await baton.api('POST', '/api/handoffs', { ...t.example, account: { name: 'Other Co' } }, { 'idempotency-key': key });
    expect(c.status).toBe(422);
    expect(c.json.error.code).toBe('idempotency_key_reused');
  });

  it('creates one handoff for 20 concurrent retries of one CRM record', async () => {
    const t = transitions[2];
    const body = { ...t.example, externalId: `crm-deal-${Date.now()}` };
    const before = await count('handoff');
    const results = await Promise.all(Array.from({ length: 20 }, () => baton.api('POST', '/api/handoffs', body)));
    const ids = new Set(results.map((r) => r.json.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(await count('handoff')).toBe(before + 1);
  });
});

describe('actions', () => {
  const create = async (i = 0) => (await baton.api('POST', '/api/handoffs', transitions[i].example)).json;

  it('accepts once; a second accept is a 409 naming who and when', async () => {
    const h = await create();
    const a = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: h.owner.email });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ status: 'accepted', version: 2 });
    expect(a.json.slaFirstTouchDueAt).toEqual(expect.any(String));
    const again = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: h.owner.email });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('already_accepted');
    expect(again.json.error.message).toContain(`already accepted by ${h.owner.name} at `);
  });

  it('records a post once when both platforms report it at the same time, and keeps the version', async () => {
    const h = await create(1);
    await Promise.all(Array.from({ length: 10 }, (_, i) => baton.service.markPosted(h.id, i % 2 ? 'slack' : 'teams')));
    const full = (await baton.api('GET', `/api/handoffs/${h.id}`)).json;
    expect(full).toMatchObject({ status: 'posted', version: 1 });
    expect(full.events.filter((e: any) => e.type === 'posted')).toHaveLength(1);
    expect(full.events.find((e: any) => e.type === 'posted')).toMatchObject({ version: 1, actor: null, fromStatus: 'routed', toStatus: 'posted', data: { platform: expect.stringMatching(/^(slack|teams)$/) } });
    // The outbox event carries what every state change's event carries (see apply()).
    const events = await baton.db.sql.query<{ payload: any }>(`SELECT payload FROM outbox_event WHERE handoff_id = $1 AND type = 'handoff.posted'`, [h.id]);
    expect(events).toHaveLength(1);
    const routed = (await baton.db.sql.query<{ payload: any }>(`SELECT payload FROM outbox_event WHERE handoff_id = $1 AND type = 'handoff.routed'`, [h.id]))[0]!.payload;
    expect(events[0]!.payload).toEqual({
      handoffId: h.id,
      version: 1,
      action: 'post',
      actorId: null,
      ownerId: h.owner.id,
      timerToken: routed.timerToken,
      slaAcceptDueAt: new Date(h.slaDueAt).toISOString(),
      slaFirstTouchDueAt: null,
      data: { platform: full.events.find((e: any) => e.type === 'posted').data.platform },
    });
    // A card drawn before the post was recorded carries version 1, and still applies.
    const a = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: h.owner.email, expectedVersion: 1 });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ status: 'accepted', version: 2 });
    // Too late to post now: a platform reporting its post after the accept changes nothing.
    await baton.service.markPosted(h.id, 'slack');
    expect((await baton.api('GET', `/api/handoffs/${h.id}`)).json).toMatchObject({ status: 'accepted', version: 2 });
  });

  it('an accept racing Baton\'s own post always applies (found by the crash scenario: it was refused as "already posted")', async () => {
    for (let i = 0; i < 20; i++) {
      const h = await create(i % 2);
      const [, a] = await Promise.all([
        baton.service.markPosted(h.id, 'slack'),
        baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: h.owner.email, expectedVersion: 1 }),
      ]);
      expect([a.status, a.json.error?.code]).toEqual([200, undefined]);
      expect((await baton.api('GET', `/api/handoffs/${h.id}`)).json).toMatchObject({ status: 'accepted', version: 2 });
    }
  });

  it('lets exactly one of 30 concurrent accepts win', async () => {
    const h = await create(1);
    const results = await Promise.all(Array.from({ length: 30 }, () => baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: h.owner.email })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(29);
    const events = (await baton.api('GET', `/api/handoffs/${h.id}`)).json.events;
    expect(events.filter((e: any) => e.type === 'accepted')).toHaveLength(1);
  });

  it('refuses a stranger with 403 naming the owner', async () => {
    const h = await create();
    const people = (await baton.api('GET', '/api/people')).json;
    const admins = new Set(baton.playbook.admins);
    const stranger = people.find((p: any) => p.id !== h.owner.id && p.id !== h.from.id && !admins.has(p.id) && !baton.service.directory.leadsOf(h.owner.id).has(p.id) && !baton.service.directory.leadsOf(h.from.id).has(p.id));
    const r = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: stranger.email });
    expect(r.status).toBe(403);
    expect(r.json.error.message).toContain(`${h.owner.name} (owner)`);
    expect((await baton.api('GET', `/api/handoffs/${h.id}`)).json.version).toBe(1);
  });

  it('rejects with a reason from the taxonomy, and refuses an unknown reason', async () => {
    const h = await create();
    const t = transitions[0];
    const bad = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'reject', actor: h.owner.email, reasonCode: 'whatever', note: 'x' });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].path).toBe('reasonCode');
    const ok = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'reject', actor: h.owner.email, reasonCode: t.rejectReasons[0].code, note: 'Consent record missing' });
    expect(ok.status).toBe(200);
    expect(ok.json.status).toBe('rejected');
    expect(ok.json.closedAt).toEqual(expect.any(String));
    const events = (await baton.api('GET', `/api/handoffs/${h.id}`)).json.events;
    expect(events.at(-1)).toMatchObject({ type: 'rejected', reasonCode: t.rejectReasons[0].code, note: 'Consent record missing' });
  });

  it('reassigns to a named person and to the queue, restarting the accept SLA', async () => {
    const h = await create(1);
    const people = (await baton.api('GET', '/api/people')).json;
    const teammate = people.find((p: any) => p.team === people.find((q: any) => q.id === h.owner.id).team && p.id !== h.owner.id && p.active);
    const r = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'reassign', actor: h.owner.email, to: teammate.email, note: 'Territory change' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'reassigned', owner: { id: teammate.id } });
    // The routing reason now says who reassigned it and why, not how the first owner was picked.
    expect(r.json.routingReason).toBe(`reassigned by ${h.owner.name}: Territory change`);
    const q = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'reassign', actor: teammate.email, to: 'queue', note: 'Out next week' });
    expect(q.status).toBe(200);
    expect(q.json.owner.id).not.toBe(teammate.id);
    expect(q.json.routingReason).toMatch(new RegExp(`^reassigned by ${teammate.name}: Out next week; (next in the .+ queue|fallback owner: .+)$`));
    expect((await baton.api('GET', `/api/handoffs/${h.id}`)).json.routingReason).toBe(q.json.routingReason);
  });

  it('completes after accept and records the account owner for the stage', async () => {
    const h = await create(1);
    await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: h.owner.email });
    const done = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'complete', actor: h.owner.email });
    expect(done.json.status).toBe('completed');
    const owners = await baton.api('GET', `/api/accounts/${encodeURIComponent(h.account.crmId ?? h.account.domain)}/owners`);
    expect(owners.status).toBe(200);
    expect(owners.json.owners).toEqual(expect.arrayContaining([expect.objectContaining({ stage: transitions[1].to, owner: expect.objectContaining({ id: h.owner.id }) })]));
  });

  it('lets the sender withdraw but not the owner', async () => {
    const h = await create();
    const owner = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'withdraw', actor: h.owner.email });
    expect(owner.status).toBe(403);
    const sender = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'withdraw', actor: h.from.email });
    expect(sender.json.status).toBe('withdrawn');
  });

  it('404s for an unknown handoff and a non-numeric id', async () => {
    expect((await baton.api('POST', '/api/handoffs/999999/actions', { action: 'accept', actor: 'x' })).status).toBe(422);
    expect((await baton.api('GET', '/api/handoffs/999999')).status).toBe(404);
    expect((await baton.api('GET', '/api/handoffs/abc')).status).toBe(404);
  });

  it('lists with filters', async () => {
    const h = await create(3);
    const byOwner = (await baton.api('GET', `/api/handoffs?owner=${encodeURIComponent(h.owner.email)}&status=open`)).json;
    expect(byOwner.handoffs.some((x: any) => x.id === h.id)).toBe(true);
    expect(byOwner.handoffs.every((x: any) => x.owner.id === h.owner.id)).toBe(true);
    const rejected = (await baton.api('GET', '/api/handoffs?status=rejected')).json;
    expect(rejected.handoffs.every((x: any) => x.status === 'rejected')).toBe(true);
  });
});

describe('concurrent intakes for one new account', () => {
  it('creates one account and every handoff (no unique-violation 500)', async () => {
    const t = transitions[0];
    const account = { name: 'Race Condition Ltd', domain: `race-${Date.now()}.example`, crmId: `crm-race-${Date.now()}` };
    const results = await Promise.all(Array.from({ length: 10 }, () => baton.api('POST', '/api/handoffs', { ...t.example, account })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.json.account.id)).size).toBe(1);
  });
});
