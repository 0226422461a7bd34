/**
 * Request signing: Baton checks Slack's v0 signature and a 5-minute replay window on BOTH sides
 * (Bolt 5.1.0 alone accepts timestamps from the future). A refused request gets 401 and writes
 * nothing: no state change, no audit or outbox row, no processed-event row, no Slack call.
 */
import { CARD_ACTIONS } from '../../../blocks/actions.js';
import { signSlackRequest, verifySlackSignature } from '../../../bots/slack/verify.js';
import { FORM, blockAction, buttonValue, eventCallback, exampleOf, postSigned, slashCommand, startSlackHarness, waitFor, type SlackHarness } from './helpers.js';

describe('verifySlackSignature', () => {
  const secret = 'shhh';
  const body = Buffer.from('token=x&text=hello');
  const now = 1_800_000_000_000;
  const ts = String(now / 1000);
  const sig = signSlackRequest(secret, Number(ts), body.toString());

  it('accepts Slack\'s signature within the window, on both sides', () => {
    expect(verifySlackSignature({ signingSecret: secret, timestamp: ts, signature: sig, rawBody: body, nowMs: now })).toEqual({ ok: true });
    const t = String(now / 1000 - 299);
    expect(verifySlackSignature({ signingSecret: secret, timestamp: t, signature: signSlackRequest(secret, Number(t), body.toString()), rawBody: body, nowMs: now }).ok).toBe(true);
    const f = String(now / 1000 + 299);
    expect(verifySlackSignature({ signingSecret: secret, timestamp: f, signature: signSlackRequest(secret, Number(f), body.toString()), rawBody: body, nowMs: now }).ok).toBe(true);
  });

  it('refuses a wrong secret, a changed body, stale and future timestamps, and malformed headers', () => {
    const check = (over: Partial<Parameters<typeof verifySlackSignature>[0]>) => verifySlackSignature({ signingSecret: secret, timestamp: ts, signature: sig, rawBody: body, nowMs: now, ...over });
    expect(check({ signingSecret: 'other' })).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(check({ rawBody: Buffer.from('token=x&text=hellO') })).toEqual({ ok: false, reason: 'signature mismatch' });
    const old = String(now / 1000 - 301);
    expect(check({ timestamp: old, signature: signSlackRequest(secret, Number(old), body.toString()) }).ok).toBe(false);
    const future = String(now / 1000 + 301);
    expect(check({ timestamp: future, signature: signSlackRequest(secret, Number(future), body.toString()) }).ok).toBe(false);
    expect(check({ timestamp: undefined }).ok).toBe(false);
    expect(check({ signature: undefined }).ok).toBe(false);
    expect(check({ timestamp: '12ab' }).ok).toBe(false);
    expect(check({ signature: 'v1=' + sig.slice(3) }).ok).toBe(false);
    expect(check({ signature: sig.slice(0, -2) }).ok).toBe(false);
  });
});

describe('POST /slack/events', () => {
  let h: SlackHarness;
  let handoffId: number;
  let value: string;
  beforeAll(async () => {
    h = await startSlackHarness();
    const req = await exampleOf(h.baton, 'marketing_to_sdr');
    req.to = 'amelia';
    handoffId = (await h.baton.api('POST', '/api/handoffs', req)).json.id;
    const cards = await waitFor('cards', () => (h.fake.cardsFor(handoffId).length === 2 ? h.fake.cardsFor(handoffId) : undefined));
    value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.accept.slack)!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const count = async (table: string) => Number((await h.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n);
  async function snapshot() {
    await new Promise((r) => setTimeout(r, 300)); // anything a request set off has had time to happen
    return {
      events: await count('handoff_event'),
      outbox: await count('outbox_event'),
      platformEvents: await count('platform_event'),
      version: (await h.baton.service.get(handoffId, { events: false })).version,
      slackCalls: h.fake.calls.length,
      responses: h.fake.responses.length,
    };
  }

  const amelia = () => h.playbook.people.find((p) => p.id === 'amelia')!.slackUserId!;

  it.each([
    ['a bad signature', { secret: 'not-the-signing-secret' }],
    ['a timestamp 6 minutes old', { timestamp: Math.floor(Date.now() / 1000) - 360 }],
    ['a timestamp 10 minutes in the future', { timestamp: Math.floor(Date.now() / 1000) + 600 }],
    ['no signature at all', { signature: '' }],
  ])('refuses an Accept click with %s: 401 and nothing written', async (_label, opts) => {
    const before = await snapshot();
    const a = blockAction(h.fake, { user: amelia(), actionId: CARD_ACTIONS.accept.slack, value });
    const r = await postSigned(h.baton, a.body, FORM, opts);
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ error: { code: 'unauthorized', message: 'The Slack request signature is not valid.' } });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a forged slash command and a forged event the same way', async () => {
    const before = await snapshot();
    const c = slashCommand(h.fake, amelia(), 'mine');
    expect((await postSigned(h.baton, c.body, FORM, { timestamp: Math.floor(Date.now() / 1000) + 400 })).status).toBe(401);
    const e = eventCallback(h.fake, 'Ev0FORGED1', { type: 'app_home_opened', user: amelia(), channel: 'D1', tab: 'home', event_ts: '1.2' });
    expect((await postSigned(h.baton, e, 'application/json', { secret: 'wrong' })).status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });

  it('a body changed after signing is refused', async () => {
    const before = await snapshot();
    const a = blockAction(h.fake, { user: amelia(), actionId: CARD_ACTIONS.accept.slack, value });
    const ts = Math.floor(Date.now() / 1000);
    const sig = signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', ts, a.body.replace('Accept', 'Accepx'));
    expect((await postSigned(h.baton, a.body, FORM, { timestamp: ts, signature: sig })).status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });

  it('the same click correctly signed is applied (the refusals above were the signature, not the click)', async () => {
    const a = blockAction(h.fake, { user: amelia(), actionId: CARD_ACTIONS.accept.slack, value });
    expect((await postSigned(h.baton, a.body, FORM)).status).toBe(200);
    await waitFor('accepted', async () => (await h.baton.service.get(handoffId, { events: false })).status === 'accepted');
  });

  it('answers Slack\'s URL verification challenge (signed) and its unsigned ssl_check', async () => {
    const challenge = JSON.stringify({ token: 't', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
    const r = await postSigned(h.baton, challenge, 'application/json');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    expect((await postSigned(h.baton, challenge, 'application/json', { secret: 'wrong' })).status).toBe(401);
    const ssl = await fetch(`${h.baton.url}/slack/events`, { method: 'POST', headers: { 'content-type': FORM }, body: 'ssl_check=1&token=x' });
    expect(ssl.status).toBe(200);
  });

  it('a signed body that is not JSON is a 400, not a crash', async () => {
    const r = await postSigned(h.baton, '{"type":', 'application/json');
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('malformed_request');
  });
});
