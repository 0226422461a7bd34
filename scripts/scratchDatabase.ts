/**
 * Throw-away databases for the benchmark scripts: the embedded PGlite in memory, or a fresh schema
 * `bench_…` on a PostgreSQL server that is dropped again on close.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../src/store/database.js';

export interface ScratchDatabase {
  db: Database;
  /** The connection URL (with `?schema=`) on PostgreSQL; undefined for PGlite. */
  url: string | undefined;
  close(): Promise<void>;
}

export async function openScratchPglite(): Promise<ScratchDatabase> {
  const db = await openDatabase({ dataDir: 'memory://' });
  return { db, url: undefined, close: () => db.close() };
}

/** A new schema on the server at `baseUrl`; `close` closes the database and drops the schema. */
export async function openScratchPostgres(baseUrl: string): Promise<ScratchDatabase> {
  const schema = newScratchSchema();
  const u = new URL(baseUrl);
  u.searchParams.set('schema', schema);
  const db = await openDatabase({ url: u.toString(), dataDir: '' });
  return {
    db,
    url: u.toString(),
    async close() {
      await db.close();
      await dropScratchSchema(baseUrl, schema);
    },
  };
}

export function newScratchSchema(): string {
  return `bench_${randomBytes(4).toString('hex')}`;
}

export async function dropScratchSchema(baseUrl: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.end();
  }
}
