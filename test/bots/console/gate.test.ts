/**
 * Who may open the console: only a browser with a session. A session comes from a single-use
 * sign-in link (printed at start, or fresh from POST /console/login-link with the API token) or
 * from the API token at POST /console/login. The peer address, Host and X-Forwarded-* grant
 * nothing: most requests here go through a real TCP forwarder (a `net` server piping to Baton, as
 * an SSH tunnel or `kubectl port-forward` does), so Baton sees a 127.0.0.1 peer and Host: localhost
 * — exactly what the old gate trusted.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consolePlugin, createConsolePlugin } from '../../../bots/console/plugin.js';
import { SESSION_COOKIE } from '../../../bots/console/gate.js';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { startTestBaton, TEST_TOKEN, type TestBaton } from '../../helpers/baton.js';
import { consoleLoginLink } from './signIn.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request to `port`, with exactly the headers given (Host defaults to localhost:<port>). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `localhost:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A same-machine TCP forwarder (what an SSH tunnel or a sidecar is): every byte to Baton's port. */
async function startForwarder(targetPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const cookieOf = (r: Reply): string => String(r.headers['set-cookie']).split(';')[0]!;
const tokenOf = (link: string): string => new URL(link).searchParams.get('token')!;
const pathOf = (link: string): string => new URL(link).pathname + new URL(link).search;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('console login', () => {
  let baton: TestBaton;
  let fwd: { port: number; close(): Promise<void> };
  /** The console's clock, moved by the tests (session expiry, the failed-login window). */
  let now = Date.parse('2030-01-07T09:00:00Z');
  /** Through the forwarder, Host: localhost:<Baton's port> — the old gate's idea of "local". */
  let via: (method: string, path: string, headers?: Record<string, string>, body?: string) => Promise<Reply>;

  beforeAll(async () => {
    baton = await startTestBaton({ plugins: [createConsolePlugin({ now: () => now })] });
    fwd = await startForwarder(baton.port);
    via = (method, path, headers = {}, body) => raw(fwd.port, method, path, { host: `localhost:${baton.port}`, ...headers }, body);
  });
  afterAll(async () => {
    await fwd?.close();
    await baton?.stop();
  });

  it('a same-machine forwarder gets no console without a session: pages answer 303 to the sign-in page, the API 401 naming what is missing', async () => {
    const variants: Record<string, string>[] = [{}, { host: `127.0.0.1:${baton.port}` }, { host: 'localhost' }, { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': 'localhost' }];
    for (const headers of variants) {
      for (const path of ['/console', '/console/', '/console/static/console.js', '/console/vendor/adaptivecards.min.js']) {
        const page = await via('GET', path, headers);
        expect([path, page.status]).toEqual([path, 303]);
        expect(page.headers.location).toBe('/console/login');
      }
      const api = await via('GET', '/console/api/handoffs', headers);
      expect(api.status).toBe(401);
      const error = JSON.parse(api.body).error;
      expect(error.code).toBe('unauthorized');
      expect(error.message).toContain('no console session');
      expect(error.message).toContain('/console/login');
      const write = await via('POST', '/console/api/demo', { ...headers, 'content-type': 'application/json', 'x-baton-console': '1' }, '{}');
      expect(write.status).toBe(401);
    }
    // Straight to Baton's port from loopback, as a local browser: the same.
    expect((await raw(baton.port, 'GET', '/console', { host: `127.0.0.1:${baton.port}` })).status).toBe(303);
    expect((await raw(baton.port, 'GET', '/console/api/bootstrap', { host: `127.0.0.1:${baton.port}` })).status).toBe(401);
    // The API token is for /api/*; the console API takes a session only.
    expect((await via('GET', '/console/api/bootstrap', { authorization: `Bearer ${TEST_TOKEN}` })).status).toBe(401);
    expect(await baton.service.list({})).toMatchObject({ handoffs: [] });
  });

  it('the sign-in page says how to get in, and every console answer carries a Content-Security-Policy', async () => {
    const page = await via('GET', '/console/login');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('npm run console:link');
    expect(page.body).toContain('action="/console/login"');
    expect(page.body).toContain('API token');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['cache-control']).toBe('no-store');
    expect((await via('GET', '/console')).headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('POST /console/login-link answers a fresh single-use link to the API token only', async () => {
    const none = await raw(baton.port, 'POST', '/console/login-link');
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.message).toContain('Authorization: Bearer');
    const wrong = await raw(baton.port, 'POST', '/console/login-link', { authorization: 'Bearer not-the-token-0000000' });
    expect(wrong.status).toBe(401);
    const padded = await raw(baton.port, 'POST', '/console/login-link', { authorization: `Bearer ${TEST_TOKEN}\u00a0` });
    expect(padded.status).toBe(401);
    const ok = await raw(baton.port, 'POST', '/console/login-link', { authorization: `Bearer ${TEST_TOKEN}` });
    expect(ok.status).toBe(201);
    const { link, expiresAt } = JSON.parse(ok.body);
    expect(link).toMatch(new RegExp(`^http://localhost:${baton.port}/console/login\\?token=[A-Za-z0-9_-]{32,}$`));
    expect(Date.parse(expiresAt)).toBeGreaterThan(now);
    expect(tokenOf(link)).not.toContain(TEST_TOKEN);
  });

  it('a link signs in once: session cookie, redirect to /console without the token; a second browser opening it is refused with what to do', async () => {
    const link = await consoleLoginLink(baton);
    const first = await via('GET', pathOf(link));
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/console');
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43,}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=43200$`));
    const cookie = cookieOf(first);
    expect(cookie).not.toContain(tokenOf(link));
    expect(cookie).not.toContain(TEST_TOKEN);

    const page = await via('GET', '/console', { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Baton console</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const js = await via('GET', '/console/static/console.js', { cookie });
    expect(js.status).toBe(200);
    const boot = await via('GET', '/console/api/bootstrap', { cookie });
    expect(boot.status).toBe(200);
    expect(JSON.parse(boot.body).people.length).toBe(baton.playbook.people.length);

    // Another browser (no cookie) with the same link: spent.
    const second = await via('GET', pathOf(link));
    expect(second.status).toBe(401);
    expect(second.headers['set-cookie']).toBeUndefined();
    expect(second.body).toContain('already been used');
    expect(second.body).toContain('npm run console:link');
    // The first browser opening it again just goes to the console it is signed in to.
    const again = await via('GET', pathOf(link), { cookie });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/console');
    expect(again.headers['set-cookie']).toBeUndefined();

    // A made-up token, or a forged cookie, gets nothing.
    const made = await via('GET', `/console/login?token=${'A'.repeat(43)}`);
    expect(made.status).toBe(401);
    expect(made.body).toContain('not a sign-in link of this Baton');
    expect((await via('GET', '/console/api/bootstrap', { cookie: `${SESSION_COOKIE}=${tokenOf(link)}` })).status).toBe(401);
    expect((await via('GET', '/console/api/bootstrap', { cookie: `${SESSION_COOKIE}=${TEST_TOKEN}` })).status).toBe(401);
    now += 61_000; // these failures leave the later tests' minute clean
  });

  it('the API token signs in at POST /console/login (form or JSON), compared exactly, never trimmed', async () => {
    const good = await via('POST', '/console/login', form, `token=${encodeURIComponent(TEST_TOKEN)}`);
    expect(good.status).toBe(303);
    expect(good.headers.location).toBe('/console');
    expect(String(good.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect((await via('GET', '/console/api/bootstrap', { cookie: cookieOf(good) })).status).toBe(200);

    const json = await via('POST', '/console/login', { 'content-type': 'application/json' }, JSON.stringify({ token: TEST_TOKEN }));
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body)).toMatchObject({ signedIn: true });
    expect((await via('GET', '/console/api/bootstrap', { cookie: cookieOf(json) })).status).toBe(200);

    for (const wrong of ['nope', ` ${TEST_TOKEN}`, `${TEST_TOKEN}\u00a0`, `${TEST_TOKEN}\n`]) {
      const bad = await via('POST', '/console/login', form, `token=${encodeURIComponent(wrong)}`);
      expect([JSON.stringify(wrong), bad.status]).toEqual([JSON.stringify(wrong), 401]);
      expect(bad.body).toContain('not the API token');
      expect(bad.headers['set-cookie']).toBeUndefined();
    }
    const badJson = await via('POST', '/console/login', { 'content-type': 'application/json' }, JSON.stringify({ token: 'nope-nope-nope-nope' }));
    expect(badJson.status).toBe(401);
    expect(JSON.parse(badJson.body).error.code).toBe('unauthorized');
    now += 61_000; // these failures leave the next test's minute clean
  });

  it('ten wrong sign-ins from one address within a minute: the next answers 429 with Retry-After, even with the right token, until the minute is over', async () => {
    const link = await consoleLoginLink(baton);
    for (let i = 0; i < 10; i++) {
      const bad = i % 2 ? await via('POST', '/console/login', form, 'token=guess-' + i) : await via('GET', `/console/login?token=guess${i}`);
      expect([i, bad.status]).toEqual([i, 401]);
    }
    const limited = await via('POST', '/console/login', form, `token=${encodeURIComponent(TEST_TOKEN)}`);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(limited.headers['set-cookie']).toBeUndefined();
    expect(limited.body).toContain('Too many failed sign-ins');
    expect(limited.body).toContain('wait 60 seconds');
    const linkLimited = await via('GET', pathOf(link));
    expect(linkLimited.status).toBe(429);
    // Asking for a link is a guess at the API token too.
    expect((await raw(baton.port, 'POST', '/console/login-link', { authorization: `Bearer ${TEST_TOKEN}` })).status).toBe(429);
    const jsonLimited = await via('POST', '/console/login', { 'content-type': 'application/json' }, JSON.stringify({ token: TEST_TOKEN }));
    expect(jsonLimited.status).toBe(429);
    expect(JSON.parse(jsonLimited.body).error.code).toBe('too_many_requests');
    now += 30_000;
    expect((await via('POST', '/console/login', form, `token=${encodeURIComponent(TEST_TOKEN)}`)).headers['retry-after']).toBe('30');

    now += 31_000;
    // The link was not spent by the refused attempt.
    const after = await via('GET', pathOf(link));
    expect(after.status).toBe(303);
    expect((await via('GET', '/console/api/bootstrap', { cookie: cookieOf(after) })).status).toBe(200);
  });

  it('sign-out ends the session and clears the cookie', async () => {
    const first = await via('GET', pathOf(await consoleLoginLink(baton)));
    const cookie = cookieOf(first);
    expect((await via('GET', '/console/api/bootstrap', { cookie })).status).toBe(200);
    // Sign-out is a write: a page on another site cannot sign the user out.
    expect((await via('POST', '/console/logout', { cookie, origin: 'https://evil.example' })).status).toBe(403);
    const out = await via('POST', '/console/logout', { cookie, origin: `http://localhost:${baton.port}` });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/console/login?signed-out');
    expect(String(out.headers['set-cookie'])).toBe(`${SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`);
    expect((await via('GET', '/console/login?signed-out')).body).toContain('You signed out');
    const api = await via('GET', '/console/api/bootstrap', { cookie });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body).error.message).toContain('has ended');
    expect((await via('GET', '/console', { cookie })).headers.location).toBe('/console/login?expired');
  });

  it('a session ends 12 hours after sign-in', async () => {
    const cookie = cookieOf(await via('GET', pathOf(await consoleLoginLink(baton))));
    now += 12 * 3600_000 - 1000;
    expect((await via('GET', '/console/api/bootstrap', { cookie })).status).toBe(200);
    now += 2000;
    const api = await via('GET', '/console/api/bootstrap', { cookie });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body).error.message).toContain('has ended');
    const page = await via('GET', '/console', { cookie });
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/console/login?expired');
    expect((await via('GET', '/console/login?expired')).body).toContain('Your console session has ended');
  });

  it('a link not opened within 12 hours expires', async () => {
    const link = await consoleLoginLink(baton);
    now += 12 * 3600_000 + 1000;
    const late = await via('GET', pathOf(link));
    expect(late.status).toBe(401);
    expect(late.body).toContain('has expired');
  });

  it('writes need the session, the console header and no foreign Origin or cross-site fetch', async () => {
    const cookie = cookieOf(await via('GET', pathOf(await consoleLoginLink(baton))));
    const json = { 'content-type': 'application/json', cookie };
    const body = JSON.stringify({ transition: 'sdr_to_ae' });
    expect((await via('POST', '/console/api/demo', json, body)).status).toBe(403);
    expect((await via('POST', '/console/api/demo', { ...json, 'x-baton-console': '1', origin: 'https://evil.example' }, body)).status).toBe(403);
    const crossSite = await via('POST', '/console/api/demo', { ...json, 'x-baton-console': '1', 'sec-fetch-site': 'cross-site' }, body);
    expect(crossSite.status).toBe(403);
    expect(JSON.parse(crossSite.body).error.message).toContain('same-origin');
    expect((await via('POST', '/console/api/demo', { 'content-type': 'text/plain', 'x-baton-console': '1', cookie }, body)).status).toBe(415);
    expect((await baton.service.list({})).handoffs).toHaveLength(0);

    const ok = await via('POST', '/console/api/demo', { ...json, 'x-baton-console': '1', origin: `http://localhost:${baton.port}`, 'sec-fetch-site': 'same-origin' }, body);
    expect(ok.status).toBe(201);
    expect(JSON.parse(ok.body).handoff).toMatchObject({ transition: 'sdr_to_ae', status: 'routed', demo: true });
  });

  it('acts through the core: the owner may accept, anyone else gets the core\'s 403 naming who can', async () => {
    const cookie = cookieOf(await via('GET', pathOf(await consoleLoginLink(baton))));
    const { handoffs } = await baton.service.list({});
    const h = handoffs[0]!;
    const headers = { 'content-type': 'application/json', 'x-baton-console': '1', cookie };
    const stranger = baton.playbook.people.find((p) => p.teamId === 'support')!;
    const refused = await via('POST', `/console/api/handoffs/${h.id}/actions`, headers, JSON.stringify({ action: 'accept', actor: stranger.id }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.message).toContain(`${h.owner.name} (owner)`);
    const accepted = await via('POST', `/console/api/handoffs/${h.id}/actions`, headers, JSON.stringify({ action: 'accept', actor: h.owner.id, expectedVersion: h.version }));
    expect(accepted.status).toBe(200);
    expect(JSON.parse(accepted.body).handoff.status).toBe('accepted');
    // The SLA engine re-arms the timers from the outbox, just after the commit: wait for the new phase.
    const read = async () => JSON.parse((await via('GET', `/console/api/handoffs/${h.id}?as=${h.owner.id}`, { cookie })).body);
    let detail = await read();
    for (let i = 0; i < 200 && !detail.timers.some((t: { step: string }) => t.step.startsWith('first_touch:')); i++) {
      await new Promise((r) => setTimeout(r, 100));
      detail = await read();
    }
    expect(detail.view.status).toBe('accepted');
    expect(detail.roles).toEqual(['owner']);
    expect(detail.actions).toEqual(expect.arrayContaining(['touch', 'complete', 'reassign']));
    const steps = detail.timers.map((t: { step: string }) => t.step);
    expect(steps).toEqual(expect.arrayContaining(['first_touch:escalate:1']));
    expect(steps.filter((s: string) => s.startsWith('accept:'))).toEqual([]);
  });

  it('npm run console:link prints a fresh link from the running Baton; a wrong token is refused by name', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(join(process.cwd(), 'node_modules', '.bin', 'tsx'), ['scripts/console-link.ts', baton.url], {
          cwd: process.cwd(),
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BATON_DATA_DIR: '/nonexistent-baton-data', ...env },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const ok = await run({ BATON_API_TOKEN: TEST_TOKEN });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const link = /(http:\/\/\S+\/console\/login\?token=[A-Za-z0-9_-]+)/.exec(ok.stdout)?.[1];
    expect(link).toBeDefined();
    const opened = await via('GET', pathOf(link!));
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('/console');

    const refused = await run({ BATON_API_TOKEN: 'not-the-token-0000000' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused the API token');
    expect(refused.stdout).toBe('');
  });
});

describe('the start-up link', () => {
  it('npm start prints a single-use link (a log line and a plain line); it opens the console once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-console-start-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'bots/main.ts'], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BATON_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: TEST_TOKEN, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const link = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no sign-in link within 90 s; stdout: ${stdout}\nstderr: ${stderr}`)), 90_000);
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
          // The plain line: the link alone, indented, for a person to click.
          const m = /^ +(http:\/\/127\.0\.0\.1:\d+\/console\/login\?token=[A-Za-z0-9_-]{32,})$/m.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`Baton exited (${code}) before printing a link; stderr: ${stderr}`)));
      });
      // The log line carries the same link.
      const logged = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { link?: string });
      expect(logged.some((l) => l.link === link)).toBe(true);
      const port = Number(new URL(link).port);
      const first = await raw(port, 'GET', pathOf(link));
      expect(first.status).toBe(303);
      expect(first.headers.location).toBe('/console');
      expect((await raw(port, 'GET', '/console', { cookie: cookieOf(first) })).status).toBe(200);
      const second = await raw(port, 'GET', pathOf(link));
      expect(second.status).toBe(401);
      expect(second.body).toContain('already been used');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('console login behind https', () => {
  it('links use BATON_PUBLIC_URL and the session cookie is Secure', async () => {
    const baton = await startTestBaton({ plugins: [consolePlugin], env: { BATON_PUBLIC_URL: 'https://baton.example.com/' } });
    try {
      const link = await consoleLoginLink(baton);
      expect(link).toMatch(/^https:\/\/baton\.example\.com\/console\/login\?token=[A-Za-z0-9_-]{32,}$/);
      const opened = await raw(baton.port, 'GET', pathOf(link), { host: 'baton.example.com', 'x-forwarded-proto': 'https' });
      expect(opened.status).toBe(303);
      expect(String(opened.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
      const signedIn = await raw(baton.port, 'POST', '/console/login', form, `token=${encodeURIComponent(TEST_TOKEN)}`);
      expect(String(signedIn.headers['set-cookie'])).toContain('; Secure');
    } finally {
      await baton.stop();
    }
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
        const page = await raw(baton.port, 'GET', '/console');
        // Served: the sign-in redirect (no session here). Off: the app's JSON 404.
        expect(page.status).toBe(c.served ? 303 : 404);
        if (!c.served) expect(JSON.parse(page.body).error.code).toBe('not_found');
        expect((await raw(baton.port, 'GET', '/console/login')).status).toBe(c.served ? 200 : 404);
        // `/` points a browser to the console when it is served; otherwise it keeps the JSON 404.
        const root = await raw(baton.port, 'GET', '/');
        expect(root.status).toBe(c.served ? 302 : 404);
        if (c.served) expect(root.headers.location).toBe('/console');
        else expect(JSON.parse(root.body).error.code).toBe('not_found');
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
