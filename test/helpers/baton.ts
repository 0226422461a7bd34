/**
 * Starts a real Baton for a test file: real HTTP on a random port, the real database — an
 * in-memory PGlite by default, or a fresh schema on the PostgreSQL server named by DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startBaton, type Baton, type BatonOptions } from '../../src/app.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { loadPlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';
import type { OpenApiDocument } from '../../src/api/openapi.js';
import { ResponseChecker, type Answer } from './openapi.js';

export const onPostgres = Boolean(process.env.DATABASE_URL);
export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestDatabase {
  db: Database;
  /** PostgreSQL: the URL of this schema, for a second connection (another "process"); PGlite: undefined. */
  url: string | undefined;
  drop(): Promise<void>;
}

/** A fresh, empty database: in-memory PGlite, or a new schema on the server (dropped afterwards). */
export async function freshDatabase(): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDatabase({ dataDir: 'memory://', url: undefined });
    return { db, url: undefined, drop: () => db.close() };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  const db = await openDatabase({ url: u.toString(), dataDir: '' });
  return {
    db,
    url: u.toString(),
    async drop() {
      await db.close();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

let playbookCache: Playbook | undefined;
export async function defaultPlaybook(): Promise<Playbook> {
  playbookCache ??= await loadPlaybook('playbook.yml');
  return playbookCache;
}

export const silentLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A request to Baton's HTTP API with a bearer token; the answer's JSON (or text when it is not JSON). */
export async function apiRequest(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export interface TestBaton extends Baton {
  /** fetch against the server with the API token and JSON headers (answers checked against the OpenAPI document when `checkResponses`). */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  /** Throws unless `answer` is one Baton's OpenAPI document (GET /api/openapi.json) describes for `method path`. */
  checkResponse(method: string, path: string, answer: Answer): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `env` adds environment variables (e.g. SLACK_BOT_TOKEN, SLACK_API_URL pointing at a fake).
 * `checkResponses`: every answer api() gets must match the OpenAPI document Baton serves, or the
 * call throws (test/api does this for all its requests).
 */
export async function startTestBaton(overrides: Partial<BatonOptions> & { env?: Record<string, string>; checkResponses?: boolean } = {}): Promise<TestBaton> {
  const fresh = overrides.db ? undefined : await freshDatabase();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', BATON_API_TOKEN: TEST_TOKEN, LOG_LEVEL: 'silent', BATON_OUTBOX_POLL_MS: '100', ...overrides.env });
  const baton = await startBaton({
    config,
    log: silentLog,
    playbook: overrides.playbook ?? (await defaultPlaybook()),
    db: overrides.db ?? fresh!.db,
    ...overrides,
  });
  let checker: Promise<ResponseChecker> | undefined;
  const checkResponse = async (method: string, path: string, answer: Answer) => {
    checker ??= apiRequest(baton.url, TEST_TOKEN, 'GET', '/api/openapi.json').then((res) => {
      if (res.status !== 200) throw new Error(`GET /api/openapi.json answered ${res.status}`);
      return new ResponseChecker(res.json as OpenApiDocument);
    });
    (await checker).check(method, path, answer);
  };
  return Object.assign(baton, {
    api: async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const answer = await apiRequest(baton.url, TEST_TOKEN, method, path, body, headers);
      if (overrides.checkResponses) await checkResponse(method, path, answer);
      return answer;
    },
    checkResponse,
    async stop() {
      await baton.close();
      await fresh?.drop();
    },
  });
}
