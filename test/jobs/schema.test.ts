/**
 * The jobs table lives outside Prisma's migrations (Agenda owns it), so its upgrades are explicit
 * here: an older table gains the columns and indexes the installed backend needs, and a column
 * that cannot be added stops start-up with what to do. On PGlite and, with DATABASE_URL, PostgreSQL.
 */
import { DEFAULT_JOBS_TABLE, ensureJobSchema, expectedJobColumns } from '../../src/jobs/schema.js';
import { backends } from './helpers.js';

describe.each(backends)('the jobs table on $name', ({ open }) => {
  it('is created once; an up-to-date table is left alone', async () => {
    const t = await open();
    try {
      expect(await ensureJobSchema(t.db.sql)).toEqual({ created: true, addedColumns: [], addedIndexes: [] });
      expect(await ensureJobSchema(t.db.sql)).toEqual({ created: false, addedColumns: [], addedIndexes: [] });
      const columns = await t.db.sql.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, [DEFAULT_JOBS_TABLE]);
      expect(columns.map((c) => c.name).sort()).toEqual([...expectedJobColumns(DEFAULT_JOBS_TABLE).keys()].sort());
    } finally {
      await t.drop();
    }
  });

  it('an older table (a column and an index missing) is brought up to date, keeping its jobs', async () => {
    const t = await open();
    try {
      await ensureJobSchema(t.db.sql);
      await t.db.sql.exec(`ALTER TABLE ${DEFAULT_JOBS_TABLE} DROP COLUMN debounce_started_at; DROP INDEX ${DEFAULT_JOBS_TABLE}_locked_at_idx; DROP INDEX ${DEFAULT_JOBS_TABLE}_key_idx`);
      await t.db.sql.query(`INSERT INTO ${DEFAULT_JOBS_TABLE} (name, next_run_at, data) VALUES ('sla', now(), '{"key":"nudge:1"}')`);
      const changes = await ensureJobSchema(t.db.sql);
      expect(changes).toEqual({ created: false, addedColumns: ['debounce_started_at'], addedIndexes: [`${DEFAULT_JOBS_TABLE}_locked_at_idx`, `${DEFAULT_JOBS_TABLE}_key_idx`] });
      const [row] = await t.db.sql.query<{ name: string; debounce_started_at: Date | null }>(`SELECT name, debounce_started_at FROM ${DEFAULT_JOBS_TABLE}`);
      expect(row).toEqual({ name: 'sla', debounce_started_at: null });
    } finally {
      await t.drop();
    }
  });

  it('a missing column that cannot be added to a table holding jobs stops start-up, naming it and the fix', async () => {
    const t = await open();
    try {
      await ensureJobSchema(t.db.sql);
      await t.db.sql.exec(`ALTER TABLE ${DEFAULT_JOBS_TABLE} DROP COLUMN name`);
      await expect(ensureJobSchema(t.db.sql)).rejects.toThrow(/lacks column name \(name VARCHAR\(255\) NOT NULL\).*ALTER TABLE "agenda_jobs" ADD COLUMN name VARCHAR\(255\) NOT NULL/);
    } finally {
      await t.drop();
    }
  });
});
