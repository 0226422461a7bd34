/**
 * The identity_links migration on a database written by the previous release: Teams users linked
 * to people by the roster's email (`user:<29:…>` conversation rows, made without any tenant,
 * domain or pinned-id check) are deleted with an audit row each, and so are the personal chats
 * stored through them and the one global service URL; other references stay.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { applyMigrations, projectRoot } from '../../src/store/migrate.js';
import type { SqlClient } from '../../src/store/sqlClient.js';

const MIGRATION = '20261206001317_identity_links';

function client(db: PGlite): SqlClient {
  const wrap = (q: PGlite | Transaction, inTx: boolean): SqlClient => {
    const c: SqlClient = {
      query: async <T>(sql: string, params?: unknown[]) => (await q.query<T>(sql, params)).rows,
      exec: async (sql: string) => void (await q.exec(sql)),
      transaction: (fn) => (inTx ? fn(c) : db.transaction((tx) => fn(wrap(tx, true)))),
    };
    return c;
  };
  return wrap(db, false);
}

it('deletes email-made Teams links, the chats stored through them and the global service URL, auditing each link', async () => {
  const all = path.join(projectRoot(), 'prisma', 'migrations');
  expect(await readdir(all)).toContain(MIGRATION);
  // The previous release's migrations, and the same plus this one: later migrations (person_handles
  // moves identity_link's rows on) are not what this test is about.
  const before = await mkdtemp(path.join(os.tmpdir(), 'baton-mig-'));
  const upTo = await mkdtemp(path.join(os.tmpdir(), 'baton-mig-'));
  const db = new PGlite();
  try {
    for (const name of await readdir(all)) {
      if (name > MIGRATION) continue;
      await cp(path.join(all, name), path.join(upTo, name), { recursive: true });
      if (name !== MIGRATION) await cp(path.join(all, name), path.join(before, name), { recursive: true });
    }
    const sql = client(db);
    await applyMigrations(sql, { dir: before });
    const ref = (key: string, reference: unknown) => sql.query(`INSERT INTO conversation_ref (platform, key, reference, updated_at) VALUES ('teams', $1, $2, now())`, [key, JSON.stringify(reference)]);
    // An impostor linked to Sam by email, and Sam's "personal chat" stored as the impostor's.
    await ref('user:29:impostor', { personId: 'sam' });
    await ref('sam', { serviceUrl: 'https://evil.example/', user: { id: '29:impostor' }, conversation: { id: 'a:impostor-chat', tenantId: 'other' } });
    // Amelia's own chat (pinned id, never linked) and a channel stay.
    await ref('amelia', { serviceUrl: 'https://smba.example/', user: { id: '29:amelia' }, conversation: { id: 'a:amelia', tenantId: 'home' } });
    await ref('channel:19:x@thread.tacv2', { serviceUrl: 'https://smba.example/', conversation: { id: '19:x@thread.tacv2', tenantId: 'home' } });
    await ref('bot:service', { serviceUrl: 'https://evil.example/', tenantId: 'other', botId: '28:x' });
    // Slack rows are not Teams': untouched even under a similar key.
    await sql.query(`INSERT INTO conversation_ref (platform, key, reference, updated_at) VALUES ('slack', 'user:U1', '{}', now())`);

    expect((await applyMigrations(sql, { dir: upTo })).applied).toEqual([MIGRATION]);

    const keys = (await sql.query<{ platform: string; key: string }>('SELECT platform, key FROM conversation_ref ORDER BY platform, key')).map((r) => `${r.platform}/${r.key}`);
    expect(keys).toEqual(['slack/user:U1', 'teams/amelia', 'teams/channel:19:x@thread.tacv2']);
    expect(await sql.query('SELECT type, platform, external_user_id, person_id FROM directory_event')).toEqual([
      { type: 'identity.link_revoked', platform: 'teams', external_user_id: '29:impostor', person_id: 'sam' },
    ]);
    expect(await sql.query('SELECT * FROM identity_link')).toEqual([]);
  } finally {
    await db.close();
    await rm(before, { recursive: true, force: true });
    await rm(upTo, { recursive: true, force: true });
  }
});
