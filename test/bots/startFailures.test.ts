/**
 * Friendly failures at start (issue #19 item 3): each way `npm start` can fail for a reason
 * around Baton ends in one short message on stderr naming what to change, a non-zero exit, and a
 * stack trace only at LOG_LEVEL=debug. Every case is a real `bots/main.ts` process, as `npm
 * start` runs it, against the real thing that is wrong: a port held by another server, a closed
 * port, the PostgreSQL server (a role and a database that do not exist), a local server speaking
 * PostgreSQL's protocol that refuses the password, a data directory held by a live process, a
 * PGlite directory from another PostgreSQL version, an invalid playbook.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { projectRoot } from '../../src/store/migrate.js';
import { LOCK_FILE, processStartTime } from '../../src/store/dataDir.js';

jest.setTimeout(180_000);

/** The PostgreSQL server the suite runs against (trust authentication on 127.0.0.1 in CI). */
const PG_BASE = process.env.DATABASE_URL ?? process.env.CI_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

interface Refused {
  code: number | null;
  stderr: string;
  /** The JSON log lines on stdout (the console's sign-in link is printed as plain lines, skipped). */
  logs: Record<string, unknown>[];
}

/** Starts Baton expecting it not to start; stops it if it does (the old code sometimes did). */
async function runRefused(env: Record<string, string>): Promise<Refused> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bots/main.ts'], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', BATON_API_TOKEN: 'start-failures-token-0123456789', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (stdout.includes('"Baton is listening"')) proc.kill('SIGTERM');
  });
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  const logs = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, stderr, logs };
}

/** The message for a person: "Baton cannot start: …", one paragraph, no stack frames. */
function expectFriendly(r: Refused, code: string, ...phrases: (string | RegExp)[]): void {
  expect({ exit: r.code, stderr: r.stderr }).toMatchObject({ exit: 1 });
  expect(r.stderr).toMatch(/^\nBaton cannot start: /);
  for (const p of phrases) expect(r.stderr).toMatch(p);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  // Log collectors get the same message with its code, as one fatal JSON line.
  const fatal = r.logs.find((l) => l.level === 60);
  expect(fatal).toMatchObject({ code });
  expect(r.stderr).toContain(String(fatal!.msg));
}

function listenOn(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listenOn(s);
  await close(s);
  return port;
}

/**
 * Just enough of PostgreSQL's protocol to refuse a password: answers the startup message with
 * AuthenticationCleartextPassword, reads the password message, and answers with the FATAL
 * 28P01 error a server with password authentication sends. Keeps the passwords it was sent.
 */
function passwordRefusingServer(): { server: Server; passwords: string[] } {
  const passwords: string[] = [];
  const server = createServer((socket: Socket) => {
    let asked = false;
    socket.on('data', (chunk: Buffer) => {
      if (!asked) {
        asked = true;
        const auth = Buffer.alloc(9);
        auth.write('R', 0);
        auth.writeInt32BE(8, 1);
        auth.writeInt32BE(3, 5); // cleartext password
        socket.write(auth);
        return;
      }
      if (chunk[0] === 'p'.charCodeAt(0)) passwords.push(chunk.subarray(5).toString('utf8').replace(/\0$/, ''));
      const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "baton"'].map((f) => Buffer.from(f + '\0'));
      const body = Buffer.concat([...fields, Buffer.from([0])]);
      const head = Buffer.alloc(5);
      head.write('E', 0);
      head.writeInt32BE(body.length + 4, 1);
      socket.end(Buffer.concat([head, body]));
    });
    socket.on('error', () => undefined);
  });
  return { server, passwords };
}

function urlWith(base: string, change: (u: URL) => void): string {
  const u = new URL(base);
  u.searchParams.delete('schema');
  change(u);
  return u.toString();
}

describe('a start that fails says what to change', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'baton-startfail-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('port in use: names the port and PORT, and lets go of the data directory', async () => {
    const holder = createServer();
    const port = await listenOn(holder);
    const dataDir = tempDir();
    try {
      const r = await runRefused({ PORT: String(port), BATON_DATA_DIR: dataDir });
      expectFriendly(r, 'port_in_use', `port ${port} on 127.0.0.1 is already in use`, /set PORT to a free port/);
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    } finally {
      await close(holder);
    }
  });

  it('shows the stack trace at LOG_LEVEL=debug, and only then', async () => {
    const port = await closedPort();
    const r = await runRefused({ DATABASE_URL: `postgresql://baton@127.0.0.1:${port}/baton`, BATON_DATA_DIR: tempDir(), LOG_LEVEL: 'debug' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Baton cannot start: nothing answers at 127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).toMatch(/^\s+at /m);
  });

  it('database unreachable: names the host and port and DATABASE_URL', async () => {
    const port = await closedPort();
    const r = await runRefused({ DATABASE_URL: `postgresql://baton:s3cret-pass@127.0.0.1:${port}/baton`, BATON_DATA_DIR: tempDir() });
    expectFriendly(r, 'database_unreachable', `nothing answers at 127.0.0.1:${port}`, /fix the host and port in DATABASE_URL/, /unset DATABASE_URL to use the embedded database/);
    expect(r.stderr + JSON.stringify(r.logs)).not.toContain('s3cret-pass');
  });

  it('wrong password (a server that refuses it with 28P01): names the user and says to fix the password, never showing it', async () => {
    const { server, passwords } = passwordRefusingServer();
    const port = await listenOn(server);
    try {
      const r = await runRefused({ DATABASE_URL: `postgresql://baton:wrong-hunter2@127.0.0.1:${port}/baton`, BATON_DATA_DIR: tempDir() });
      // The password did reach the server, which refused it.
      expect(passwords).toContain('wrong-hunter2');
      expectFriendly(r, 'database_auth', `PostgreSQL at 127.0.0.1:${port} refused the password of user "baton"`, /Fix the password in DATABASE_URL/);
      expect(r.stderr + JSON.stringify(r.logs)).not.toContain('wrong-hunter2');
    } finally {
      await close(server);
    }
  });

  it('a user the PostgreSQL server does not know (trust authentication takes any password, so this is its refusal)', async () => {
    const role = `nobody_${randomBytes(4).toString('hex')}`;
    const r = await runRefused({ DATABASE_URL: urlWith(PG_BASE, (u) => { u.username = role; u.password = 'any'; }), BATON_DATA_DIR: tempDir() });
    expectFriendly(r, 'database_auth', `does not let user "${role}" in: role "${role}" does not exist`, /Fix the user in DATABASE_URL/);
  });

  it('missing database: names it and how to create it', async () => {
    const name = `nope_${randomBytes(4).toString('hex')}`;
    const r = await runRefused({ DATABASE_URL: urlWith(PG_BASE, (u) => { u.pathname = `/${name}`; }), BATON_DATA_DIR: tempDir() });
    expectFriendly(r, 'database_missing', `the database "${name}" does not exist`, `createdb ${name}`, /fix the database name in DATABASE_URL/);
  });

  it('data directory locked by another running process: names it and BATON_DATA_DIR', async () => {
    const dataDir = tempDir();
    // This test process is alive: its pid and start time make the lock a live one.
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) ?? 'unknown' }) + '\n', { mode: 0o600 });
    const r = await runRefused({ BATON_DATA_DIR: dataDir });
    expectFriendly(r, 'data_dir_in_use', `another Baton (pid ${process.pid}) is using ${dataDir}`, `kill ${process.pid}`, /set BATON_DATA_DIR to another directory/);
  });

  it('an embedded database made by a newer PostgreSQL: says which, and what to do', async () => {
    const dataDir = tempDir();
    const pglite = new PGlite(join(dataDir, 'pglite'));
    await pglite.waitReady;
    await pglite.close();
    writeFileSync(join(dataDir, 'pglite', 'PG_VERSION'), '99\n');
    const r = await runRefused({ BATON_DATA_DIR: dataDir });
    expectFriendly(r, 'pglite_incompatible', `the embedded database in ${join(dataDir, 'pglite')} was made by PostgreSQL 99 (a newer Baton)`, /Start the Baton version that made it/, /set BATON_DATA_DIR to another directory/);
  });

  it('invalid playbook: names the file and every problem with its path', async () => {
    const dir = tempDir();
    const playbook = join(dir, 'playbook.yml');
    writeFileSync(playbook, 'organization:\n  name: Acme\nteams: nope\n');
    const r = await runRefused({ BATON_PLAYBOOK: playbook, BATON_DATA_DIR: join(dir, 'data') });
    expectFriendly(r, 'invalid_playbook', `The playbook ${playbook} is invalid:`, /^ {2}- teams/m);
  });
});
