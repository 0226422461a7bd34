/**
 * The Agenda jobs table. Both backends use the layout of @agendajs/postgres-backend (its exported
 * DDL), so an embedded installation moved to a PostgreSQL server keeps its pending timers. The
 * table lives outside Prisma's schema on purpose: Agenda owns it (partial unique index, trigger),
 * and Prisma's drift check must not try to manage it.
 *
 * Created once, before any worker starts, under a transaction-scoped advisory lock: two Agenda
 * instances running `ensureSchema` at the same moment race on PostgreSQL (STACK.md).
 */
import { getCreateIndexesSQL, getCreateTableSQL, getUpdateTimestampTriggerSQL } from '@agendajs/postgres-backend';
import type { SqlClient } from '../store/sqlClient.js';

export const DEFAULT_JOBS_TABLE = 'agenda_jobs';

export function assertTableName(table: string): string {
  if (!/^[a-z_][a-z0-9_]{0,50}$/.test(table)) throw new Error(`jobs table name must be a plain lower-case identifier, got "${table}"`);
  return table;
}

/** Our additions: one job per key, and cancelling by data fields without a full scan. */
function batonIndexesSQL(table: string): string[] {
  return [
    `CREATE UNIQUE INDEX IF NOT EXISTS "${table}_key_idx" ON "${table}" ((data->>'key'))`,
    `CREATE INDEX IF NOT EXISTS "${table}_data_idx" ON "${table}" USING gin (data jsonb_path_ops)`,
  ];
}

/** What ensureJobSchema changed: nothing on an up-to-date table (every start after the first). */
export interface JobSchemaChanges {
  created: boolean;
  addedColumns: string[];
  addedIndexes: string[];
}

/** The stock DDL's columns, by name, with their definitions (e.g. "fail_count INTEGER DEFAULT NULL"). */
export function expectedJobColumns(table: string): Map<string, string> {
  const body = getCreateTableSQL(table);
  const inner = body.slice(body.indexOf('(') + 1, body.lastIndexOf(')'));
  const columns = new Map<string, string>();
  for (const line of inner.split('\n')) {
    const def = line.trim().replace(/,$/, '');
    const m = /^([a-z_][a-z0-9_]*)\s/.exec(def);
    if (m) columns.set(m[1]!, def);
  }
  return columns;
}

function indexName(statement: string): string | undefined {
  return /INDEX IF NOT EXISTS "([^"]+)"/.exec(statement)?.[1];
}

/**
 * Creates the jobs table, or brings an existing one up to the installed backend's layout: the
 * table is outside Prisma's migrations, so a backend upgrade that adds a column or an index is
 * applied here, explicitly — missing nullable or defaulted columns are added, missing indexes
 * created — and reported to the caller to log. A new column that could not be added to a table
 * holding jobs (NOT NULL with no default, or a new key) stops start-up with what to do.
 */
export async function ensureJobSchema(sql: SqlClient, table = DEFAULT_JOBS_TABLE): Promise<JobSchemaChanges> {
  assertTableName(table);
  const changes: JobSchemaChanges = { created: false, addedColumns: [], addedIndexes: [] };
  const indexStatements = [...getCreateIndexesSQL(table), ...batonIndexesSQL(table)];
  await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`baton:jobs-schema:${table}`]);
    const [exists] = await tx.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`"${table}"`]);
    if (!exists?.ok) {
      await tx.exec(getCreateTableSQL(table));
      for (const statement of indexStatements) await tx.exec(statement);
      await tx.exec(getUpdateTimestampTriggerSQL(table));
      changes.created = true;
      return;
    }
    // Already there (the common case): two catalogue reads, and no DDL unless something is missing.
    const live = new Set((await tx.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, [table])).map((r) => r.name));
    for (const [name, def] of expectedJobColumns(table)) {
      if (live.has(name)) continue;
      if (/PRIMARY KEY|UNIQUE/i.test(def) || (/NOT NULL/i.test(def) && !/DEFAULT/i.test(def))) {
        throw new Error(`The jobs table "${table}" lacks column ${name} (${def}), which the installed @agendajs/postgres-backend needs and which cannot be added to a table holding jobs. Add it by hand (ALTER TABLE "${table}" ADD COLUMN ${def}) after filling it for existing rows, then start again.`);
      }
      await tx.exec(`ALTER TABLE "${table}" ADD COLUMN IF NOT EXISTS ${def}`);
      changes.addedColumns.push(name);
    }
    const indexes = new Set((await tx.query<{ name: string }>(`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`, [table])).map((r) => r.name));
    for (const statement of indexStatements) {
      const name = indexName(statement);
      if (name && indexes.has(name)) continue;
      await tx.exec(statement);
      if (name) changes.addedIndexes.push(name);
    }
  });
  return changes;
}
