/**
 * Teams tenants, over real signed Bot Framework HTTP: Baton serves the Microsoft 365 tenants named
 * in MICROSOFT_APP_TENANT_ID / BATON_TEAMS_TENANTS and no other. An activity from another tenant
 * (channelData.tenant.id, else conversation.tenantId) changes nothing and reveals nothing: an
 * invoke gets an error saying the tenant is not served, a message one line, an install nothing;
 * no conversation reference or service URL is stored, and proactive posts keep going to the
 * home tenant's connector. A pinned playbook id does not help from another tenant.
 */
import { pino } from 'pino';
import { CARD_ACTIONS } from '../../../blocks/actions.js';
import { FakeBotConnector } from '../../fakes/botConnector.js';
import { BOT_ID, TENANT, cardAction, cardOf, eventually, personalConversation, personalInstall, personalMessage, randomUserId, startTeamsRig, teamInstall, type TeamsTestRig, type TeamsUser } from './helpers.js';

const FOREIGN = 'f0e1d2c3-0000-4000-8000-00000000bad1';
/** A second tenant this Baton also serves (BATON_TEAMS_TENANTS lists two). */
const PARTNER = '5ea7ed00-0000-4000-8000-00000000cafe';
const SDR_CHANNEL = '19:76631129f34369aad80b891baf90d0d3@thread.tacv2';
// Playbook people, by their pinned Teams ids: Sam is a playbook admin and may act on anything.
const sam = { id: '29:1QGMrb9h-ImB-LK777pzNk8cL6j5IXAAjlsHUqJoU', name: 'Sam Torres', aadObjectId: 'e04b0dce-e5d0-4a4d-bf75-95b53b3bf4bf' };
const amelia = { id: '29:1799NksnRH9ucAUsdMlHUvTCQCyEZDz_TddJ8HyS5', name: 'Amelia Hughes' };
const sven = { id: '29:1A9a9SkpXz9w3QlY7Zkuvqdt7s8Stqcbnr3yBdGBL', name: 'Sven Lindqvist' };
const oliver = { id: '29:1kwtDDb-xHKas1VOqg6YYZYn9ZhyiA4uoRgnatmUd', name: 'Oliver Bennett' };

const logLines: any[] = [];
const log = pino({ level: 'warn' }, { write: (l: string) => void logLines.push(JSON.parse(l)) });

let rig: TeamsTestRig;
/** The connector of the foreign tenant's region: nothing Baton does may reach it. */
let foreign: FakeBotConnector;

beforeAll(async () => {
  rig = await startTeamsRig({ log, env: { BATON_TEAMS_TENANTS: `${TENANT},${PARTNER}` } });
  foreign = await FakeBotConnector.start();
});
afterAll(async () => {
  await rig?.stop();
  await foreign?.close();
});

/** The activity as if sent from `tenant`, through `via`'s service URL (signed for it, as the Bot Framework does). */
function inTenant(activity: Record<string, unknown>, tenant: string, opts: { via?: FakeBotConnector; tenantIn?: 'channelData' | 'conversation' } = {}): Record<string, unknown> {
  const conversation = { ...(activity.conversation as Record<string, unknown>), tenantId: tenant };
  const channelData = { ...(activity.channelData as Record<string, unknown>) };
  if (opts.tenantIn === 'conversation') delete channelData.tenant;
  else channelData.tenant = { id: tenant };
  return { ...activity, conversation, channelData, ...(opts.via ? { serviceUrl: opts.via.serviceUrl } : {}) };
}

function post(activity: Record<string, unknown>) {
  return rig.post(activity, rig.token({ serviceUrl: activity.serviceUrl as string }));
}

let seq = 0;
/** A marketing → SDR handoff: EMEA goes to Amelia, APAC to Sven. */
async function intake(region = 'EMEA'): Promise<{ id: number; version: number; account: string }> {
  seq += 1;
  const account = `Initech Confidential ${seq}`;
  const res = await rig.baton.api('POST', '/api/handoffs', {
    transition: 'marketing_to_sdr',
    account: { name: account, domain: `initech${seq}.example`, region },
    from: 'maya.okafor@northwind.example',
    packet: { icp_fit: 'A', lifecycle_stage: 'MQL', intent_signals: ['Board approved budget'], content_engaged: ['Webinar'], source: 'webinar', routing_reason: 'Tier A in EMEA', consent_given: true, consent_basis: 'opt_in', next_best_action: 'Call the CFO on her mobile' },
  });
  expect(res.status).toBe(201);
  return { id: res.json.id, version: res.json.version, account };
}

/** Every stored conversation reference, as JSON text. */
async function storedReferences(): Promise<string> {
  const rows = await rig.baton.db.prisma.conversationRef.findMany();
  return JSON.stringify(rows);
}

/** An invoke answered with an error card that says the tenant is not served, and nothing else. */
function notServedCard(body: any): boolean {
  return body?.type === 'application/vnd.microsoft.card.adaptive' && /This Microsoft 365 tenant is not served by this Baton/.test(JSON.stringify(body.value)) && !body.value.actions?.length;
}

function warned(tenant: string): boolean {
  return logLines.some((l) => l.level === 40 && l.tenantId === tenant && /not served/.test(l.msg));
}

describe('before anything from another tenant', () => {
  it('Baton is installed in the home tenant (team and Oliver\'s chat) and serves it', async () => {
    expect((await rig.post(teamInstall(rig.fake, oliver, SDR_CHANNEL))).status).toBe(200);
    expect((await rig.post(personalInstall(rig.fake, oliver))).status).toBe(200);
    const h = await intake();
    await eventually(() => rig.fake.ok('send').some((c) => c.conversationId === SDR_CHANNEL && cardOf(c.body)?.fallbackText?.startsWith(`Handoff #${h.id} `)), 'the channel post');
    const refresh = await rig.post(cardAction(rig.fake, oliver, CARD_ACTIONS.refresh.teams, { handoffId: h.id }));
    expect(refresh.status).toBe(200);
    expect(refresh.json.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(refresh.text).toContain(h.account);
  });
});

describe('an invoke from a tenant Baton does not serve', () => {
  it.each([
    ['refresh', CARD_ACTIONS.refresh.teams, 'channelData'],
    ['details', CARD_ACTIONS.details.teams, 'channelData'],
    ['details (tenant only in conversation.tenantId)', CARD_ACTIONS.details.teams, 'conversation'],
  ] as const)('%s with a real handoff id: an error saying the tenant is not served, no packet or account', async (_name, verb, tenantIn) => {
    const h = await intake();
    const res = await post(inTenant(cardAction(rig.fake, { id: randomUserId(), name: 'Mallory' }, verb, { handoffId: h.id }), FOREIGN, { tenantIn }));
    expect(res.status).toBe(200);
    expect(notServedCard(res.json)).toBe(true);
    for (const secret of [h.account, 'initech', 'Call the CFO', 'Board approved', 'Tier A', 'Amelia']) expect(res.text).not.toContain(secret);
    expect(warned(FOREIGN)).toBe(true);
  });

  it('accept, even with an admin\'s pinned Teams id: refused, the handoff unchanged', async () => {
    const h = await intake();
    await eventually(async () => (await rig.baton.service.get(h.id)).status === 'routed' && h, 'routed');
    const before = await rig.baton.service.get(h.id);
    const res = await post(inTenant(cardAction(rig.fake, sam, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: before.version }), FOREIGN));
    expect(notServedCard(res.json)).toBe(true);
    expect(res.text).not.toContain(h.account);
    const after = await rig.baton.service.get(h.id);
    expect(after.status).toBe(before.status);
    expect(after.version).toBe(before.version);
  });
});

describe('a message from a tenant Baton does not serve', () => {
  it('gets a one-line reply, no card and nothing about any handoff, and stores nothing', async () => {
    const before = await storedReferences();
    const msg = inTenant(personalMessage(rig.fake, sam, 'mine'), FOREIGN);
    expect((await post(msg)).status).toBe(200);
    const reply = await eventually(() => rig.fake.ok('reply').find((r) => r.activityId === msg.id), 'the reply');
    expect(reply.body.attachments ?? []).toEqual([]);
    expect(reply.body.text).toMatch(/^This Microsoft 365 tenant is not served by this Baton[^\n]*$/);
    expect(await storedReferences()).toBe(before);
    expect(before).not.toContain(FOREIGN);
  });
});

describe('an install from a tenant Baton does not serve', () => {
  it('stores no reference and no service URL, says nothing, and proactive posts stay on the home tenant\'s connector', async () => {
    const stranger: TeamsUser = { id: randomUserId(), name: 'Mallory' };
    const installs = [
      inTenant(personalInstall(rig.fake, stranger), FOREIGN, { via: foreign }),
      inTenant(personalInstall(rig.fake, amelia), FOREIGN, { via: foreign }),
      inTenant(teamInstall(rig.fake, stranger, '19:foreignteam@thread.tacv2'), FOREIGN, { via: foreign }),
      { ...inTenant(personalInstall(rig.fake, stranger), FOREIGN, { via: foreign }), type: 'installationUpdate', action: 'add' },
    ];
    for (const a of installs) expect((await post(a)).status).toBe(200);
    const refs = await storedReferences();
    expect(refs).not.toContain(FOREIGN);
    expect(refs).not.toContain(foreign.url);
    expect(rig.fake.calls.filter((c) => installs.some((a) => a.id === c.activityId))).toEqual([]);

    // Amelia's chat (opened at home for an earlier card) still points home.
    expect(await rig.baton.db.prisma.conversationRef.findUnique({ where: { platform_key: { platform: 'teams', key: 'amelia' } } })).toMatchObject({ reference: { serviceUrl: rig.fake.serviceUrl } });
    const forAmelia = await intake();
    await eventually(() => rig.fake.ok('send').some((c) => c.conversationId !== SDR_CHANNEL && cardOf(c.body)?.fallbackText?.startsWith(`Handoff #${forAmelia.id} `)), 'the card in Amelia\'s chat');
    // Sven has never talked to Baton: his card needs a new 1:1 chat, created through the home tenant's service URL.
    const forSven = await intake('APAC');
    const created = await eventually(() => rig.fake.ok('createConversation').find((c) => c.body?.members?.[0]?.id === sven.id), 'Sven\'s chat created at home');
    expect(created.body).toMatchObject({ tenantId: TENANT, bot: { id: BOT_ID } });
    await eventually(() => rig.fake.ok('send').some((c) => c.conversationId === created.responseId && cardOf(c.body)?.fallbackText?.startsWith(`Handoff #${forSven.id} `)), 'the card in Sven\'s chat');
    expect(foreign.calls).toEqual([]);
    expect(warned(FOREIGN)).toBe(true);
  });
});

describe('a second served tenant (BATON_TEAMS_TENANTS)', () => {
  it('is served, and its reference keeps its own service URL and tenant without touching the home tenant\'s', async () => {
    const partnerConnector = await FakeBotConnector.start();
    try {
      const install = inTenant(personalInstall(rig.fake, sam), PARTNER, { via: partnerConnector });
      expect((await post(install)).status).toBe(200);
      expect(await rig.baton.db.prisma.conversationRef.findUnique({ where: { platform_key: { platform: 'teams', key: 'sam' } } })).toMatchObject({
        reference: { serviceUrl: partnerConnector.serviceUrl, conversation: { tenantId: PARTNER } },
      });
      // Welcome card went to the partner tenant's connector (its reply), nothing to the home one.
      expect(partnerConnector.ok('reply').length).toBe(1);
      // Oliver's chat (home) still carries the home service URL.
      expect(await rig.baton.db.prisma.conversationRef.findUnique({ where: { platform_key: { platform: 'teams', key: 'oliver' } } })).toMatchObject({
        reference: { serviceUrl: rig.fake.serviceUrl, conversation: { ...personalConversation(oliver), tenantId: TENANT } },
      });
    } finally {
      await partnerConnector.close();
    }
  });
});
