/**
 * The embedded database's autovacuum (src/store/maintenance.ts) on a real PGlite: with 20,000
 * pending SLA timers and no statistics, finding the next due timer is a sequential scan; after the
 * maintenance pass notices the table grew, the same query uses an index. A VACUUM pass covers every
 * table, and a running loop does its first pass by itself.
 */
import { openDatabase, type Database } from '../../src/store/database.js';
import { ensureJobSchema } from '../../src/jobs/schema.js';
import { startEmbeddedMaintenance } from '../../src/store/maintenance.js';
import { silentLog } from '../helpers/baton.js';
import { waitFor } from '../helpers/wait.js';

const NEXT_DUE = `EXPLAIN SELECT id FROM agenda_jobs WHERE name = 'sla.timer' AND disabled IS NOT TRUE
  AND ((locked_at IS NULL AND next_run_at <= now()) OR locked_at <= now() - interval '10 minutes')
  ORDER BY next_run_at ASC NULLS LAST, priority DESC LIMIT 1 FOR UPDATE SKIP LOCKED`;

async function plan(db: Database): Promise<string> {
  const rows = await db.sql.query<{ 'QUERY PLAN': string }>(NEXT_DUE);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('embedded database maintenance (PGlite has no autovacuum)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    await ensureJobSchema(db.sql);
    await db.sql.query(`INSERT INTO agenda_jobs (name, priority, next_run_at, type, data, disabled)
      SELECT 'sla.timer', 0, now() + interval '1 hour' + (g || ' ms')::interval, 'normal', jsonb_build_object('key', 'k' || g), false
      FROM generate_series(1, 20000) g`);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('analyzes a table that grew, so the next-due-timer query uses an index instead of scanning every timer', async () => {
    expect(await plan(db)).toContain('Seq Scan on agenda_jobs');
    const maintenance = startEmbeddedMaintenance(db.sql, silentLog, { checkEveryMs: 3_600_000 });
    try {
      // The loop's first pass starts at once; wait for it rather than racing it.
      await waitFor('the first pass', async () => /Index|Bitmap/.test(await plan(db)), 10_000, 50);
      expect(await plan(db)).not.toContain('Seq Scan on agenda_jobs');
      // Nothing grew since: the next pass has nothing to do.
      expect(await maintenance.runOnce()).toEqual([]);
      // A vacuum pass takes every table of the schema.
      const vacuumed = await maintenance.runOnce({ vacuum: true });
      expect(vacuumed).toContain('agenda_jobs');
    } finally {
      await maintenance.stop();
    }
  });
});
