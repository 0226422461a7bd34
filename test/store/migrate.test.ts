/**
 * The start-up migration runner, on an in-memory PGlite and (when DATABASE_URL is set) on a
 * PostgreSQL server in a throw-away schema. Each case applies the committed prisma/migrations.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { applyMigrations, projectRoot } from '../../src/store/migrate.js';
import type { SqlClient } from '../../src/store/sqlClient.js';

const root = projectRoot();
const migrationsDir = path.join(root, 'prisma', 'migrations');

// ---------------------------------------------------------------------------------------------------
// SqlClients for the test (the application's own live in src/store/database.ts)

function pgliteClient(db: PGlite): SqlClient {
  const wrap = (q: PGlite | Transaction, inTx: boolean): SqlClient => {
    const client: SqlClient = {
      async query<T>(sql: string, params?: unknown[]) {
        return (await q.query<T>(sql, params)).rows;
      },
      async exec(sql: string) {
        await q.exec(sql);
      },
      transaction: (fn) => (inTx ? fn(client) : db.transaction((tx) => fn(wrap(tx, true)))),
    };
    return client;
  };
  return wrap(db, false);
}

function pgClient(pool: pg.Pool): SqlClient {
  const onConnection = (c: pg.PoolClient): SqlClient => {
    const client: SqlClient = {
      async query<T>(sql: string, params?: unknown[]) {
        return (await c.query(sql, params)).rows as T[];
      },
      async exec(sql: string) {
        await c.query(sql); // no parameters: simple protocol, several statements allowed
      },
      transaction: (fn) => fn(client), // already inside one
    };
    return client;
  };
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const result = await fn(onConnection(c));
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Test databases

interface TestDb {
  sql: SqlClient;
  /** Back to an empty schema (cheaper than a new database: PGlite takes seconds to start under jest). */
  reset(): Promise<void>;
  /** Another client on the same database (a second process, for the race test). */
  another?(): SqlClient;
  close(): Promise<void>;
}

async function pgliteDb(): Promise<TestDb> {
  const db = new PGlite();
  return {
    sql: pgliteClient(db),
    reset: () => db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;').then(() => {}),
    close: () => db.close(),
  };
}

/** A fresh schema on the server; every pool of this database has it as its search_path. */
async function postgresDb(url: string): Promise<TestDb> {
  const schema = `mig_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const pools: pg.Pool[] = [];
  const open = (): SqlClient => {
    const pool = new pg.Pool({ connectionString: url, max: 3, options: `-c search_path="${schema}"` });
    pools.push(pool);
    return pgClient(pool);
  };
  return {
    sql: open(),
    another: open,
    async reset() {
      await admin.query(`DROP SCHEMA "${schema}" CASCADE; CREATE SCHEMA "${schema}"`);
    },
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

const targets: Array<[string, () => Promise<TestDb>]> = [['PGlite', pgliteDb]];
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) targets.push(['PostgreSQL', () => postgresDb(databaseUrl)]);

// ---------------------------------------------------------------------------------------------------

async function committedMigrations(): Promise<Array<{ name: string; checksum: string }>> {
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      checksum: createHash('sha256').update(await readFile(path.join(migrationsDir, name, 'migration.sql'))).digest('hex'),
    })),
  );
}

/** A copy of prisma/migrations that a test may edit. */
async function copyOfMigrations(): Promise<{ dir: string; remove(): Promise<void> }> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'baton-migrations-'));
  const dir = path.join(tmp, 'migrations');
  await cp(migrationsDir, dir, { recursive: true });
  return { dir, remove: () => rm(tmp, { recursive: true, force: true }) };
}

async function tableNames(sql: SqlClient): Promise<string[]> {
  const rows = await sql.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

interface Recorded {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
  applied_steps_count: number;
  logs: unknown;
}
async function recorded(sql: SqlClient): Promise<Recorded[]> {
  return sql.query<Recorded>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs
     FROM "_prisma_migrations" ORDER BY migration_name`,
  );
}

test('projectRoot finds the directory holding package.json', () => {
  expect(existsSync(path.join(root, 'package.json'))).toBe(true);
  expect(existsSync(path.join(root, 'prisma', 'schema.prisma'))).toBe(true);
  expect(projectRoot(path.join(root, 'dist', 'src', 'store'))).toBe(root);
});

describe.each(targets)('applyMigrations on %s', (_label, openDb) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openDb();
  });
  beforeEach(async () => {
    await db.reset();
  });
  afterAll(async () => {
    await db?.close();
  });

  test('applies every committed migration and records it as Prisma does', async () => {
    const expected = await committedMigrations();
    expect(expected.length).toBeGreaterThan(0);
    const logs: string[] = [];

    const { applied } = await applyMigrations(db.sql, { dir: migrationsDir, log: (m) => logs.push(m) });

    expect(applied).toEqual(expected.map((m) => m.name));
    expect(logs).toEqual(expected.map((m) => `applied migration ${m.name}`));
    expect(await tableNames(db.sql)).toEqual(
      expect.arrayContaining(['_prisma_migrations', 'team', 'person', 'account', 'account_owner', 'handoff', 'handoff_event', 'card_ref', 'outbox_event', 'outbox_delivery', 'routing_cursor']),
    );
    const rows = await recorded(db.sql);
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(expected.map((m) => [m.name, m.checksum]));
    for (const r of rows) {
      expect(r.finished_at).not.toBeNull();
      expect(r.rolled_back_at).toBeNull();
      expect(r.logs).toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }
  });

  test('creates _prisma_migrations with exactly the columns Prisma uses', async () => {
    await applyMigrations(db.sql, { dir: migrationsDir });
    const columns = await db.sql.query(
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
       FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    // As created by @prisma/schema-engine-wasm's applyMigrations (checked on PGlite).
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', len: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', len: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', len: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', len: null, is_nullable: 'NO', column_default: '0' },
    ]);
    const pk = await db.sql.query<{ column_name: string }>(
      `SELECT k.column_name FROM information_schema.table_constraints c
       JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
       WHERE c.table_schema = current_schema() AND c.table_name = '_prisma_migrations' AND c.constraint_type = 'PRIMARY KEY'`,
    );
    expect(pk).toEqual([{ column_name: 'id' }]);
  });

  test('applying twice is a no-op', async () => {
    await applyMigrations(db.sql, { dir: migrationsDir });
    const before = await recorded(db.sql);
    const logs: string[] = [];

    const again = await applyMigrations(db.sql, { dir: migrationsDir, log: (m) => logs.push(m) });

    expect(again.applied).toEqual([]);
    expect(logs).toEqual([]);
    expect(await recorded(db.sql)).toEqual(before);
  });

  test('applies only the new migration when one is added', async () => {
    const copy = await copyOfMigrations();
    try {
      await applyMigrations(db.sql, { dir: copy.dir });
      const name = '99990101000000_add_probe';
      await mkdir(path.join(copy.dir, name));
      await writeFile(path.join(copy.dir, name, 'migration.sql'), 'CREATE TABLE "probe" ("id" INTEGER PRIMARY KEY);\n');

      const { applied } = await applyMigrations(db.sql, { dir: copy.dir });

      expect(applied).toEqual([name]);
      expect(await tableNames(db.sql)).toContain('probe');
    } finally {
      await copy.remove();
    }
  });

  test('refuses a migration edited after it was applied', async () => {
    const copy = await copyOfMigrations();
    try {
      await applyMigrations(db.sql, { dir: copy.dir });
      const [first] = await committedMigrations();
      await appendFile(path.join(copy.dir, first!.name, 'migration.sql'), '\n-- an afterthought\n');

      await expect(applyMigrations(db.sql, { dir: copy.dir })).rejects.toThrow(
        `migration ${first!.name} was edited after it was applied`,
      );
    } finally {
      await copy.remove();
    }
  });

  test('accepts a checkout with CRLF line endings, as Prisma does', async () => {
    const copy = await copyOfMigrations();
    try {
      await applyMigrations(db.sql, { dir: copy.dir });
      for (const { name } of await committedMigrations()) {
        const file = path.join(copy.dir, name, 'migration.sql');
        await writeFile(file, (await readFile(file, 'utf8')).replace(/\n/g, '\r\n'));
      }
      await expect(applyMigrations(db.sql, { dir: copy.dir })).resolves.toEqual({ applied: [] });
    } finally {
      await copy.remove();
    }
  });

  test('refuses to start over a migration recorded as failed', async () => {
    await applyMigrations(db.sql, { dir: migrationsDir });
    const [first] = await committedMigrations();
    // What `prisma migrate deploy` leaves behind when a script fails half-way.
    await db.sql.query(`UPDATE "_prisma_migrations" SET finished_at = NULL, logs = 'boom' WHERE migration_name = $1`, [first!.name]);

    await expect(applyMigrations(db.sql, { dir: migrationsDir })).rejects.toThrow(
      `migration ${first!.name} is recorded as failed`,
    );
  });

  test('ignores a row marked rolled back and applies the migration again', async () => {
    const copy = await copyOfMigrations();
    try {
      await applyMigrations(db.sql, { dir: copy.dir });
      const name = '99990101000000_add_probe';
      await mkdir(path.join(copy.dir, name));
      await writeFile(path.join(copy.dir, name, 'migration.sql'), 'CREATE TABLE "probe" ("id" INTEGER PRIMARY KEY);\n');
      // A failed attempt resolved with `prisma migrate resolve --rolled-back`.
      await db.sql.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, rolled_back_at) VALUES ($1, 'x', $2, now())`,
        ['00000000-0000-4000-8000-000000000000', name],
      );

      expect((await applyMigrations(db.sql, { dir: copy.dir })).applied).toEqual([name]);
    } finally {
      await copy.remove();
    }
  });

  test('a failing migration is rolled back completely and leaves no record', async () => {
    const copy = await copyOfMigrations();
    try {
      await applyMigrations(db.sql, { dir: copy.dir });
      const name = '99990101000000_broken';
      await mkdir(path.join(copy.dir, name));
      await writeFile(
        path.join(copy.dir, name, 'migration.sql'),
        'CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
      );

      await expect(applyMigrations(db.sql, { dir: copy.dir })).rejects.toThrow(`migration ${name} failed`);

      expect(await tableNames(db.sql)).not.toContain('half_done');
      expect((await recorded(db.sql)).map((r) => r.migration_name)).not.toContain(name);
    } finally {
      await copy.remove();
    }
  });

  test('two processes starting at once apply each migration exactly once', async () => {
    // On PGlite both calls share one session, so this only checks that nothing deadlocks; on
    // PostgreSQL they are two pools and the advisory lock is what keeps them apart. A few extra
    // migrations widen the window in which they could interleave.
    const copy = await copyOfMigrations();
    try {
      for (let i = 1; i <= 4; i++) {
        const name = `9999010100000${i}_extra_${i}`;
        await mkdir(path.join(copy.dir, name));
        await writeFile(path.join(copy.dir, name, 'migration.sql'), `CREATE TABLE "extra_${i}" ("id" INTEGER PRIMARY KEY);\n`);
      }
      const expected = (await readdir(copy.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      const other = db.another?.() ?? db.sql;

      const [a, b] = await Promise.all([
        applyMigrations(db.sql, { dir: copy.dir }),
        applyMigrations(other, { dir: copy.dir }),
      ]);

      expect([...a.applied, ...b.applied].sort()).toEqual(expected);
      expect((await recorded(db.sql)).map((r) => r.migration_name)).toEqual(expected);
    } finally {
      await copy.remove();
    }
  });
});
