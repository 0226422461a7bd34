/**
 * Who a Teams user is, over real signed Bot Framework HTTP and a real database. A person is known
 * by the ids pinned in the playbook. An unknown Teams id is linked to a person by email only when
 * that person has no Teams id pinned, the activity comes from a served tenant, the roster's
 * sign-in name (userPrincipalName, set by the tenant's admin) names them — never the free-text
 * `email` — and its domain is one the playbook declares. A linked id is never re-linked to someone
 * else. Every link and every refused link is in the directory audit log.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parsePlaybook } from '../../../src/playbook/load.js';
import type { Playbook } from '../../../src/playbook/schema.js';
import { CARD_ACTIONS } from '../../../blocks/actions.js';
import { freshDatabase, type TestDatabase } from '../../helpers/baton.js';
import { TENANT, cardAction, cardOf, eventually, personalMessage, randomUserId, startTeamsRig, type TeamsTestRig, type TeamsUser } from './helpers.js';

const FOREIGN = 'f0e1d2c3-0000-4000-8000-00000000bad2';

/**
 * The default playbook with Jordan's Teams ids removed (he is linked by his UPN) and two more
 * people without Teams ids: Pat on the declared domain, Casey on a partner's (not declared).
 */
function playbookText(opts: { withPat: boolean }): string {
  let text = readFileSync('playbook.yml', 'utf8');
  text = text.replace(/(  jordan:\n(?: {4}.*\n)*?) {4}teamsUserId: .*\n {4}aadObjectId: .*\n/, '$1');
  const extra = `  casey:
    name: Casey Lee
    email: casey.lee@partner.example
    team: sales
    manager: jordan
${opts.withPat ? `  pat:
    name: Pat Quinn
    email: pat.quinn@northwind.example
    team: sales
    manager: jordan
` : ''}`;
  return text.replace(/\npeople:\n/, `\npeople:\n${extra}`);
}

function playbook(opts: { withPat: boolean }): Playbook {
  const pb = parsePlaybook(playbookText(opts), 'identity.yml');
  expect(pb.people.find((p) => p.id === 'jordan')).toMatchObject({ teamsUserId: null });
  return pb;
}

const logLines: any[] = [];
const log = pino({ level: 'info' }, { write: (l: string) => void logLines.push(JSON.parse(l)) });

interface LinkRow {
  platform: string;
  tenant_id: string;
  external_user_id: string;
  person_id: string;
  source: string;
}
interface AuditRow {
  type: string;
  platform: string;
  tenant_id: string;
  external_user_id: string;
  person_id: string | null;
  detail: string;
}

async function links(rig: TeamsTestRig): Promise<LinkRow[]> {
  return rig.baton.db.prisma.$queryRawUnsafe<LinkRow[]>(
    "SELECT platform, workspace AS tenant_id, external_id AS external_user_id, person_id, source FROM person_handle WHERE source = 'linked' ORDER BY created_at",
  );
}
async function audit(rig: TeamsTestRig, userId: string): Promise<AuditRow[]> {
  return rig.baton.db.prisma.$queryRawUnsafe<AuditRow[]>('SELECT type, platform, tenant_id, external_user_id, person_id, detail FROM directory_event WHERE external_user_id = $1 ORDER BY id', userId);
}
/** The old, unsafe storage of links: `user:<29:…>` conversation rows. */
async function legacyLinks(rig: TeamsTestRig): Promise<number> {
  return rig.baton.db.prisma.conversationRef.count({ where: { platform: 'teams', key: { startsWith: 'user:' } } });
}

async function ask(rig: TeamsTestRig, user: TeamsUser, text: string, tenant = TENANT): Promise<any> {
  const msg = personalMessage(rig.fake, user, text);
  const activity = tenant === TENANT ? msg : { ...msg, conversation: { ...(msg.conversation as object), tenantId: tenant }, channelData: { tenant: { id: tenant } } };
  expect((await rig.post(activity)).status).toBe(200);
  return eventually(() => rig.fake.ok('reply').find((r) => r.activityId === msg.id), `the reply to "${text}"`);
}

let seq = 0;
async function intake(rig: TeamsTestRig): Promise<{ id: number; version: number }> {
  seq += 1;
  const res = await rig.baton.api('POST', '/api/handoffs', {
    transition: 'marketing_to_sdr',
    account: { name: `Umbrella ${seq}`, domain: `umbrella${seq}.example`, region: 'EMEA' },
    from: 'maya.okafor@northwind.example',
    packet: { icp_fit: 'A', lifecycle_stage: 'MQL', intent_signals: ['x'], content_engaged: ['y'], source: 'webinar', routing_reason: 'r', consent_given: true, consent_basis: 'opt_in', next_best_action: 'Call' },
  });
  expect(res.status).toBe(201);
  return { id: res.json.id, version: res.json.version };
}

/** Clicks Accept as `user` (from `tenant`) and returns the handoff's status afterwards. */
async function tryAccept(rig: TeamsTestRig, user: TeamsUser, tenant = TENANT): Promise<{ status: string; body: string }> {
  const h = await intake(rig);
  const click = cardAction(rig.fake, user, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: h.version });
  const activity = tenant === TENANT ? click : { ...click, conversation: { ...(click.conversation as object), tenantId: tenant }, channelData: { tenant: { id: tenant } } };
  const res = await rig.post(activity);
  expect(res.status).toBe(200);
  expect(res.text).not.toContain('You accepted this handoff');
  return { status: (await rig.baton.service.get(h.id)).status, body: res.text };
}

describe('linking by email', () => {
  let rig: TeamsTestRig;
  beforeAll(async () => {
    rig = await startTeamsRig({ playbook: playbook({ withPat: true }), log });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('a user of another tenant whose roster email and UPN are an admin\'s is not linked and cannot accept', async () => {
    const mallory = { id: randomUserId(), name: 'Sam Torres' };
    rig.fake.addMember({ id: mallory.id, name: 'Sam Torres', email: 'sam.torres@northwind.example', userPrincipalName: 'sam.torres@northwind.example', tenantId: FOREIGN });
    expect((await tryAccept(rig, mallory, FOREIGN)).status).toBe('routed');
    expect(JSON.stringify(cardOf((await ask(rig, mallory, 'mine', FOREIGN)).body) ?? {})).not.toContain('Your open handoffs');
    expect(await links(rig)).toEqual([]);
    expect(await legacyLinks(rig)).toBe(0);
  });

  it('a person whose Teams id is pinned is never linked by email, even from our tenant with their UPN', async () => {
    const other = { id: randomUserId(), name: 'Sam T.' };
    rig.fake.addMember({ id: other.id, name: 'Sam T.', email: 'sam.torres@northwind.example', userPrincipalName: 'sam.torres@northwind.example', tenantId: TENANT });
    const accepted = await tryAccept(rig, other);
    expect(accepted.status).toBe('routed');
    expect(accepted.body).toContain("Baton doesn't know your Teams account");
    expect(await links(rig)).toEqual([]);
    expect(await audit(rig, other.id)).toEqual([
      expect.objectContaining({ type: 'identity.link_refused', platform: 'teams', tenant_id: TENANT, person_id: 'sam', detail: expect.stringMatching(/Teams id is pinned in the playbook/) }),
    ]);
  });

  it('the roster\'s free-text email is ignored: only the UPN links', async () => {
    const spoof = { id: randomUserId(), name: 'Not Jordan' };
    rig.fake.addMember({ id: spoof.id, name: 'Not Jordan', email: 'jordan.ellis@northwind.example', userPrincipalName: 'mallory@northwind.example', tenantId: TENANT });
    expect(JSON.stringify(cardOf((await ask(rig, spoof, 'mine')).body))).toContain("Baton doesn't know your Teams account");
    expect(await links(rig)).toEqual([]);
    expect(await legacyLinks(rig)).toBe(0);
  });

  it('a UPN on a domain the playbook does not declare is not linked', async () => {
    const guest = { id: randomUserId(), name: 'Casey Lee' };
    rig.fake.addMember({ id: guest.id, name: 'Casey Lee', userPrincipalName: 'casey.lee@partner.example', tenantId: TENANT });
    expect(JSON.stringify(cardOf((await ask(rig, guest, 'mine')).body))).toContain("Baton doesn't know your Teams account");
    expect(await links(rig)).toEqual([]);
    expect(await audit(rig, guest.id)).toEqual([
      expect.objectContaining({ type: 'identity.link_refused', person_id: 'casey', detail: expect.stringMatching(/partner\.example is not one of organization\.emailDomains/) }),
    ]);
  });

  it('links a person with no Teams id pinned by their UPN on a declared domain, once, and audits it', async () => {
    const jordan = { id: randomUserId(), name: 'Jordan Ellis' };
    rig.fake.addMember({ id: jordan.id, name: 'Jordan Ellis', email: 'someone.else@northwind.example', userPrincipalName: 'Jordan.Ellis@Northwind.example', tenantId: TENANT });
    expect(JSON.stringify(cardOf((await ask(rig, jordan, 'mine')).body))).toContain('Your open handoffs');
    expect(await links(rig)).toEqual([{ platform: 'teams', tenant_id: TENANT, external_user_id: jordan.id, person_id: 'jordan', source: 'linked' }]);
    const lookups = rig.fake.ok('member').filter((c) => c.path.endsWith(encodeURIComponent(jordan.id))).length;
    expect(JSON.stringify(cardOf((await ask(rig, jordan, 'mine')).body))).toContain('Your open handoffs');
    // Remembered: not looked up again.
    expect(rig.fake.ok('member').filter((c) => c.path.endsWith(encodeURIComponent(jordan.id))).length).toBe(lookups);
    expect(await audit(rig, jordan.id)).toEqual([expect.objectContaining({ type: 'identity.linked', platform: 'teams', tenant_id: TENANT, person_id: 'jordan', detail: expect.stringMatching(/UPN jordan\.ellis@northwind\.example/) })]);
    expect(await legacyLinks(rig)).toBe(0);
    expect(logLines.some((l) => l.level === 30 && l.personId === 'jordan' && l.teamsUserId === jordan.id)).toBe(true);
  });
});

describe('a linked Teams id', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is never re-linked to someone else: refused, logged at warn and audited', async () => {
    const account: TeamsUser = { id: randomUserId(), name: 'Pat Quinn' };
    const first = await startTeamsRig({ playbook: playbook({ withPat: true }), db: db.db, log });
    try {
      first.fake.addMember({ id: account.id, name: 'Pat Quinn', userPrincipalName: 'pat.quinn@northwind.example', tenantId: TENANT });
      expect(JSON.stringify(cardOf((await ask(first, account, 'mine')).body))).toContain('Your open handoffs');
    } finally {
      await first.stop();
    }
    // Pat leaves the playbook; the same Teams account now reports Jordan's sign-in name.
    const second = await startTeamsRig({ playbook: playbook({ withPat: false }), db: db.db, log });
    try {
      second.fake.addMember({ id: account.id, name: 'Jordan Ellis', userPrincipalName: 'jordan.ellis@northwind.example', tenantId: TENANT });
      const accepted = await tryAccept(second, account);
      expect(accepted.status).toBe('routed');
      expect(accepted.body).toContain("Baton doesn't know your Teams account");
      expect(await links(second)).toEqual([expect.objectContaining({ external_user_id: account.id, person_id: 'pat' })]);
      expect(await audit(second, account.id)).toEqual([
        expect.objectContaining({ type: 'identity.linked', person_id: 'pat' }),
        expect.objectContaining({ type: 'identity.link_refused', person_id: 'jordan', detail: expect.stringMatching(/already linked to pat/) }),
      ]);
      expect(logLines.some((l) => l.level === 40 && l.teamsUserId === account.id && /already linked/.test(l.msg))).toBe(true);
    } finally {
      await second.stop();
    }
  });
});

describe('a guest account pinned in the playbook (handles)', () => {
  const PARTNER = 'a1b2c3d4-0000-4000-8000-00000000f00d';
  let rig: TeamsTestRig;
  const guest: TeamsUser = { id: randomUserId(), name: 'Sam Torres (Guest)' };
  beforeAll(async () => {
    // Sam keeps his pinned ids and also has a guest account in a partner's tenant, which Baton serves too.
    const text = readFileSync('playbook.yml', 'utf8').replace(
      /(  sam:\n(?: {4}.*\n)*? {4}aadObjectId: .*\n)/,
      `$1    handles:\n      - { platform: teams, workspace: ${PARTNER}, id: "${guest.id}" }\n`,
    );
    const pb = parsePlaybook(text, 'guest.yml');
    expect(pb.people.find((p) => p.id === 'sam')?.handles).toEqual([{ platform: 'teams', workspace: PARTNER, id: guest.id }]);
    rig = await startTeamsRig({ playbook: pb, log, env: { BATON_TEAMS_TENANTS: `${TENANT},${PARTNER}` } });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('is that person in the partner tenant, and a stranger in ours (never linked to him there)', async () => {
    rig.fake.addMember({ id: guest.id, name: guest.name, userPrincipalName: 'sam.torres@northwind.example', tenantId: PARTNER });
    const there = JSON.stringify(cardOf((await ask(rig, guest, 'mine', PARTNER)).body));
    expect(there).not.toContain("Baton doesn't know your Teams account");
    expect(there).toContain('Your open handoffs');
    const here = JSON.stringify(cardOf((await ask(rig, guest, 'mine')).body));
    expect(here).toContain("Baton doesn't know your Teams account");
    expect(await links(rig)).toEqual([]);
    const handles = await rig.baton.db.prisma.personHandle.findMany({ where: { externalId: guest.id } });
    expect(handles.map(({ platform, workspace, personId, source }) => ({ platform, workspace, personId, source }))).toEqual([
      { platform: 'teams', workspace: PARTNER, personId: 'sam', source: 'playbook' },
    ]);
  });
});
