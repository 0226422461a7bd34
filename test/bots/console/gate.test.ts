/**
 * Who may open the console: loopback without a token; anyone else with the API token (bearer,
 * ?token= once → session cookie, or the sign-in form); never a page on another site; off in
 * production unless BATON_CONSOLE=on. Requests go over real HTTP with node:http, so the Host and
 * proxy headers are exactly what a browser or a reverse proxy would send.
 */
import { request } from 'node:http';
import { consolePlugin } from '../../../bots/console/plugin.js';
import { isLoopbackAddress, isLoopbackHost, SESSION_COOKIE } from '../../../bots/console/gate.js';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { startTestBaton, TEST_TOKEN, type TestBaton } from '../../helpers/baton.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(baton: TestBaton, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: baton.port, method, path, headers: { host: `127.0.0.1:${baton.port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** What a request relayed by a reverse proxy on the same host looks like: loopback peer, forwarded-for header. */
const viaProxy = { 'x-forwarded-for': '203.0.113.7' };

describe('console access', () => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton({ plugins: [consolePlugin] });
  });
  afterAll(async () => {
    await baton?.stop();
  });

  it('serves the page, its assets and its API to a browser on this machine without a token', async () => {
    const page = await raw(baton, 'GET', '/console');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<title>Baton console</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['cache-control']).toBe('no-store');

    const js = await raw(baton, 'GET', '/console/static/console.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const renderer = await raw(baton, 'GET', '/console/vendor/adaptivecards.min.js');
    expect(renderer.status).toBe(200);
    expect(renderer.body).toContain('AdaptiveCards');

    const boot = await raw(baton, 'GET', '/console/api/bootstrap');
    expect(boot.status).toBe(200);
    const json = JSON.parse(boot.body);
    expect(json.people.length).toBe(baton.playbook.people.length);
    expect(json.transitions.map((t: { id: string }) => t.id)).toEqual(baton.playbook.transitions.map((t) => t.id));
    expect(json.jobs).toBe(true);

    // "localhost" and [::1] are loopback names too.
    expect((await raw(baton, 'GET', '/console', { host: `localhost:${baton.port}` })).status).toBe(200);
  });

  it('asks everyone else for the token: a proxied request, or a page on another name (DNS rebinding)', async () => {
    const cases: Record<string, string>[] = [viaProxy, { forwarded: 'for=203.0.113.7' }, { 'x-real-ip': '203.0.113.7' }, { host: `evil.example:${baton.port}` }];
    for (const headers of cases) {
      const page = await raw(baton, 'GET', '/console', headers);
      expect(page.status).toBe(401);
      expect(page.body).toContain('API token');
      expect(page.body).toContain('action="/console/login"');
      const api = await raw(baton, 'GET', '/console/api/handoffs', headers);
      expect(api.status).toBe(401);
      expect(JSON.parse(api.body).error.code).toBe('unauthorized');
      const asset = await raw(baton, 'GET', '/console/static/console.js', headers);
      expect(asset.status).toBe(401);
    }
  });

  it('lets the API token in as a bearer header, and refuses a wrong one', async () => {
    const ok = await raw(baton, 'GET', '/console/api/handoffs', { ...viaProxy, authorization: `Bearer ${TEST_TOKEN}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toHaveProperty('handoffs');
    const bad = await raw(baton, 'GET', '/console/api/handoffs', { ...viaProxy, authorization: 'Bearer not-the-token-0000000' });
    expect(bad.status).toBe(401);
  });

  it('?token= once starts a session (an HttpOnly, SameSite=Strict cookie) and drops the token from the URL', async () => {
    const first = await raw(baton, 'GET', `/console?token=${encodeURIComponent(TEST_TOKEN)}&x=1`, viaProxy);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/console?x=1');
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]+; Path=/console; HttpOnly; SameSite=Strict; Max-Age=\\d+`));
    const cookie = setCookie.split(';')[0]!;
    // The cookie is not the token itself.
    expect(cookie).not.toContain(TEST_TOKEN);

    const page = await raw(baton, 'GET', '/console?x=1', { ...viaProxy, cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Baton console</title>');
    const api = await raw(baton, 'GET', '/console/api/bootstrap', { ...viaProxy, cookie });
    expect(api.status).toBe(200);

    const forged = await raw(baton, 'GET', '/console/api/bootstrap', { ...viaProxy, cookie: `${SESSION_COOKIE}=${TEST_TOKEN}` });
    expect(forged.status).toBe(401);
    const wrong = await raw(baton, 'GET', '/console?token=wrong-token-123456789', viaProxy);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('the sign-in form sets the same session; a wrong token is refused', async () => {
    const form = { ...viaProxy, 'content-type': 'application/x-www-form-urlencoded' };
    const bad = await raw(baton, 'POST', '/console/login', form, 'token=nope');
    expect(bad.status).toBe(401);
    expect(bad.body).toContain('not the API token');
    const good = await raw(baton, 'POST', '/console/login', form, `token=${encodeURIComponent(TEST_TOKEN)}`);
    expect(good.status).toBe(303);
    expect(good.headers.location).toBe('/console');
    const cookie = String(good.headers['set-cookie']).split(';')[0]!;
    expect((await raw(baton, 'GET', '/console', { ...viaProxy, cookie })).status).toBe(200);
  });

  it('writes need the console header and no foreign Origin, even from loopback (another site cannot act through a local browser)', async () => {
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify({ transition: 'sdr_to_ae' });
    const noHeader = await raw(baton, 'POST', '/console/api/demo', json, body);
    expect(noHeader.status).toBe(403);
    const foreign = await raw(baton, 'POST', '/console/api/demo', { ...json, 'x-baton-console': '1', origin: 'https://evil.example' }, body);
    expect(foreign.status).toBe(403);
    const notJson = await raw(baton, 'POST', '/console/api/demo', { 'content-type': 'text/plain', 'x-baton-console': '1' }, body);
    expect(notJson.status).toBe(415);
    expect((await baton.service.list({})).handoffs).toHaveLength(0);

    const ok = await raw(baton, 'POST', '/console/api/demo', { ...json, 'x-baton-console': '1', origin: `http://127.0.0.1:${baton.port}` }, body);
    expect(ok.status).toBe(201);
    expect(JSON.parse(ok.body).handoff).toMatchObject({ transition: 'sdr_to_ae', status: 'routed', demo: true });
  });

  it('acts through the core: the owner may accept, anyone else gets the core\'s 403 naming who can', async () => {
    const { handoffs } = await baton.service.list({});
    const h = handoffs[0]!;
    const headers = { 'content-type': 'application/json', 'x-baton-console': '1' };
    const stranger = baton.playbook.people.find((p) => p.teamId === 'support')!;
    const refused = await raw(baton, 'POST', `/console/api/handoffs/${h.id}/actions`, headers, JSON.stringify({ action: 'accept', actor: stranger.id }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.message).toContain(`${h.owner.name} (owner)`);
    const accepted = await raw(baton, 'POST', `/console/api/handoffs/${h.id}/actions`, headers, JSON.stringify({ action: 'accept', actor: h.owner.id, expectedVersion: h.version }));
    expect(accepted.status).toBe(200);
    expect(JSON.parse(accepted.body).handoff.status).toBe('accepted');
    // The SLA engine re-arms the timers from the outbox, just after the commit: wait for the new phase.
    let detail = JSON.parse((await raw(baton, 'GET', `/console/api/handoffs/${h.id}?as=${h.owner.id}`)).body);
    for (let i = 0; i < 200 && !detail.timers.some((t: { step: string }) => t.step.startsWith('first_touch:')); i++) {
      await new Promise((r) => setTimeout(r, 100));
      detail = JSON.parse((await raw(baton, 'GET', `/console/api/handoffs/${h.id}?as=${h.owner.id}`)).body);
    }
    expect(detail.view.status).toBe('accepted');
    expect(detail.roles).toEqual(['owner']);
    expect(detail.actions).toEqual(expect.arrayContaining(['touch', 'complete', 'reassign']));
    const steps = detail.timers.map((t: { step: string }) => t.step);
    expect(steps).toEqual(expect.arrayContaining(['first_touch:escalate:1']));
    expect(steps.filter((s: string) => s.startsWith('accept:'))).toEqual([]);
  });
});

describe('console switch', () => {
  const cases: { env: Record<string, string>; served: boolean; why: string }[] = [
    { env: { NODE_ENV: 'production' }, served: false, why: 'off in production by default' },
    { env: { NODE_ENV: 'production', BATON_CONSOLE: 'on' }, served: true, why: 'on in production with BATON_CONSOLE=on' },
    { env: { BATON_CONSOLE: 'off' }, served: false, why: 'off in development with BATON_CONSOLE=off' },
  ];
  for (const c of cases) {
    it(c.why, async () => {
      const baton = await startTestBaton({ plugins: [consolePlugin], env: c.env });
      try {
        const page = await raw(baton, 'GET', '/console');
        expect(page.status).toBe(c.served ? 200 : 404);
        if (!c.served) expect(JSON.parse(page.body).error.code).toBe('not_found');
      } finally {
        await baton.stop();
      }
    });
  }

  it('BATON_CONSOLE takes on or off only', () => {
    expect(loadConfig({ BATON_CONSOLE: 'ON' }).console).toBe(true);
    expect(loadConfig({}).console).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', BATON_API_TOKEN: TEST_TOKEN }).console).toBe(false);
    expect(() => loadConfig({ BATON_CONSOLE: 'yes' })).toThrow(ConfigError);
    try {
      loadConfig({ BATON_CONSOLE: 'yes' });
    } catch (e) {
      expect((e as ConfigError).details).toEqual([{ path: 'BATON_CONSOLE', message: 'must be "on" or "off"' }]);
    }
  });
});

describe('loopback checks', () => {
  it('knows loopback peers', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', 'fe80::1', '', undefined]) expect(isLoopbackAddress(a)).toBe(false);
  });
  it('knows loopback host names', () => {
    for (const h of ['localhost', 'localhost:3000', '127.0.0.1:3000', '[::1]:3000', '[::1]', 'baton.localhost:3000']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['evil.example', 'evil.example:3000', '127.0.0.1.evil.example', 'localhost.evil.example', '10.0.0.5:3000', undefined]) expect(isLoopbackHost(h)).toBe(false);
  });
});
