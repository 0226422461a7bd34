/**
 * Person handles on a real database (PGlite; PostgreSQL too with DATABASE_URL): who a Slack or
 * Teams account is, as (platform, workspace, external id) → person. The playbook's ids are synced
 * into the table at start; a person can have several (two Slack workspaces, a guest id in a
 * partner's tenant); links made at run time are recorded with source "linked" and never re-pointed;
 * and the migration moves the old person columns and identity_link rows into it.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { Directory, syncDirectory } from '../../src/directory.js';
import { PersonHandles } from '../../src/personHandles.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';
import { applyMigrations, projectRoot } from '../../src/store/migrate.js';
import { DEFAULT_TEXT, patch } from '../playbook/helpers.js';
import { backends, type JobsTestDatabase } from '../jobs/helpers.js';

const MIGRATION = '20261206030944_person_handles';
const HOME_SLACK = 'T0HOME0001';
const SECOND_SLACK = 'T0SECOND01';
const HOME_TENANT = '0b7c6e2a-1111-4000-8000-000000000001';
const PARTNER_TENANT = '9f3d2c1b-2222-4000-8000-000000000002';

const MAYA = { slack: 'U0UJZDE8GXD', teams: '29:1Bel31iEl2hpChYgCfrL1spNxnyVmihA_2O76UMFx', aad: '14f4733f-3e7d-4bfb-87a2-ea20b2f14c94' };
const LIAM = { slack: 'U0T75V2SEH6' };

/** The default playbook, with Maya's member id in a second workspace and her guest accounts in a partner's tenant. */
const WITH_HANDLES = patch(
  DEFAULT_TEXT,
  `    aadObjectId: ${MAYA.aad}\n`,
  `    aadObjectId: ${MAYA.aad}
    handles:
      - { platform: slack, workspace: ${SECOND_SLACK}, id: U0MAYA2ND }
      - { platform: teams, workspace: ${PARTNER_TENANT}, id: "29:maya-guest" }
      - { platform: aad, workspace: ${PARTNER_TENANT}, id: 5D1E0000-AAAA-4BBB-8CCC-00000000DDDD }
`,
  '  maya:',
);

const playbook = (text: string): Playbook => parsePlaybook(text, 'handles.yml');

describe.each(backends)('person handles on $name', ({ open }) => {
  let t: JobsTestDatabase;
  let clock: ManualClock;
  let handles: PersonHandles;

  beforeEach(async () => {
    t = await open();
    await applyMigrations(t.db.sql);
    clock = new ManualClock('2026-12-01T09:00:00Z');
    handles = new PersonHandles(t.db, clock);
  });
  afterEach(async () => {
    await t.drop();
  });

  const rows = () =>
    t.db.prisma.personHandle.findMany({ orderBy: [{ personId: 'asc' }, { platform: 'asc' }, { workspace: 'asc' }, { externalId: 'asc' }] });

  it("loads the playbook's ids as handles in any workspace; Entra object ids compare without case", async () => {
    await syncDirectory(t.db, playbook(DEFAULT_TEXT));
    const maya = (await rows()).filter((r) => r.personId === 'maya').map(({ platform, workspace, externalId, source }) => ({ platform, workspace, externalId, source }));
    expect(maya).toEqual([
      { platform: 'aad', workspace: '', externalId: MAYA.aad, source: 'playbook' },
      { platform: 'slack', workspace: '', externalId: MAYA.slack, source: 'playbook' },
      { platform: 'teams', workspace: '', externalId: MAYA.teams, source: 'playbook' },
    ]);
    expect(await handles.personByHandle('slack', HOME_SLACK, MAYA.slack)).toMatchObject({ personId: 'maya', source: 'playbook', workspace: '' });
    expect(await handles.personByHandle('aad', HOME_TENANT, MAYA.aad.toUpperCase())).toMatchObject({ personId: 'maya' });
    expect(await handles.personByHandle('slack', HOME_SLACK, 'U0NOBODY01')).toBeUndefined();
    expect(await handles.handleOf('maya', 'teams')).toBe(MAYA.teams);
    expect(await handles.handleOf('liam', 'slack')).toBe(LIAM.slack);
    // The person rows no longer carry platform ids.
    const columns = await t.db.sql.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'person' AND table_schema = current_schema()`);
    expect(columns.map((c) => c.column_name)).not.toEqual(expect.arrayContaining(['slack_user_id']));
    expect(columns.map((c) => c.column_name)).toEqual(expect.arrayContaining(['id', 'email']));
  });

  it("a person with member ids in two Slack workspaces is found by each, and each id only where it belongs", async () => {
    const pb = playbook(WITH_HANDLES);
    await syncDirectory(t.db, pb);
    expect(await handles.personByHandle('slack', SECOND_SLACK, 'U0MAYA2ND')).toMatchObject({ personId: 'maya', workspace: SECOND_SLACK, source: 'playbook' });
    expect(await handles.personByHandle('slack', HOME_SLACK, 'U0MAYA2ND')).toBeUndefined();
    // Her playbook slackUserId names no workspace: it counts in both.
    expect(await handles.personByHandle('slack', SECOND_SLACK, MAYA.slack)).toMatchObject({ personId: 'maya' });
    expect(await handles.handleOf('maya', 'slack', SECOND_SLACK)).toBe('U0MAYA2ND');
    expect(await handles.handleOf('maya', 'slack', HOME_SLACK)).toBe(MAYA.slack);
    expect(await handles.handleOf('maya', 'slack')).toBe(MAYA.slack);
    // The same answers without the database, for synchronous callers.
    const directory = new Directory(pb);
    expect(directory.pinned.personByHandle('slack', SECOND_SLACK, 'U0MAYA2ND')).toBe('maya');
    expect(directory.pinned.personByHandle('slack', HOME_SLACK, 'U0MAYA2ND')).toBeUndefined();
    expect(directory.find('U0MAYA2ND')?.id).toBe('maya');
  });

  it("a guest account in a partner's tenant is the same person there, and nobody in our tenant", async () => {
    const pb = playbook(WITH_HANDLES);
    await syncDirectory(t.db, pb);
    expect(await handles.personByHandle('teams', PARTNER_TENANT, '29:maya-guest')).toMatchObject({ personId: 'maya', workspace: PARTNER_TENANT });
    expect(await handles.personByHandle('teams', HOME_TENANT, '29:maya-guest')).toBeUndefined();
    expect(await handles.personByHandle('aad', PARTNER_TENANT, '5d1e0000-aaaa-4bbb-8ccc-00000000dddd')).toMatchObject({ personId: 'maya' });
    expect(await handles.handleOf('maya', 'teams', PARTNER_TENANT)).toBe('29:maya-guest');
    expect(await handles.handleOf('maya', 'teams', HOME_TENANT)).toBe(MAYA.teams);
    expect(new Directory(pb).pinned.isPinned('maya', ['teams'])).toBe(true);
  });

  it('a playbook reload re-points, adds and drops its handles, and leaves run-time links alone', async () => {
    await syncDirectory(t.db, playbook(WITH_HANDLES));
    await handles.link({ platform: 'teams', workspace: HOME_TENANT, externalId: '29:jordan-linked' }, 'jordan', 'linked by UPN jordan.ellis@northwind.example');
    const liamBefore = await t.db.prisma.personHandle.findMany({ where: { personId: 'liam', platform: 'teams' } });
    clock.advance(60_000);

    // Maya and Liam swap Slack ids in one edit; Maya's aadObjectId and her extra handles are removed.
    let next = patch(DEFAULT_TEXT, `slackUserId: ${MAYA.slack}`, `slackUserId: ${LIAM.slack}`, '  maya:');
    next = patch(next, `slackUserId: ${LIAM.slack}`, `slackUserId: ${MAYA.slack}`, '  liam:');
    next = patch(next, `    aadObjectId: ${MAYA.aad}\n`, '', '  maya:');
    await syncDirectory(t.db, playbook(next));

    expect(await handles.personByHandle('slack', HOME_SLACK, MAYA.slack)).toMatchObject({ personId: 'liam' });
    expect(await handles.personByHandle('slack', HOME_SLACK, LIAM.slack)).toMatchObject({ personId: 'maya' });
    expect(await handles.personByHandle('aad', HOME_TENANT, MAYA.aad)).toBeUndefined();
    expect(await handles.personByHandle('slack', SECOND_SLACK, 'U0MAYA2ND')).toBeUndefined();
    expect(await handles.personByHandle('teams', PARTNER_TENANT, '29:maya-guest')).toBeUndefined();
    expect(await handles.personByHandle('teams', HOME_TENANT, '29:jordan-linked')).toMatchObject({ personId: 'jordan', source: 'linked' });
    // An unchanged handle is the same row (its created_at is when it was first pinned).
    expect(await t.db.prisma.personHandle.findMany({ where: { personId: 'liam', platform: 'teams' } })).toEqual(liamBefore);
  });

  it("records a run-time link with source 'linked' and an audit row; a second link of the account is refused, a later pin wins", async () => {
    await syncDirectory(t.db, playbook(DEFAULT_TEXT));
    const key = { platform: 'slack' as const, workspace: SECOND_SLACK, externalId: 'U0SVEN2ND' };
    expect(await handles.link(key, 'sven', 'linked by Slack profile email sven@northwind.example', { email: 'sven@northwind.example' })).toBe('sven');
    expect(await t.db.prisma.personHandle.findMany({ where: { externalId: 'U0SVEN2ND' } })).toEqual([
      { platform: 'slack', workspace: SECOND_SLACK, externalId: 'U0SVEN2ND', personId: 'sven', source: 'linked', createdAt: clock.now() },
    ]);
    expect(await handles.personByHandle('slack', SECOND_SLACK, 'U0SVEN2ND')).toMatchObject({ personId: 'sven', source: 'linked' });
    expect(await handles.handleOf('sven', 'slack', SECOND_SLACK)).toBe('U0SVEN2ND');

    // Never re-pointed: the first link holds, and nothing more is written.
    expect(await handles.link(key, 'maya', 'linked by Slack profile email maya.okafor@northwind.example')).toBe('sven');
    const audit = await t.db.prisma.directoryEvent.findMany({ orderBy: { id: 'asc' } });
    expect(audit.map(({ type, platform, tenantId, externalUserId, personId, detail, data }) => ({ type, platform, tenantId, externalUserId, personId, detail, data }))).toEqual([
      { type: 'identity.linked', platform: 'slack', tenantId: SECOND_SLACK, externalUserId: 'U0SVEN2ND', personId: 'sven', detail: 'linked by Slack profile email sven@northwind.example', data: { email: 'sven@northwind.example' } },
    ]);

    // The playbook is the authority: pinning that account (in that workspace) to someone takes it over.
    const pinned = patch(DEFAULT_TEXT, `    aadObjectId: ${MAYA.aad}\n`, `    aadObjectId: ${MAYA.aad}\n    handles: [{ platform: slack, workspace: ${SECOND_SLACK}, id: U0SVEN2ND }]\n`, '  maya:');
    await syncDirectory(t.db, playbook(pinned));
    expect(await handles.personByHandle('slack', SECOND_SLACK, 'U0SVEN2ND')).toMatchObject({ personId: 'maya', source: 'playbook' });
  });

  it(`the ${MIGRATION} migration moves the person columns and identity_link rows into person_handle`, async () => {
    const all = path.join(projectRoot(), 'prisma', 'migrations');
    const before = await mkdtemp(path.join(os.tmpdir(), 'baton-mig-'));
    try {
      for (const name of await readdir(all)) if (name < MIGRATION) await cp(path.join(all, name), path.join(before, name), { recursive: true });
      // A database of the previous release: applyMigrations ran in beforeEach with everything, so start over in a fresh one.
      await t.drop();
      t = await open();
      const sql = t.db.sql;
      await applyMigrations(sql, { dir: before });
      await sql.query(`INSERT INTO team (id, name, stage, time_zone, lead_id, head_id, updated_at) VALUES ('sales', 'Sales', 'sales', 'UTC', 'ana', 'ana', now())`);
      await sql.query(
        `INSERT INTO person (id, name, email, team_id, slack_user_id, teams_user_id, aad_object_id, time_zone, updated_at)
         VALUES ('ana', 'Ana', 'ana@x.example', 'sales', 'U0ANA0001', '29:ana', 'ABCDEF00-1111-4222-8333-444455556666', 'UTC', now()),
                ('bo', 'Bo', 'bo@x.example', 'sales', NULL, NULL, NULL, 'UTC', now())`,
      );
      await sql.query(`INSERT INTO identity_link (platform, tenant_id, external_user_id, person_id, linked_by, created_at) VALUES ('teams', $1, '29:bo', 'bo', 'upn', '2026-11-30T10:00:00Z')`, [HOME_TENANT]);

      // This migration first, then any later ones (which leave person_handle alone).
      const { applied } = await applyMigrations(sql, { dir: all });
      expect(applied[0]).toBe(MIGRATION);
      expect(applied.every((name) => name >= MIGRATION)).toBe(true);

      const moved = await sql.query<{ platform: string; workspace: string; external_id: string; person_id: string; source: string }>(
        'SELECT platform, workspace, external_id, person_id, source FROM person_handle ORDER BY person_id, platform',
      );
      expect(moved).toEqual([
        { platform: 'aad', workspace: '', external_id: 'abcdef00-1111-4222-8333-444455556666', person_id: 'ana', source: 'playbook' },
        { platform: 'slack', workspace: '', external_id: 'U0ANA0001', person_id: 'ana', source: 'playbook' },
        { platform: 'teams', workspace: '', external_id: '29:ana', person_id: 'ana', source: 'playbook' },
        { platform: 'teams', workspace: HOME_TENANT, external_id: '29:bo', person_id: 'bo', source: 'linked' },
      ]);
      const linkedAt = await sql.query<{ at: string }>(`SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS at FROM person_handle WHERE source = 'linked'`);
      expect(linkedAt).toEqual([{ at: '2026-11-30T10:00:00' }]);
      expect(await sql.query(`SELECT to_regclass('identity_link') IS NULL AS gone`)).toEqual([{ gone: true }]);
      const columns = await sql.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'person' AND table_schema = current_schema() ORDER BY column_name`);
      expect(columns.map((c) => c.column_name).filter((c) => /user_id|object_id/.test(c))).toEqual([]);
    } finally {
      await rm(before, { recursive: true, force: true });
    }
  });
});
