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

export async function ensureJobSchema(sql: SqlClient, table = DEFAULT_JOBS_TABLE): Promise<void> {
  assertTableName(table);
  await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`baton:jobs-schema:${table}`]);
    const [exists] = await tx.query<{ ok: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS ok`,
      [`"${table}"`],
    );
    const [indexed] = await tx.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`"${table}_key_idx"`]);
    // Already there (the common case on every start after the first): no DDL, no locks taken.
    if (exists?.ok && indexed?.ok) return;
    await tx.exec(getCreateTableSQL(table));
    for (const statement of [...getCreateIndexesSQL(table), ...batonIndexesSQL(table)]) await tx.exec(statement);
    await tx.exec(getUpdateTimestampTriggerSQL(table));
  });
}
