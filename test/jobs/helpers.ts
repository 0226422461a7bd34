/**
 * Databases for job tests: an in-memory PGlite, or (with DATABASE_URL) a throw-away schema on the
 * PostgreSQL server, with the URL that points at that schema (Agenda's postgres backend opens its
 * own pool from it).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';

export const postgresUrl = process.env.DATABASE_URL;

export interface JobsTestDatabase {
  db: Database;
  /** postgresql://…?schema=t_… on PostgreSQL; undefined on PGlite. */
  url: string | undefined;
  drop(): Promise<void>;
}

export async function pgliteDatabase(): Promise<JobsTestDatabase> {
  const db = await openDatabase({ dataDir: 'memory://', url: undefined });
  return { db, url: undefined, drop: () => db.close() };
}

export async function postgresDatabase(base: string): Promise<JobsTestDatabase> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  const url = u.toString();
  const db = await openDatabase({ url, dataDir: '' });
  return {
    db,
    url,
    async drop() {
      await db.close();
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

/** Every backend this run can reach: PGlite always, PostgreSQL when DATABASE_URL is set. */
export const backends: { name: 'PGlite' | 'PostgreSQL'; open: () => Promise<JobsTestDatabase> }[] = [
  { name: 'PGlite', open: pgliteDatabase },
  ...(postgresUrl ? [{ name: 'PostgreSQL' as const, open: () => postgresDatabase(postgresUrl) }] : []),
];

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}
