/**
 * The API token (issue #15, item 8): a token that is empty, blank, short or not plain visible ASCII
 * is refused at start, naming where it came from (BATON_API_TOKEN or the generated api-token
 * file); and the bearer check compares without trimming, so Unicode spaces (U+00A0) can neither
 * stand for an empty token nor pad a real one. Real HTTP against a real server, real files.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startBaton } from '../../src/app.js';
import { ConfigError } from '../../src/errors.js';
import { tokensMatch } from '../../src/apiToken.js';
import { apiRequest, defaultPlaybook, freshDatabase, silentLog, startTestBaton, TEST_TOKEN, type TestBaton } from '../helpers/baton.js';

const NBSP = '\u00a0';

describe('BATON_API_TOKEN is refused at start when it cannot be a secret', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['whitespace only', '                    '],
    ['no-break spaces only', NBSP.repeat(20)],
    ['shorter than 16 characters', 'fifteen-chars-x'],
    ['padded with a no-break space', `${TEST_TOKEN}${NBSP}`],
    ['with a space inside', 'correct horse battery staple'],
    ['with a non-ASCII letter', 'pässwörd-0123456789abcdef'],
  ];
  it.each(cases)('%s', (_name, token) => {
    let err: unknown;
    try {
      loadConfig({ BATON_API_TOKEN: token });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const config = err as ConfigError;
    expect(config.details!.map((d) => d.path)).toEqual(['BATON_API_TOKEN']);
    expect(config.userMessage).toMatch(/^Baton cannot start; fix these environment variables:\n {2}- BATON_API_TOKEN: /);
    // Never echo the value, even a bad one.
    if (token.trim()) expect(config.userMessage).not.toContain(token.trim());
  });

  it('accepts 16 or more visible ASCII characters as they are', () => {
    expect(loadConfig({ BATON_API_TOKEN: 'abcdefgh-1234567' }).apiToken).toBe('abcdefgh-1234567');
    expect(loadConfig({ BATON_API_TOKEN: TEST_TOKEN }).apiToken).toBe(TEST_TOKEN);
  });
});

describe('the generated api-token file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** startBaton without BATON_API_TOKEN, on this data directory; the database is a throw-away one. */
  const start = async () => {
    const fresh = await freshDatabase();
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BATON_DATA_DIR: dir });
    try {
      return { baton: await startBaton({ config, log: silentLog, playbook: await defaultPlaybook(), db: fresh.db }), fresh };
    } catch (err) {
      await fresh.drop();
      throw err;
    }
  };

  const refusals: [string, string][] = [
    ['empty', ''],
    ['whitespace only', '   \n'],
    ['a no-break space', `${NBSP}\n`],
    ['shorter than 16 characters', 'abc123\n'],
    ['two lines', 'abcdefghijklmnop\nqrstuvwxyz012345\n'],
  ];
  it.each(refusals)('is refused at start when %s, naming the file', async (_name, content) => {
    writeFileSync(join(dir, 'api-token'), content, { mode: 0o600 });
    let err: unknown;
    try {
      const { baton, fresh } = await start();
      // The old code started here; show what that allowed before failing the test.
      const open = await apiRequest(baton.url, NBSP, 'GET', '/api/people');
      await baton.close();
      await fresh.drop();
      throw new Error(`Baton started with this token file; "Bearer <U+00A0>" then answered ${open.status}`);
    } catch (e) {
      err = e;
    }
    // Anything but the refusal (the old code started, see above) fails the test with its message.
    if (!(err instanceof ConfigError)) throw err;
    const config = err;
    expect(config.details!.map((d) => d.path)).toEqual([join(dir, 'api-token')]);
    expect(config.userMessage).toContain(`${join(dir, 'api-token')}: `);
    expect(config.userMessage).toContain('BATON_API_TOKEN');
  });

  it('is generated once, 0600, and used as it is written (one trailing newline allowed)', async () => {
    const { baton, fresh } = await start();
    try {
      const file = join(dir, 'api-token');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').replace(/\n$/, '');
      expect(token).toMatch(/^[\x21-\x7e]{16,}$/);
      expect(baton.apiToken).toBe(token);
      expect((await apiRequest(baton.url, token, 'GET', '/api/people')).status).toBe(200);
    } finally {
      await baton.close();
      await fresh.drop();
    }
  });

  it('is tightened to 0600 when it was left readable by others', async () => {
    const file = join(dir, 'api-token');
    writeFileSync(file, 'a-deployer-chosen-token-0123\n');
    chmodSync(file, 0o644);
    const { baton, fresh } = await start();
    try {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(baton.apiToken).toBe('a-deployer-chosen-token-0123');
    } finally {
      await baton.close();
      await fresh.drop();
    }
  });
});

describe('the bearer check does not trim', () => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton({ checkResponses: true });
  });
  afterAll(async () => {
    await baton?.stop();
  });

  const presented: [string, string][] = [
    ['a lone no-break space', NBSP],
    ['the token followed by a no-break space', `${TEST_TOKEN}${NBSP}`],
    ['a no-break space before the token', `${NBSP}${TEST_TOKEN}`],
    ['the token with a tab inside', `${TEST_TOKEN.slice(0, 8)}\t${TEST_TOKEN.slice(8)}`],
  ];
  it.each(presented)('401 for %s', async (_name, token) => {
    const res = await fetch(baton.url + '/api/people', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('200 for the token itself', async () => {
    expect((await baton.api('GET', '/api/people')).status).toBe(200);
  });
});

describe('tokensMatch', () => {
  it('matches only the identical string', () => {
    expect(tokensMatch(TEST_TOKEN, TEST_TOKEN)).toBe(true);
    expect(tokensMatch(`${TEST_TOKEN} `, TEST_TOKEN)).toBe(false);
    expect(tokensMatch(`${TEST_TOKEN}${NBSP}`, TEST_TOKEN)).toBe(false);
    expect(tokensMatch(TEST_TOKEN.slice(0, -1), TEST_TOKEN)).toBe(false);
    expect(tokensMatch(TEST_TOKEN.toUpperCase(), TEST_TOKEN)).toBe(false);
  });
  it('never matches an empty expected token, even an empty presented one', () => {
    expect(tokensMatch('', '')).toBe(false);
    expect(tokensMatch(NBSP.trim(), ''.trim())).toBe(false);
  });
});
