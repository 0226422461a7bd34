/**
 * Opens the system of record: an embedded PGlite data directory by default, or a PostgreSQL
 * server when DATABASE_URL is set. Both get the same migrations and the same Prisma client.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { SqlClient } from './sqlClient.js';
import { StartupError } from '../errors.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  kind: DatabaseKind;
  prisma: PrismaClient;
  sql: SqlClient;
  /** Where the data lives, safe to log (no password). */
  description: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * On-disk PGlite only: false starts it the way PGlite does by default (fsync off), which loses
   * committed transactions on a power cut. Only the durability benchmark compares with it.
   */
  durable?: boolean;
  /** postgresql://… ; when absent the embedded database is used. */
  url?: string | undefined;
  /** PGlite data directory, or "memory://" for a throw-away database (tests). */
  dataDir: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts.poolSize ?? 10) : openPglite(opts.dataDir, opts.durable ?? true);
}

/**
 * PGlite's start parameters. Its defaults include `-F` (fsync off). On disk, a commit must reach
 * the disk before Baton answers 201, but on Node PGlite has no working fsync (Emscripten's NODEFS
 * lacks it and its fdatasync does nothing), so fsync=on alone changes nothing: with
 * wal_sync_method=open_datasync PostgreSQL opens each WAL segment with O_DSYNC instead, and every
 * WAL write returns only once it is on the disk (open_sync crashes PGlite). In memory there is no
 * disk to reach, and tests keep their speed.
 */
export function pgliteStartParams(onDisk: boolean, durable = true): string[] {
  // PostgreSQL's default buffer pool (128 MB) lives in this process's memory here and fills as pages
  // are read; the data files are read through the operating system's cache anyway. 32 MB keeps the
  // embedded database's share of Baton's memory down without more disk reads for installations
  // that fit PGlite.
  const common = ['-c', 'shared_buffers=32MB'];
  if (!onDisk || !durable) return [...PGlite.defaultStartParams, ...common];
  return [...PGlite.defaultStartParams.filter((p) => p !== '-F'), ...common, '-c', 'fsync=on', '-c', 'wal_sync_method=open_datasync'];
}

async function openPglite(dataDir: string, durable: boolean): Promise<Database> {
  const onDisk = !dataDir.startsWith('memory://');
  // 0700 from the start; PGlite's own files are tightened once it is open (src/store/dataDir.ts).
  if (onDisk) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new PGlite(dataDir, { startParams: pgliteStartParams(onDisk, durable) });
  try {
    await db.waitReady;
  } catch (err) {
    throw onDisk ? await pgliteStartError(err, dataDir) : err;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    kind: 'pglite',
    prisma,
    sql: pgliteSqlClient(db),
    description: dataDir.startsWith('memory://') ? 'embedded PGlite (in memory)' : `embedded PGlite in ${dataDir}`,
    async close() {
      await prisma.$disconnect();
      if (!db.closed) await db.close();
    },
  };
}

function pgliteSqlClient(db: PGlite | PGliteTransaction): SqlClient {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>) {
      // PGlite is one session: its transaction() holds an exclusive lock, which is exactly the
      // serialisation the embedded path needs. A nested transaction just reuses the outer one.
      if (!('transaction' in db)) return fn(pgliteSqlClient(db));
      return db.transaction((tx) => fn(pgliteSqlClient(tx)));
    },
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  // Prisma's URL convention: `?schema=name` selects a schema (default public). pg does not know
  // the parameter, so it becomes the connection's search_path and the schema of Prisma's queries.
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error('DATABASE_URL: schema must be a plain identifier');
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: poolSize,
    connectionTimeoutMillis: 5000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that crashes the process.
  pool.on('error', () => undefined);
  // Connect once now, so a wrong DATABASE_URL is told at start, in words, not by the first query.
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw postgresStartError(err, u);
  }
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : undefined) });
  return {
    kind: 'postgres',
    prisma,
    sql: poolSqlClient(pool),
    description: `PostgreSQL at ${redactUrl(url)}`,
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

function poolSqlClient(pool: pg.Pool): SqlClient {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>) {
      const client = await pool.connect();
      // A checked-out client whose connection is cut emits 'error' besides failing its query; the
      // pool listens only to idle ones, and an unheard 'error' would end the process. The failed
      // query already tells the caller; a client that cannot even roll back is discarded.
      const heard = () => undefined;
      client.on('error', heard);
      let discard = false;
      try {
        await client.query('BEGIN');
        const result = await fn(clientSqlClient(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (discard = true));
        throw err;
      } finally {
        client.off('error', heard);
        client.release(discard);
      }
    },
  };
}

function clientSqlClient(client: pg.PoolClient): SqlClient {
  const self: SqlClient = {
    async query<T>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>) {
      return fn(self);
    },
  };
  return self;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://(unparseable URL)';
  }
}

/**
 * Why PostgreSQL would not let Baton in, and what to change in DATABASE_URL. By SQLSTATE (the
 * server answered) or by socket error code (it did not); never echoes the password.
 */
export function postgresStartError(err: unknown, url: URL): Error {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const where = `${url.hostname}:${url.port || '5432'}`;
  const user = decodeURIComponent(url.username) || '(the default user)';
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || user;
  const fixUrl = 'in DATABASE_URL (postgresql://user:password@host:port/database)';
  switch (code) {
    case 'ECONNREFUSED':
      return new StartupError(`nothing answers at ${where}, the PostgreSQL server in DATABASE_URL (connection refused). Start PostgreSQL there, or fix the host and port ${fixUrl}; unset DATABASE_URL to use the embedded database instead.`, 'database_unreachable', err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`the host "${url.hostname}" in DATABASE_URL is not known (DNS lookup failed). Fix the host ${fixUrl}.`, 'database_unreachable', err);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new StartupError(`the PostgreSQL server at ${where} cannot be reached (${code}). Check that it runs and that a firewall lets this machine in, or fix the host and port ${fixUrl}.`, 'database_unreachable', err);
    case '28P01':
      return new StartupError(`PostgreSQL at ${where} refused the password of user "${user}". Fix the password ${fixUrl}.`, 'database_auth', err);
    case '28000':
      return new StartupError(`PostgreSQL at ${where} does not let user "${user}" in: ${message}. Fix the user ${fixUrl}, or create that role on the server (CREATE ROLE … LOGIN PASSWORD '…').`, 'database_auth', err);
    case '3D000':
      return new StartupError(`the database "${database}" does not exist on the PostgreSQL server at ${where}. Create it (createdb ${database}, or CREATE DATABASE ${database};), or fix the database name ${fixUrl}.`, 'database_missing', err);
  }
  if (/timeout/i.test(message)) {
    return new StartupError(`the PostgreSQL server at ${where} did not answer within 5 seconds. Check that it runs and is reachable from here, or fix the host and port ${fixUrl}.`, 'database_unreachable', err);
  }
  if (/^[0-9A-Z]{5}$/.test(code)) return new StartupError(`PostgreSQL at ${where} refused the connection: ${message} (SQLSTATE ${code}). Check ${fixUrl}.`, 'database_refused', err);
  return err instanceof Error ? err : new Error(message);
}

/**
 * PGlite only says "failed to initialize". The usual causes: the directory was made by another
 * PostgreSQL major version (a newer or older Baton), or it is not a database at all.
 */
async function pgliteStartError(err: unknown, dataDir: string): Promise<Error> {
  let made: string | undefined;
  try {
    made = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
  } catch {
    made = undefined;
  }
  let ours: string | undefined;
  try {
    // A throw-away in-memory instance tells which PostgreSQL this PGlite is.
    const probe = await PGlite.create();
    ours = String((await probe.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '').split('.')[0] || undefined;
    await probe.close();
  } catch {
    ours = undefined;
  }
  const moveAside = `move ${dataDir} aside (or set BATON_DATA_DIR to another directory) to start with a new, empty database`;
  if (made && ours && made !== ours) {
    const which = Number(made) > Number(ours) ? 'a newer' : 'an older';
    return new StartupError(
      `the embedded database in ${dataDir} was made by PostgreSQL ${made} (${which} Baton); this Baton's PGlite runs PostgreSQL ${ours} and cannot open it. Start the Baton version that made it (and export what you need), or ${moveAside}.`,
      'pglite_incompatible',
      err,
    );
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new StartupError(`the embedded database in ${dataDir} cannot be opened (${reason}). If another program uses it, stop that program; if it is damaged, restore it from a backup, or ${moveAside}.`, 'pglite_unreadable', err);
}
