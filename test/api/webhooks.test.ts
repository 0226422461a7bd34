/**
 * CRM webhooks over real HTTP against the real database (PGlite, or PostgreSQL with DATABASE_URL):
 * HubSpot's v3 signature and payload shapes, the Salesforce shared-secret HMAC, the playbook's
 * field mappings, idempotent redelivery, and refusals that write nothing.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parsePlaybook } from '../../src/playbook/load.js';
import { batonSignature, hubspotSignature, hubspotSigningUri, verifyHubSpot, SIGNATURE_WINDOW_MS } from '../../src/webhooks/signatures.js';
import { startTestBaton, TEST_TOKEN, type TestBaton } from '../helpers/baton.js';

const HUBSPOT_SECRET = '6c0a9f4e-2b7d-4d1a-9e3f-8a5b7c2d1e0f';
const SALESFORCE_SECRET = 'sf-shared-secret-7f3a9c2e5b1d4f6a';
const PUBLIC_URL = 'https://baton.northwind.example';
const HUBSPOT_PATH = '/api/webhooks/hubspot';
const SALESFORCE_PATH = '/api/webhooks/salesforce';

let baton: TestBaton;

beforeAll(async () => {
  // Behind a TLS proxy: HubSpot signs the public https URL, not the one Baton listens on.
  baton = await startTestBaton({ env: { HUBSPOT_CLIENT_SECRET: HUBSPOT_SECRET, SALESFORCE_WEBHOOK_SECRET: SALESFORCE_SECRET, BATON_PUBLIC_URL: PUBLIC_URL }, checkResponses: true });
}, 60_000);
afterAll(async () => {
  await baton?.stop();
});

interface Reply {
  status: number;
  json: any;
  headers: Headers;
}

async function send(target: TestBaton, path: string, body: string, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(target.url + path, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, json, headers: res.headers };
}

function hubspotHeaders(path: string, body: string, opts: { ts?: number; secret?: string; uri?: string } = {}): Record<string, string> {
  const timestamp = String(opts.ts ?? Date.now());
  const signature = hubspotSignature({ secret: opts.secret ?? HUBSPOT_SECRET, method: 'POST', uri: opts.uri ?? PUBLIC_URL + path, body, timestamp });
  return { 'content-type': 'application/json', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp, 'x-hubspot-signature-version': 'v1' };
}

function hubspot(body: unknown, path = HUBSPOT_PATH, target = baton): Promise<Reply> {
  const text = JSON.stringify(body);
  return send(target, path, text, hubspotHeaders(path, text));
}

function salesforceHeaders(body: string, opts: { ts?: number; secret?: string } = {}): Record<string, string> {
  const timestamp = String(opts.ts ?? Math.floor(Date.now() / 1000));
  return { 'content-type': 'application/json', 'x-baton-timestamp': timestamp, 'x-baton-signature': batonSignature({ secret: opts.secret ?? SALESFORCE_SECRET, timestamp, body }) };
}

function salesforce(body: unknown, target = baton): Promise<Reply> {
  const text = JSON.stringify(body);
  return send(target, SALESFORCE_PATH, text, salesforceHeaders(text));
}

async function counts(target = baton): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['handoff', 'account', 'handoff_event', 'outbox_event']) {
    out[table] = Number((await target.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n);
  }
  return out;
}

/** A contact as a contact-based workflow's "Send a webhook" (include all properties) posts it. */
function hubspotContact(id: number, overrides: Record<string, string | null> = {}, drop: string[] = []): Record<string, unknown> {
  const values: Record<string, string | null> = {
    hs_object_id: String(id),
    email: `dana.whitfield+${id}@acme-logistics.example`,
    firstname: 'Dana',
    lastname: 'Whitfield',
    lifecyclestage: 'marketingqualifiedlead',
    company: 'Acme Logistics',
    hs_email_domain: 'acme-logistics.example',
    associatedcompanyid: '9120331',
    sales_region: 'EMEA',
    company_segment: 'mid_market',
    hubspot_owner_id: '41730016',
    icp_tier: 'A',
    intent_signals: 'Visited pricing page 3 times in 7 days\nThird-party intent: AP automation research surge',
    recent_content_engaged: "Webinar: Closing the books in 3 days;Guide: The CFO's AP automation checklist",
    lead_source_detail: 'webinar',
    mql_routing_reason: 'Tier A account in EMEA, 400 employees, pricing-page intent',
    sales_contact_consent: 'true',
    consent_basis: 'opt_in',
    next_best_action: 'Call today; reference their webinar question about multi-entity consolidation.',
    hubspotscore: '87',
    ...overrides,
  };
  for (const key of drop) delete values[key];
  const at = 1_767_000_000_000;
  return {
    vid: id,
    'canonical-vid': id,
    'merged-vids': [],
    'portal-id': 62515,
    'is-contact': true,
    properties: Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, { value: v, versions: [{ value: v, 'source-type': 'CRM_UI', 'source-id': 'userId:864745280', timestamp: at, selected: false }] }]),
    ),
    'form-submissions': [],
    'identity-profiles': [{ vid: id, identities: [{ type: 'EMAIL', value: values.email, timestamp: at }] }],
  };
}

const EXPECTED_MQL_PACKET = {
  icp_fit: 'A',
  lifecycle_stage: 'MQL',
  intent_signals: ['Visited pricing page 3 times in 7 days', 'Third-party intent: AP automation research surge'],
  content_engaged: ['Webinar: Closing the books in 3 days', "Guide: The CFO's AP automation checklist"],
  source: 'webinar',
  routing_reason: 'Tier A account in EMEA, 400 employees, pricing-page intent',
  consent_given: true,
  consent_basis: 'opt_in',
  next_best_action: 'Call today; reference their webinar question about multi-entity consolidation.',
  lead_score: 87,
};

/** A closed-won opportunity as the Apex action in docs/crm-webhooks.md serialises it. */
function opportunity(id: string, overrides: Record<string, unknown> = {}, drop: string[] = []): Record<string, unknown> {
  const record: Record<string, unknown> = {
    attributes: { type: 'Opportunity', url: `/services/data/v62.0/sobjects/Opportunity/${id}` },
    Id: id,
    Name: 'Acme Logistics — AP automation',
    StageName: 'Closed Won',
    IsWon: true,
    ARR__c: 96000,
    AccountId: '0015g00000AcmeLGX',
    Account: { attributes: { type: 'Account' }, Name: 'Acme Logistics', Website: 'https://www.Acme-Logistics.example/about', Segment__c: 'Enterprise', Region__c: 'EMEA' },
    Owner: { attributes: { type: 'User' }, Email: 'priya.nair@northwind.example' },
    Implementation_Scope__c: 'AP automation for 4 entities, 45 finance users; expense management out of scope.',
    Promised_Outcomes__c: 'Close in 5 days instead of 9 by Q2 2027\n80% of invoices touchless within 90 days',
    Integrations__c: 'NetSuite (owner: Luis Ortega)\nOkta SSO (owner: IT, Priyanka Shah)',
    Kickoff_Date__c: '2027-01-11',
    Go_Live_Target__c: '2027-03-01',
    Timeline_Notes__c: null,
    Delivery_Risks__c: 'Customer IT has one admin; NetSuite sandbox refresh pending.',
    Customer_Project_Team__c: 'Luis Ortega — Controller (project lead)\nDana Whitfield — CFO (executive sponsor)',
    Definition_of_Done__c: 'All 4 entities live, 45 users trained, NetSuite sync reconciled for one full close.',
    ...overrides,
  };
  for (const key of drop) delete record[key];
  return record;
}

describe('HubSpot v3 signature', () => {
  it('reproduces the known answers published in HubSpot\'s SDK tests', () => {
    const base = { secret: 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', method: 'POST', uri: 'https://www.example.com/webhook_uri', body: "{'example_field':'example_value'}" };
    expect(hubspotSignature({ ...base, timestamp: '1693657560000' })).toBe('K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=');
    expect(hubspotSignature({ ...base, timestamp: '1700000300000' })).toBe('RnbPH7+UMKVkbV32P8bz450N4M56aPmcru1+D3kSDtw=');
  });

  it('decodes exactly the characters HubSpot decodes before signing', () => {
    expect(hubspotSigningUri('https://x.example/hook?src=hs%3Aapp%2Fv3&x=%28a%29&y=%2a%2C%3b%40%21%24%27%3F&sp=a%20b&eq=%3D&amp=%26')).toBe(
      "https://x.example/hook?src=hs:app/v3&x=(a)&y=*,;@!$'?&sp=a%20b&eq=%3D&amp=%26",
    );
  });

  it('accepts a timestamp up to 5 minutes away in either direction, and no further', () => {
    const now = 1_790_000_000_000;
    const check = (ts: number) => {
      const timestamp = String(ts);
      const signature = hubspotSignature({ secret: 's', method: 'POST', uri: 'https://b.example/h', body: '[]', timestamp });
      return verifyHubSpot({ secret: 's', method: 'POST', uri: 'https://b.example/h', body: Buffer.from('[]'), signature, timestamp, nowMs: now, secretEnv: 'HUBSPOT_CLIENT_SECRET' }).ok;
    };
    expect(check(now - SIGNATURE_WINDOW_MS)).toBe(true);
    expect(check(now + SIGNATURE_WINDOW_MS)).toBe(true);
    expect(check(now - SIGNATURE_WINDOW_MS - 1)).toBe(false);
    expect(check(now + SIGNATURE_WINDOW_MS + 1)).toBe(false);
  });
});

describe('POST /api/webhooks/hubspot', () => {
  let first: any;

  it('turns a contact workflow webhook into a marketing_to_sdr handoff with the mapped packet, without the API token', async () => {
    const r = await hubspot(hubspotContact(51));
    expect(r.status).toBe(201);
    first = r.json;
    expect(first).toMatchObject({
      transition: 'marketing_to_sdr',
      status: 'routed',
      externalId: 'hubspot:contact:51',
      account: { name: 'Acme Logistics', domain: 'acme-logistics.example', crmId: '9120331' },
      from: { id: 'liam' },
      owner: { id: 'amelia' }, // the EMEA routing rule, from the mapped sales_region
      packet: EXPECTED_MQL_PACKET,
    });
    expect(first.packet).toEqual(EXPECTED_MQL_PACKET);
    expect(r.headers.get('location')).toBe(`/api/handoffs/${first.id}`);
    const [account] = await baton.db.sql.query<{ segment: string; region: string }>('SELECT segment, region FROM account WHERE crm_id = $1', ['9120331']);
    expect(account).toEqual({ segment: 'mid_market', region: 'EMEA' });
    const full = await baton.api('GET', `/api/handoffs/${first.id}`);
    expect(full.json.events.map((e: any) => e.type)).toEqual(['received', 'routed']);
  });

  it('returns the same handoff when HubSpot redelivers the record (new timestamp, new signature)', async () => {
    const before = await counts();
    const r = await hubspot(hubspotContact(51));
    expect(r.status).toBe(200);
    expect(r.headers.get('idempotent-replayed')).toBe('true');
    expect(r.json.id).toBe(first.id);
    expect(await counts()).toEqual(before);
  });

  it('refuses a redelivery of the same record with different values, keeping the first handoff', async () => {
    const before = await counts();
    const r = await hubspot(hubspotContact(51, { icp_tier: 'B' }));
    expect(r.status).toBe(422);
    expect(r.json.error).toEqual({
      code: 'idempotency_key_reused',
      message: `contact 51 already started handoff #${first.id} for marketing_to_sdr with different values; Baton keeps one handoff per CRM record and transition, and that handoff is unchanged.`,
      details: [
        {
          path: 'externalId',
          message: `contact 51 already started handoff #${first.id} for marketing_to_sdr with different values; Baton keeps one handoff per CRM record and transition, and that handoff is unchanged`,
        },
      ],
    });
    expect(await counts()).toEqual(before);
    expect((await baton.api('GET', `/api/handoffs/${first.id}`)).json.packet.icp_fit).toBe('A');
  });

  it('takes a customised workflow body with ?transition=, signed over the URI with HubSpot\'s decoding', async () => {
    const path = `${HUBSPOT_PATH}?transition=marketing_to_sdr&workflow=wf%3A42%2Fmql`;
    const flat = {
      hs_object_id: '52',
      lifecyclestage: 'marketingqualifiedlead',
      company: 'Brightline Freight',
      hs_email_domain: 'https://www.brightline-freight.example/',
      hubspot_owner_id: '99999', // not in the map: the default sender (maya) is used
      sales_region: 'APAC',
      icp_tier: 'B',
      intent_signals: 'Requested a demo',
      recent_content_engaged: 'Guide: AP automation ROI',
      lead_source_detail: 'inbound_form',
      mql_routing_reason: 'Demo request from an APAC mid-market account',
      sales_contact_consent: 'Yes',
      consent_basis: 'legitimate_interest',
      next_best_action: 'Book the demo this week.',
      hubspotscore: '',
    };
    const text = JSON.stringify(flat);
    // HubSpot decodes %3A and %2F before signing; a signature over the URI as sent is not HubSpot's.
    const ts = String(Date.now());
    const undecoded = createHmac('sha256', HUBSPOT_SECRET).update(`POST${PUBLIC_URL}${path}${text}${ts}`).digest('base64');
    const raw = await send(baton, path, text, { 'content-type': 'application/json', 'x-hubspot-signature-v3': undecoded, 'x-hubspot-request-timestamp': ts });
    expect(raw.status).toBe(401);
    const decoded = `${PUBLIC_URL}${HUBSPOT_PATH}?transition=marketing_to_sdr&workflow=wf:42/mql`;
    const r = await send(baton, path, text, hubspotHeaders(path, text, { uri: decoded }));
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      transition: 'marketing_to_sdr',
      externalId: 'hubspot:contact:52',
      account: { name: 'Brightline Freight', domain: 'brightline-freight.example' },
      from: { id: 'maya' },
      owner: { id: 'sven' }, // APAC rule
    });
    expect(r.json.packet).toMatchObject({ icp_fit: 'B', consent_given: true, intent_signals: ['Requested a demo'] });
    expect(r.json.packet).not.toHaveProperty('lead_score'); // blank optional property
    // Signed over the encoded form too: HubSpot's decoding is applied to whatever Baton receives.
    const again = await send(baton, path, text, hubspotHeaders(path, text));
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(r.json.id);
  });

  it('refuses bad, stale, future and missing signatures with 401 and writes nothing', async () => {
    const before = await counts();
    const body = JSON.stringify(hubspotContact(60));
    const now = Date.now();
    const refusals: [string, Record<string, string>, string?][] = [
      ['wrong secret', hubspotHeaders(HUBSPOT_PATH, body, { secret: 'another-app-secret' })],
      ['signed for another URL', hubspotHeaders(HUBSPOT_PATH, body, { uri: `${baton.url}${HUBSPOT_PATH}` })],
      ['stale', hubspotHeaders(HUBSPOT_PATH, body, { ts: now - 6 * 60_000 })],
      ['future', hubspotHeaders(HUBSPOT_PATH, body, { ts: now + 6 * 60_000 })],
      ['tampered body', hubspotHeaders(HUBSPOT_PATH, body), body.replace('"A"', '"C"')],
    ];
    const { 'x-hubspot-signature-v3': _s, ...noSignature } = hubspotHeaders(HUBSPOT_PATH, body);
    const { 'x-hubspot-request-timestamp': _t, ...noTimestamp } = hubspotHeaders(HUBSPOT_PATH, body);
    refusals.push(['no signature', noSignature], ['no timestamp', noTimestamp]);
    refusals.push(['non-numeric timestamp', { ...hubspotHeaders(HUBSPOT_PATH, body), 'x-hubspot-request-timestamp': 'soon' }]);
    refusals.push(['the API token instead of a signature', { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }]);
    const messages: Record<string, string> = {};
    for (const [label, headers, sent] of refusals) {
      const r = await send(baton, HUBSPOT_PATH, sent ?? body, headers);
      expect({ label, status: r.status, code: r.json.error?.code }).toEqual({ label, status: 401, code: 'unauthorized' });
      messages[label] = r.json.error.message;
    }
    expect(messages.stale).toMatch(/^The HubSpot request timestamp is 6 minutes old/);
    expect(messages.future).toMatch(/^The HubSpot request timestamp is 6 minutes in the future/);
    expect(messages['wrong secret']).toContain('HUBSPOT_CLIENT_SECRET');
    expect(messages['no signature']).toContain('X-HubSpot-Signature-v3');
    expect(await counts()).toEqual(before);
  });

  it('reports every mapping gap with the HubSpot property it came from, and writes nothing', async () => {
    const before = await counts();
    const r = await hubspot(hubspotContact(61, { hubspotscore: 'eighty', sales_contact_consent: 'false', lead_source_detail: 'tradeshow' }, ['icp_tier']));
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe('validation_failed');
    expect(r.json.error.details).toEqual([
      { path: 'packet.icp_fit', message: 'required field "ICP fit" is missing (from HubSpot property "icp_tier", not in the payload)' },
      { path: 'packet.source', message: 'expected one of inbound_form, webinar, event, content_download, paid_search, partner_referral, outbound_list, got "tradeshow" (from HubSpot property "lead_source_detail")' },
      { path: 'packet.lead_score', message: 'expected a number, got "eighty" (from HubSpot property "hubspotscore")' },
      {
        path: 'packet.consent_given',
        message: 'entry criterion not met: consent to be contacted must be recorded before sales outreach (got false) (from HubSpot property "sales_contact_consent")',
      },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('refuses records no mapping takes, unknown and unmapped transitions with 422, writing nothing', async () => {
    const before = await counts();
    const lead = await hubspot(hubspotContact(62, { lifecyclestage: 'lead' }));
    expect(lead.status).toBe(422);
    expect(lead.json.error).toMatchObject({ code: 'unmapped', details: [{ path: 'when' }] });
    expect(lead.json.error.details[0].message).toBe(
      'contact 62 matches no crm.hubspot mapping: marketing_to_sdr needs lifecyclestage = "marketingqualifiedlead" (got "lead"); or name the transition (?transition=<id>)',
    );
    const unknown = await hubspot(hubspotContact(63), `${HUBSPOT_PATH}?transition=mql_to_sdr`);
    expect(unknown.status).toBe(422);
    expect(unknown.json.error.details).toEqual([{ path: 'transition', message: 'unknown transition "mql_to_sdr"; HubSpot records can start: marketing_to_sdr' }]);
    const unmapped = await hubspot(hubspotContact(64), `${HUBSPOT_PATH}?transition=sdr_to_ae`);
    expect(unmapped.status).toBe(422);
    expect(unmapped.json.error.details).toEqual([
      { path: 'transition', message: 'transition "sdr_to_ae" has no crm.hubspot mapping in the playbook (mapped: marketing_to_sdr); add crm.hubspot.transitions.sdr_to_ae' },
    ]);
    const deal = await hubspot({ objectId: 9001, objectType: 'DEAL', portalId: 62515, properties: { dealname: { value: 'Acme renewal' } } });
    expect(deal.status).toBe(422);
    expect(deal.json.error.details).toEqual([{ path: 'objectType', message: 'no crm.hubspot mapping takes deal records (mapped: contact → marketing_to_sdr)' }]);
    expect(await counts()).toEqual(before);
  });

  describe('webhooks-API event arrays', () => {
    const event = (objectId: number, propertyName: string, propertyValue: string, extra: Record<string, unknown> = {}) => ({
      eventId: 1_000 + objectId,
      subscriptionId: 686627,
      portalId: 62515,
      appId: 7906213,
      occurredAt: 1_767_000_000_000,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId,
      propertyName,
      propertyValue,
      changeSource: 'CRM_UI',
      sourceId: 'userId:882761034',
      ...extra,
    });
    const contact = hubspotContact(0).properties as Record<string, { value: string }>;
    const changesOf = (objectId: number) =>
      Object.entries(contact)
        .filter(([k]) => k !== 'hs_object_id')
        .map(([k, v], i) => event(objectId, k, v.value, { occurredAt: 1_767_000_000_000 + i }));
    let created: any;

    it('merges the changes of one object into one record; changes no mapping wants are ignored', async () => {
      const batch = [
        ...changesOf(601),
        // The same property changed twice in one request: the later change wins.
        event(601, 'icp_tier', 'C', { occurredAt: 1_766_000_000_000 }),
        event(602, 'lifecyclestage', 'customer'),
      ];
      const r = await hubspot(batch);
      expect(r.status).toBe(201);
      expect(r.json.ignored).toEqual([{ record: 'contact 602', reason: 'matches no crm.hubspot mapping: marketing_to_sdr needs lifecyclestage = "marketingqualifiedlead" (got "customer")' }]);
      expect(r.json.handoffs).toHaveLength(1);
      created = r.json.handoffs[0];
      expect(created).toMatchObject({ record: 'contact 601', created: true, handoff: { externalId: 'hubspot:contact:601', packet: EXPECTED_MQL_PACKET } });
    });

    it('returns the same handoff on HubSpot\'s retry (attemptNumber 1)', async () => {
      const before = await counts();
      const r = await hubspot([...changesOf(601).map((e) => ({ ...e, attemptNumber: 1 })), event(602, 'lifecyclestage', 'customer', { attemptNumber: 1 })]);
      expect(r.status).toBe(200);
      expect(r.json.handoffs).toEqual([{ record: 'contact 601', created: false, handoff: expect.objectContaining({ id: created.handoff.id }) }]);
      expect(await counts()).toEqual(before);
    });

    it('names every missing field when an event carries too little, and refuses unmapped object types', async () => {
      const before = await counts();
      const thin = await hubspot([event(603, 'lifecyclestage', 'marketingqualifiedlead')]);
      expect(thin.status).toBe(422);
      expect(thin.json.error.code).toBe('validation_failed');
      const paths = thin.json.error.details.map((d: any) => d.path);
      expect(paths).toEqual(expect.arrayContaining(['records.0.account.name', 'records.0.packet.icp_fit', 'records.0.packet.consent_given', 'records.0.packet.next_best_action']));
      expect(thin.json.error.details.find((d: any) => d.path === 'records.0.packet.icp_fit').message).toBe(
        '(contact 603) required field "ICP fit" is missing (from HubSpot property "icp_tier", not in the payload)',
      );
      const deal = await hubspot([{ ...event(9002, 'dealstage', 'closedwon'), subscriptionType: 'deal.propertyChange' }]);
      expect(deal.status).toBe(422);
      expect(deal.json.error).toMatchObject({ code: 'unmapped', details: [{ path: 'records.0.objectType' }] });
      const deleted = await hubspot([{ ...event(604, 'lifecyclestage', 'marketingqualifiedlead'), subscriptionType: 'contact.deletion' }]);
      expect(deleted.status).toBe(200);
      expect(deleted.json).toEqual({ handoffs: [], ignored: [{ record: 'contact 604', reason: 'contact.deletion events do not start handoffs' }] });
      expect(await counts()).toEqual(before);
    });
  });

  it('answers framework refusals as JSON errors once the signature is good', async () => {
    const form = 'a=b';
    const r415 = await send(baton, HUBSPOT_PATH, form, { ...hubspotHeaders(HUBSPOT_PATH, form), 'content-type': 'application/x-www-form-urlencoded' });
    expect(r415.status).toBe(415);
    expect(r415.json.error.code).toBe('unsupported_media_type');
    const broken = '{"properties":';
    const r400 = await send(baton, HUBSPOT_PATH, broken, hubspotHeaders(HUBSPOT_PATH, broken));
    expect(r400.status).toBe(400);
    expect(r400.json.error).toEqual({ code: 'malformed_request', message: 'The request body is not valid JSON.' });
    const big = JSON.stringify({ x: 'a'.repeat(1_100_000) });
    const r413 = await send(baton, HUBSPOT_PATH, big, hubspotHeaders(HUBSPOT_PATH, big));
    expect(r413.status).toBe(413);
    expect(r413.json.error.code).toBe('payload_too_large');
    const scalar = '42';
    const r422 = await send(baton, HUBSPOT_PATH, scalar, hubspotHeaders(HUBSPOT_PATH, scalar));
    expect(r422.status).toBe(422);
    expect(r422.json.error.code).toBe('invalid_payload');
  });
});

describe('POST /api/webhooks/salesforce', () => {
  let won: any;

  it('turns a closed-won opportunity into an ae_to_implementation handoff with related-record fields', async () => {
    const r = await salesforce({ record: opportunity('0065g00000XyZ12AAB') });
    expect(r.status).toBe(201);
    won = r.json;
    expect(won).toMatchObject({
      transition: 'ae_to_implementation',
      externalId: 'salesforce:opportunity:0065g00000XyZ12AAB',
      account: { name: 'Acme Logistics', domain: 'acme-logistics.example' },
      from: { id: 'priya' },
      owner: { id: 'arjun' }, // "Enterprise" meets the enterprise routing rule
    });
    expect(won.packet).toEqual({
      scope: 'AP automation for 4 entities, 45 finance users; expense management out of scope.',
      promised_outcomes: ['Close in 5 days instead of 9 by Q2 2027', '80% of invoices touchless within 90 days'],
      integrations: ['NetSuite (owner: Luis Ortega)', 'Okta SSO (owner: IT, Priyanka Shah)'],
      kickoff_date: '2027-01-11',
      go_live_target: '2027-03-01',
      risks: 'Customer IT has one admin; NetSuite sandbox refresh pending.',
      stakeholders: ['Luis Ortega — Controller (project lead)', 'Dana Whitfield — CFO (executive sponsor)'],
      definition_of_done: 'All 4 entities live, 45 users trained, NetSuite sync reconciled for one full close.',
      contract_value: 96000,
      closed_won: true,
      crm_opportunity_url: 'https://northwind.lightning.force.com/lightning/r/Opportunity/0065g00000XyZ12AAB/view',
    });
  });

  it('returns the same handoff on redelivery, and accepts a Flow\'s batch of records', async () => {
    const before = await counts();
    const again = await salesforce({ transition: 'ae_to_implementation', record: opportunity('0065g00000XyZ12AAB') });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(won.id);
    expect(await counts()).toEqual(before);

    const batch = await salesforce({
      records: [
        opportunity('0065g00000XyZ12AAB'),
        opportunity('0065g00000Bm7QpAAJ', { AccountId: '0015g00000BrtFRT', Account: { Name: 'Brightline Freight', Segment__c: 'Mid-Market' }, Owner: null, Kickoff_Date__c: '2027-02-01T09:30:00.000+0000' }),
      ],
    });
    expect(batch.status).toBe(201);
    expect(batch.json.ignored).toEqual([]);
    expect(batch.json.handoffs.map((h: any) => [h.record, h.created, h.handoff.from.id])).toEqual([
      ['Opportunity 0065g00000XyZ12AAB', false, 'priya'],
      ['Opportunity 0065g00000Bm7QpAAJ', true, 'jordan'], // no owner in the payload: the default sender
    ]);
    expect(batch.json.handoffs[1].handoff.packet.kickoff_date).toBe('2027-02-01T09:30:00.000+00:00');
  });

  it('refuses bad, stale, future and missing signatures with 401 and writes nothing', async () => {
    const before = await counts();
    const body = JSON.stringify({ record: opportunity('0065g00000Zz9ZzAAA') });
    const seconds = Math.floor(Date.now() / 1000);
    const refusals: [string, Record<string, string>, string?][] = [
      ['wrong secret', salesforceHeaders(body, { secret: 'not-the-shared-secret-at-all' })],
      ['stale', salesforceHeaders(body, { ts: seconds - 330 })],
      ['future', salesforceHeaders(body, { ts: seconds + 330 })],
      ['milliseconds', { ...salesforceHeaders(body), 'x-baton-timestamp': String(Date.now()) }],
      ['tampered body', salesforceHeaders(body), body.replace('96000', '960000')],
      ['no signature', { 'content-type': 'application/json', 'x-baton-timestamp': String(seconds) }],
      ['no timestamp', { 'content-type': 'application/json', 'x-baton-signature': salesforceHeaders(body)['x-baton-signature']! }],
      ['bare hex without sha256=', { ...salesforceHeaders(body), 'x-baton-signature': salesforceHeaders(body)['x-baton-signature']!.slice('sha256='.length) }],
    ];
    for (const [label, headers, sent] of refusals) {
      const r = await send(baton, SALESFORCE_PATH, sent ?? body, headers);
      expect({ label, status: r.status, code: r.json.error?.code }).toEqual({ label, status: 401, code: 'unauthorized' });
    }
    const stale = await send(baton, SALESFORCE_PATH, body, salesforceHeaders(body, { ts: seconds - 3600 }));
    expect(stale.json.error.message).toBe('The request timestamp is 60 minutes old (more than 5 minutes): a replay, or a delivery that waited too long; the request was refused.');
    // Upper-case hex is the same signature.
    const upper = salesforceHeaders(body);
    upper['x-baton-signature'] = 'sha256=' + upper['x-baton-signature']!.slice('sha256='.length).toUpperCase();
    expect(await counts()).toEqual(before);
    const accepted = await send(baton, SALESFORCE_PATH, body, upper);
    expect(accepted.status).toBe(201);
  });

  it('reports mapping gaps with the Salesforce field each value came from, and writes nothing', async () => {
    const before = await counts();
    const r = await salesforce({ record: opportunity('0065g00000Gap01AAA', { ARR__c: 'n/a', Account: { Name: null } }, ['Kickoff_Date__c']) });
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe('validation_failed');
    expect(r.json.error.details).toEqual([
      { path: 'account.name', message: 'the account needs a name, from Salesforce field "Account.Name", empty in the payload' },
      { path: 'packet.kickoff_date', message: 'required field "Kickoff date" is missing (from Salesforce field "Kickoff_Date__c", not in the payload)' },
      { path: 'packet.contract_value', message: 'expected a number, got "n/a" (from Salesforce field "ARR__c")' },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('refuses records no mapping takes and malformed bodies with 422', async () => {
    const before = await counts();
    const open = await salesforce({ record: opportunity('0065g00000Opn01AAA', { StageName: 'Negotiation/Review', IsWon: false }) });
    expect(open.status).toBe(422);
    expect(open.json.error).toMatchObject({ code: 'unmapped', details: [{ path: 'when' }] });
    expect(open.json.error.details[0].message).toContain('ae_to_implementation needs StageName = "Closed Won" (got "Negotiation/Review")');
    const lead = await salesforce({ record: { attributes: { type: 'Lead' }, Id: '00Q5g00000LeadAAA', Company: 'Acme' } });
    expect(lead.status).toBe(422);
    expect(lead.json.error.details).toEqual([{ path: 'objectType', message: 'no crm.salesforce mapping takes lead records (mapped: opportunity → ae_to_implementation)' }]);
    const wrongType = await salesforce({ transition: 'ae_to_implementation', record: { attributes: { type: 'Lead' }, Id: '00Q5g00000LeadAAA' } });
    expect(wrongType.json.error.details).toEqual([{ path: 'objectType', message: 'crm.salesforce.transitions.ae_to_implementation takes opportunity records, got Lead 00Q5g00000LeadAAA' }]);
    const shape = await salesforce({ opportunity: opportunity('0065g00000Shp01AAA') });
    expect(shape.status).toBe(422);
    expect(shape.json.error.code).toBe('invalid_payload');
    expect(shape.json.error.details).toEqual([
      { path: 'opportunity', message: 'unknown field "opportunity" (allowed: transition, record, records)' },
      { path: 'record', message: 'send either "record" (one record) or "records" (a list), not both and not neither' },
    ]);
    expect(await counts()).toEqual(before);
  });
});

describe('configuration', () => {
  let bare: TestBaton;
  let custom: TestBaton;

  beforeAll(async () => {
    // A playbook that names its own variable for the HubSpot secret; no BATON_PUBLIC_URL.
    const text = readFileSync(new URL('../../playbook.yml', import.meta.url), 'utf8').replace('secretEnv: HUBSPOT_CLIENT_SECRET', 'secretEnv: NORTHWIND_HUBSPOT_SECRET');
    custom = await startTestBaton({ playbook: parsePlaybook(text), env: { NORTHWIND_HUBSPOT_SECRET: HUBSPOT_SECRET }, checkResponses: true });
    // No CRM secrets at all; it shares custom's database (starting a second one costs seconds).
    bare = await startTestBaton({ db: custom.db, checkResponses: true });
  }, 90_000);
  afterAll(async () => {
    await bare?.stop();
    await custom?.stop();
  });

  it('answers 503 naming the variable that enables each webhook while its secret is unset, reading nothing', async () => {
    const hs = await send(bare, HUBSPOT_PATH, JSON.stringify(hubspotContact(70)), hubspotHeaders(HUBSPOT_PATH, JSON.stringify(hubspotContact(70))));
    expect(hs.status).toBe(503);
    expect(hs.json.error).toEqual({
      code: 'unavailable',
      message: "HubSpot webhooks are off: set HUBSPOT_CLIENT_SECRET (the HubSpot app's client secret) and restart Baton. See docs/crm-webhooks.md.",
    });
    const sf = await send(custom, SALESFORCE_PATH, '{}', salesforceHeaders('{}'));
    expect(sf.status).toBe(503);
    expect(sf.json.error.message).toContain('set SALESFORCE_WEBHOOK_SECRET');
    expect(await counts(bare)).toMatchObject({ handoff: 0, account: 0 });
  });

  it('reads the secret from the variable the playbook names, and signs over the URL Baton was called at', async () => {
    const body = JSON.stringify(hubspotContact(71));
    const r = await send(custom, HUBSPOT_PATH, body, hubspotHeaders(HUBSPOT_PATH, body, { uri: custom.url + HUBSPOT_PATH }));
    expect(r.status).toBe(201);
    expect(r.json.externalId).toBe('hubspot:contact:71');
    // A TLS proxy in front says so in X-Forwarded-Proto; HubSpot signed the https URL.
    const https = custom.url.replace('http://', 'https://') + HUBSPOT_PATH;
    const proxied = await send(custom, HUBSPOT_PATH, body, { ...hubspotHeaders(HUBSPOT_PATH, body, { uri: https }), 'x-forwarded-proto': 'https' });
    expect(proxied.status).toBe(200);
    expect(proxied.json.id).toBe(r.json.id);
    const wrong = await send(custom, HUBSPOT_PATH, body, hubspotHeaders(HUBSPOT_PATH, body, { uri: https }));
    expect(wrong.status).toBe(401);
  });
});
