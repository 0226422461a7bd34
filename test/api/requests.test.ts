/**
 * Request limits over real HTTP and raw TCP (issue 15 item 9): JSON nesting depth is refused
 * before parsing, query strings are validated (repeated, bracketed or malformed parameters are a
 * 400 naming the parameter), every packet field has a length cap from its type, and a client that
 * trickles its headers or body is cut off by the server's timeouts.
 */
import { connect, type Socket } from 'node:net';
import { parsePlaybook } from '../../src/playbook/load.js';
import { batonSignature } from '../../src/webhooks/signatures.js';
import { MINIMAL } from '../playbook/helpers.js';
import { startTestBaton, TEST_TOKEN, type TestBaton } from '../helpers/baton.js';
import { personalMessage, startTeamsRig } from '../bots/teams/helpers.js';

const SALESFORCE_SECRET = 'sf-shared-secret-7f3a9c2e5b1d4f6a';

/** The default playbook's people and teams, plus one transition with a field of each capped type. */
const PLAYBOOK = parsePlaybook(
  MINIMAL.replace(
    '    packet:\n      score:',
    `    packet:
      site:
        label: Website
        type: url
        description: The account's site
        example: https://acme.example
      contact:
        label: Contact email
        type: email
        description: Who to write to
        example: dana@acme.example
      notes:
        label: Notes
        type: text
        required: false
        description: Free text, default cap
        example: Some notes
      long_notes:
        label: Long notes
        type: text
        maxLength: 6000
        required: false
        description: Free text, a raised cap
        example: Longer notes
      tags:
        label: Tags
        type: list
        required: false
        description: Labels
        example: [a, b]
      score:`,
  ),
  'requests.yml',
);

// Short limits so that a trickling client is cut off within the test (production: 10 s / 20 s / 1 s).
const HTTP = { headersTimeoutMs: 800, requestTimeoutMs: 1_500, keepAliveTimeoutMs: 1_000, connectionsCheckingIntervalMs: 100 };

let baton: TestBaton;

beforeAll(async () => {
  baton = await startTestBaton({ playbook: PLAYBOOK, http: HTTP, env: { SALESFORCE_WEBHOOK_SECRET: SALESFORCE_SECRET }, checkResponses: true });
}, 60_000);
afterAll(async () => {
  await baton?.stop();
});

const intake = (packet: Record<string, unknown> = {}) => ({
  transition: 'a_to_b',
  account: { name: 'Acme', domain: 'acme.example' },
  from: 'ann',
  packet: { site: 'https://acme.example/about', contact: 'dana@acme.example', score: 5, tier: 'gold', ...packet },
});

const handoffCount = async () => Number((await baton.db.sql.query<{ n: string }>('SELECT count(*)::text AS n FROM handoff'))[0]!.n);

const nested = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);

describe('a normal request', () => {
  it('still works: intake, a filtered list and a KPI report', async () => {
    const created = await baton.api('POST', '/api/handoffs', intake({ notes: 'n'.repeat(4_000), long_notes: 'l'.repeat(6_000), tags: ['x'.repeat(500)] }));
    expect(created.status).toBe(201);
    const list = await baton.api('GET', `/api/handoffs?status=open,accepted&owner=${created.json.owner.id}&limit=10&before=${created.json.id + 1}&transition=a_to_b&team=beta&account=acme.example`);
    expect(list.status).toBe(200);
    expect(list.json.handoffs.map((h: any) => h.id)).toEqual([created.json.id]);
    // An empty value is "no filter", as an HTML form sends it.
    expect((await baton.api('GET', '/api/handoffs?status=&owner=')).status).toBe(200);
    const kpis = await baton.api('GET', '/api/reports/kpis?from=2026-01-01&to=2026-01-31&team=beta&format=csv');
    expect(kpis.status).toBe(200);
  });
});

describe('JSON nesting depth', () => {
  it('refuses a body nested 5,000 levels deep with a 400 naming the limit of 32', async () => {
    const r = await baton.api('POST', '/api/handoffs', `{"packet":${nested(5_000)}}`);
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: 'malformed_request', message: 'The request body nests JSON deeper than 32 levels; Baton reads at most 32.' });
  });

  it('counts only brackets outside strings: 32 levels are read, 33 are not, brackets in text are text', async () => {
    // 32 levels: the body object and the packet are two of them.
    const at32 = await baton.api('POST', '/api/handoffs', `{"transition":"a_to_b","packet":{"tags":${nested(30, '"x"')}}}`);
    expect(at32.status).toBe(422);
    const at33 = await baton.api('POST', '/api/handoffs', `{"transition":"a_to_b","packet":{"tags":${nested(31, '"x"')}}}`);
    expect(at33.status).toBe(400);
    expect(at33.json.error.message).toContain('32');
    const inText = await baton.api('POST', '/api/handoffs', intake({ notes: `[{"\\"[[[${'[{'.repeat(1_900)}` }));
    expect(inText.status).toBe(201);
  });

  it('refuses a deep CRM webhook body with the same 400', async () => {
    const body = `{"transition":"a_to_b","record":${nested(5_000)}}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(baton.url + '/api/webhooks/salesforce', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-baton-timestamp': timestamp, 'x-baton-signature': batonSignature({ secret: SALESFORCE_SECRET, timestamp, body }) },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toEqual({ code: 'malformed_request', message: 'The request body nests JSON deeper than 32 levels; Baton reads at most 32.' });
  });
});

describe('JSON nesting depth on Microsoft Teams', () => {
  it('refuses a deep activity, signed or not, before the Bot Framework adapter reads it', async () => {
    const rig = await startTeamsRig();
    try {
      const amelia = { id: '29:1799NksnRH9ucAUsdMlHUvTCQCyEZDz_TddJ8HyS5', name: 'Amelia Hughes' };
      const deep = { ...personalMessage(rig.fake, amelia, 'help'), channelData: JSON.parse(nested(200)) };
      for (const token of [rig.token(), null]) {
        const r = await rig.post(deep, token);
        expect(r.status).toBe(400);
        expect(r.json).toEqual({ error: { code: 'malformed_request', message: 'The request body nests JSON deeper than 32 levels; Baton reads at most 32.' } });
      }
      expect(rig.fake.calls).toHaveLength(0);
      // The same message without the deep part is answered.
      expect((await rig.post(personalMessage(rig.fake, amelia, 'help'))).status).toBe(200);
    } finally {
      await rig.stop();
    }
  });
});

describe('query strings', () => {
  const refused = async (path: string, parameter: string) => {
    const r = await baton.api('GET', path);
    expect({ path, status: r.status, code: r.json.error?.code }).toEqual({ path, status: 400, code: 'bad_query' });
    expect(r.json.error.details.map((d: any) => d.path)).toContain(parameter);
    expect(r.json.error.message).toContain(parameter);
    return r.json.error;
  };

  it('refuses a repeated parameter, naming it', async () => {
    const e = await refused('/api/handoffs?status=open&status=accepted', 'status');
    expect(e.details).toEqual([{ path: 'status', message: 'given 2 times; send it once (several statuses: status=open,accepted)' }]);
    await refused('/api/reports/kpis?from=2026-01-01&from=2026-01-02', 'from');
  });

  it('refuses array- and object-shaped parameters, naming them', async () => {
    await refused('/api/handoffs?owner[]=bob', 'owner[]');
    await refused('/api/handoffs?a[b]=c', 'a[b]');
    await refused('/api/reports/kpis?team[0]=beta', 'team[0]');
  });

  it('refuses malformed values instead of ignoring them', async () => {
    expect((await refused('/api/handoffs?limit=abc', 'limit')).details).toEqual([{ path: 'limit', message: 'expected a whole number from 1 to 200, got "abc"' }]);
    expect((await refused('/api/handoffs?before=notadate', 'before')).details).toEqual([{ path: 'before', message: 'expected a handoff id (a whole number), got "notadate"' }]);
    await refused('/api/handoffs?limit=0', 'limit');
    await refused('/api/handoffs?limit=1e2', 'limit');
    await refused('/api/handoffs?limit=500', 'limit');
    await refused('/api/handoffs?status=bogus', 'status');
    await refused('/api/reports/kpis?format=xml', 'format');
    await refused('/api/reports/kpis?to=notadate', 'to');
  });

  it('refuses parameters the route does not know, listing the ones it does', async () => {
    const e = await refused('/api/handoffs?colour=red', 'colour');
    expect(e.details[0].message).toContain('status, owner, account, transition, team, limit, before');
  });

  it('refuses a repeated ?transition= on a CRM webhook before reading the body', async () => {
    const res = await fetch(baton.url + '/api/webhooks/salesforce?transition=a&transition=b', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.details).toEqual([{ path: 'transition', message: 'given 2 times; send it once' }]);
  });
});

describe('packet field length caps', () => {
  const refusedField = async (packet: Record<string, unknown>, path: string, message: string) => {
    const r = await baton.api('POST', '/api/handoffs', intake(packet));
    expect(r.status).toBe(422);
    expect(r.json.error.details).toEqual([{ path, message }]);
  };

  it('refuses a 900 KB url or email with a 422 naming the field', async () => {
    await refusedField({ site: `https://acme.example/${'a'.repeat(900_000)}` }, 'packet.site', '"Website" is 900021 characters long; at most 2048 are allowed');
    await refusedField({ contact: `${'a'.repeat(900_000)}@acme.example` }, 'packet.contact', '"Contact email" is 900013 characters long; at most 254 are allowed');
  });

  it('caps text at 4,000 characters unless the playbook raises it, and lists at 100 entries of 500', async () => {
    await refusedField({ notes: 'n'.repeat(4_001) }, 'packet.notes', '"Notes" is 4001 characters long; at most 4000 are allowed');
    await refusedField({ long_notes: 'l'.repeat(6_001) }, 'packet.long_notes', '"Long notes" is 6001 characters long; at most 6000 are allowed');
    await refusedField({ tags: ['x'.repeat(501)] }, 'packet.tags.0', 'each entry must be at most 500 characters');
    await refusedField({ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 'packet.tags', '"Tags" has 101 entries; at most 100 are allowed');
  });
});

describe('slow clients', () => {
  /** Opens a raw TCP connection; resolves when the server closes it, with what it sent and when. */
  function rawClient(): { socket: Socket; closed: Promise<{ afterMs: number; received: string }> } {
    const url = new URL(baton.url);
    const socket = connect(Number(url.port), url.hostname);
    const opened = Date.now();
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise<{ afterMs: number; received: string }>((resolve) => socket.on('close', () => resolve({ afterMs: Date.now() - opened, received })));
    return { socket, closed };
  }

  /** Writes `text` one byte every `everyMs` until the socket closes. */
  function trickle(socket: Socket, text: string, everyMs: number): void {
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= text.length) return clearInterval(timer);
      socket.write(text[i++]!);
    }, everyMs);
    socket.on('close', () => clearInterval(timer));
  }

  it('cuts off a client that sends its headers one byte at a time', async () => {
    const { socket, closed } = rawClient();
    trickle(socket, `GET /healthz HTTP/1.1\r\nHost: baton\r\nX-Slow: ${'a'.repeat(10_000)}`, 50);
    const { afterMs, received } = await closed;
    // headersTimeout (800 ms), noticed by the next check (every 100 ms); 408 is Node's answer.
    expect(afterMs).toBeGreaterThanOrEqual(700);
    expect(afterMs).toBeLessThan(3_000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts off a client that sends its body one byte at a time', async () => {
    const stored = await handoffCount();
    const { socket, closed } = rawClient();
    const body = JSON.stringify(intake());
    socket.write(`POST /api/handoffs HTTP/1.1\r\nHost: baton\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    trickle(socket, body, 50);
    const { afterMs, received } = await closed;
    expect(afterMs).toBeGreaterThanOrEqual(1_400);
    expect(afterMs).toBeLessThan(4_000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    // Nothing was stored from the half-sent body.
    expect(await handoffCount()).toBe(stored);
  });

  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    const { socket, closed } = rawClient();
    socket.write('GET /healthz HTTP/1.1\r\nHost: baton\r\n\r\n');
    const { afterMs, received } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    // keepAliveTimeout (1 s); Node closes an idle socket up to a second after it (65 s in production).
    expect(afterMs).toBeGreaterThanOrEqual(900);
    expect(afterMs).toBeLessThan(4_000);
  });
});
