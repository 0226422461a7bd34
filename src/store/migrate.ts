/**
 * Applies the committed Prisma migrations (prisma/migrations/<name>/migration.sql) at start-up,
 * on PGlite and on a PostgreSQL server alike, through the small SqlClient interface.
 *
 * Why not `prisma migrate deploy`: it needs the native schema-engine binary, which the CLI downloads
 * and cannot download offline. This runner keeps the bookkeeping byte-compatible with Prisma's
 * (`_prisma_migrations`, same columns, checksum = sha256 of migration.sql), so `prisma migrate deploy`
 * can take over on a machine that has the engine.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from './sqlClient.js';

/**
 * Key of the transaction-scoped advisory lock that serialises migration runs. Any constant works as
 * long as every Baton process uses the same one; advisory locks are per database (not per schema),
 * so deployments sharing a database in different schemas merely take turns.
 */
export const MIGRATION_LOCK_KEY = 72_163_810_451; // "baton-migrations", arbitrary but fixed

/** Exactly the table Prisma's schema engine creates for PostgreSQL (names, types, defaults). */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  /** Directory name, e.g. `20250101120000_init`; migrations apply in this (lexicographic) order. */
  name: string;
  /** Contents of migration.sql. */
  script: string;
  /** sha256 (hex) of the raw migration.sql bytes, as Prisma records it. */
  checksum: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/**
 * The directory holding package.json, found by walking up from this module. The module runs from
 * `src/store/` (tsx, ts-jest) or from `dist/src/store/` (after tsc), so a fixed `../..` would be wrong
 * in one of the two.
 */
export function projectRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json found above ${from}`);
    dir = parent;
  }
}

export function defaultMigrationsDir(): string {
  return path.join(projectRoot(), 'prisma', 'migrations');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Prisma accepts a recorded checksum that matches the script as is or with CRLF line endings turned
 * into LF (a checkout on Windows must not look "edited"); do the same.
 */
function checksumMatches(recorded: string, file: MigrationFile): boolean {
  if (recorded === file.checksum) return true;
  return file.script.includes('\r\n') && recorded === sha256Hex(file.script.replace(/\r\n/g, '\n'));
}

/** Reads `<dir>/<name>/migration.sql` for every sub-directory, sorted by name like Prisma does. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  if (!existsSync(dir)) throw new Error(`migrations directory not found: ${dir}`);
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // code-unit order, not locale order
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    const file = path.join(dir, name, 'migration.sql');
    if (!existsSync(file)) throw new Error(`migration ${name} has no migration.sql (${file})`);
    const bytes = await readFile(file);
    migrations.push({ name, script: bytes.toString('utf8'), checksum: sha256Hex(bytes) });
  }
  return migrations;
}

/**
 * Applies the migrations missing from `_prisma_migrations`, in name order, each in its own
 * transaction (script and bookkeeping row commit together, so a failing script leaves no trace and
 * can be fixed and retried). Throws before applying anything if a recorded migration was edited or
 * is marked failed.
 *
 * Concurrency: every transaction first takes a transaction-scoped advisory lock, so two processes
 * starting against one PostgreSQL apply each migration once; the loser re-reads the table under the
 * lock and skips what the winner applied. The lock is released by COMMIT/ROLLBACK, so a crash never
 * leaves it held.
 *
 * Note: statements that PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY,
 * VACUUM …) cannot be used in a migration with this runner.
 */
export async function applyMigrations(
  sql: SqlClient,
  opts: { dir?: string; log?: (msg: string) => void } = {},
): Promise<{ applied: string[] }> {
  const dir = opts.dir ?? defaultMigrationsDir();
  const log = opts.log ?? (() => {});
  const files = await readMigrations(dir);

  // Create the table and validate the recorded history under the lock.
  const pending = await sql.transaction(async (tx) => {
    await lock(tx);
    await tx.exec(CREATE_MIGRATIONS_TABLE);
    const rows = await readRows(tx);
    const onDisk = new Set(files.map((f) => f.name));
    const unknown = [...new Set(rows.map((r) => r.migration_name))].filter((n) => !onDisk.has(n));
    if (unknown.length > 0) {
      // Not fatal: a newer release may have run against this database. Prisma warns the same way.
      log(`migrations recorded in the database but missing from ${dir}: ${unknown.join(', ')}`);
    }
    return files.filter((f) => !isApplied(f, rows));
  });

  const applied: string[] = [];
  for (const file of pending) {
    const didApply = await sql.transaction(async (tx) => {
      await lock(tx);
      // Another process may have applied it between our read and this lock: decide again.
      const rows = await readRows(tx, file.name);
      if (isApplied(file, rows)) return false;
      await tx.query(
        `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
         VALUES ($1, $2, $3, clock_timestamp(), 0)`,
        [randomUUID(), file.checksum, file.name],
      );
      try {
        await tx.exec(file.script);
      } catch (err) {
        throw new Error(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query(
        `UPDATE "_prisma_migrations" SET "finished_at" = clock_timestamp(), "applied_steps_count" = 1
         WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL`,
        [file.name],
      );
      return true;
    });
    if (didApply) {
      applied.push(file.name);
      log(`applied migration ${file.name}`);
    }
  }
  return { applied };
}

async function lock(tx: SqlClient): Promise<void> {
  // Inlined rather than a parameter: the key is a constant and bigint parameters are typed
  // differently by pg and PGlite.
  await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
}

async function readRows(tx: SqlClient, name?: string): Promise<MigrationRow[]> {
  const select = `SELECT "migration_name", "checksum", "finished_at", "rolled_back_at" FROM "_prisma_migrations"`;
  return name === undefined
    ? tx.query<MigrationRow>(`${select} ORDER BY "started_at"`)
    : tx.query<MigrationRow>(`${select} WHERE "migration_name" = $1 ORDER BY "started_at"`, [name]);
}

/**
 * Whether `file` is applied according to the recorded rows, throwing when the history is unusable.
 * Rows marked rolled back are ignored, as Prisma does (`prisma migrate resolve --rolled-back`).
 */
function isApplied(file: MigrationFile, allRows: MigrationRow[]): boolean {
  const rows = allRows.filter((r) => r.migration_name === file.name && r.rolled_back_at == null);
  if (rows.some((r) => r.finished_at == null)) {
    throw new Error(
      `migration ${file.name} is recorded as failed in _prisma_migrations (started, never finished). ` +
        'Fix the database by hand, then mark it with `prisma migrate resolve --rolled-back` or ' +
        `\`--applied\` (or delete its row) before starting again`,
    );
  }
  const done = rows.find((r) => r.finished_at != null);
  if (!done) return false;
  if (!checksumMatches(done.checksum, file)) {
    throw new Error(
      `migration ${file.name} was edited after it was applied (recorded checksum ${done.checksum}, ` +
        `file checksum ${file.checksum}). Restore the original migration.sql and put changes in a new migration`,
    );
  }
  return true;
}
