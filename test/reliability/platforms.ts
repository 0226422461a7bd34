/**
 * A Baton with both platform adapters pointed at local fakes, each behind a FaultProxy so a test
 * can take "Slack" or "Teams" down while handoffs keep coming in.
 */
import { createSlackPlugin, type SlackPluginOptions } from '../../bots/slack/plugin.js';
import { teamsPlugin } from '../../bots/teams/plugin.js';
import { signSlackRequest } from '../../bots/slack/verify.js';
import { FakeSlackApi } from '../fakes/slackApi.js';
import { FakeBotConnector } from '../fakes/botConnector.js';
import { postActivity } from '../bots/teams/helpers.js';
import { startTestBaton, type TestBaton } from '../helpers/baton.js';
import type { BatonOptions } from '../../src/app.js';
import type { Playbook } from '../../src/playbook/schema.js';
import { FaultProxy } from './helpers.js';
import { teamsUser } from './playbook.js';

export const SIGNING_SECRET = 'rel-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-rel-0000-fake-token';
export const APP_ID = 'b470b470-0000-4000-8000-0000000fa017';
export const APP_PASSWORD = 'rel-client-secret';
export const TENANT = '72f988bf-0000-4000-8000-00000000fa17';
export const BOT_ID = `28:${APP_ID}`;

export interface PlatformRig {
  baton: TestBaton;
  slack: FakeSlackApi;
  slackProxy: FaultProxy;
  teams: FakeBotConnector;
  teamsProxy: FaultProxy;
  /** The serviceUrl Baton learns from activities: the proxy in front of the fake connector. */
  serviceUrl: string;
  playbook: Playbook;
  /** POSTs a signed Slack request to /slack/events. */
  slackPost(rawBody: string, contentType: string, opts?: { timestamp?: number; secret?: string; signature?: string | null; headers?: Record<string, string> }): Promise<{ status: number; text: string }>;
  /** POSTs a Teams activity with a valid token (or the given one; null: no Authorization header). */
  teamsPost(activity: Record<string, unknown>, token?: string | null): Promise<{ status: number; json: any }>;
  teamsToken(o?: Parameters<FakeBotConnector['issueToken']>[1]): string;
  stop(): Promise<void>;
}

export async function startPlatformRig(opts: { playbook: Playbook; slack?: SlackPluginOptions; baton?: Partial<BatonOptions> & { env?: Record<string, string> }; platforms?: ('slack' | 'teams')[] }): Promise<PlatformRig> {
  const platforms = opts.platforms ?? ['slack', 'teams'];
  const slack = await new FakeSlackApi({ token: BOT_TOKEN, users: opts.playbook.people.filter((p) => p.slackUserId).map((p) => ({ id: p.slackUserId!, email: p.email, name: p.name })) }).start();
  const slackProxy = await new FaultProxy(slack.url).start();
  const teams = await FakeBotConnector.start();
  const teamsProxy = await new FaultProxy(teams.url).start();
  const serviceUrl = `${teamsProxy.url}/amer/`;
  const env: Record<string, string> = {
    ...(platforms.includes('slack') ? { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: `${slackProxy.url}/api/` } : {}),
    ...(platforms.includes('teams') ? teams.env(APP_ID, APP_PASSWORD, [TENANT]) : {}),
    ...opts.baton?.env,
  };
  const plugins = [
    ...(platforms.includes('slack') ? [createSlackPlugin({ postIntervalMs: 5, requestTimeoutMs: 1000, userCacheMs: 600_000, ...opts.slack })] : []),
    ...(platforms.includes('teams') ? [teamsPlugin] : []),
    // Others beside them (the console), from the caller.
    ...(opts.baton?.plugins ?? []),
  ];
  let baton: TestBaton;
  try {
    baton = await startTestBaton({ ...opts.baton, playbook: opts.playbook, plugins, env });
  } catch (err) {
    await Promise.all([slackProxy.stop(), slack.stop(), teamsProxy.stop(), teams.close()]);
    throw err;
  }
  const teamsToken = (o: Parameters<FakeBotConnector['issueToken']>[1] = {}) => teams.issueToken(APP_ID, { serviceUrl, ...o });
  return {
    baton,
    slack,
    slackProxy,
    teams,
    teamsProxy,
    serviceUrl,
    playbook: opts.playbook,
    teamsToken,
    async slackPost(rawBody, contentType, o = {}) {
      const ts = o.timestamp ?? Math.floor(Date.now() / 1000);
      const signature = o.signature === undefined ? signSlackRequest(o.secret ?? SIGNING_SECRET, ts, rawBody) : o.signature;
      const res = await fetch(`${baton.url}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': contentType, 'x-slack-request-timestamp': String(ts), ...(signature === null ? {} : { 'x-slack-signature': signature }), ...o.headers },
        body: rawBody,
      });
      return { status: res.status, text: await res.text() };
    },
    async teamsPost(activity, given) {
      const { status, json } = await postActivity(baton.url, activity, given === null ? undefined : (given ?? teamsToken()));
      return { status, json };
    },
    async stop() {
      await baton.stop();
      await Promise.all([slackProxy.stop(), slack.stop(), teamsProxy.stop(), teams.close()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Slack payloads

export const FORM = 'application/x-www-form-urlencoded';
let seq = 0;

/** A block_actions body for a button on a message in `channel`; refusals come back on `responseKey`. */
export function slackClick(rig: PlatformRig, args: { user: string; actionId: string; value: string; channel?: string }): { body: string; responseKey: string } {
  const n = ++seq;
  const channel = args.channel ?? 'C0REL0001';
  const payload = {
    type: 'block_actions',
    user: { id: args.user, username: args.user.toLowerCase(), name: args.user.toLowerCase(), team_id: rig.slack.teamId },
    api_app_id: 'ABATONAPP1',
    token: 'legacy-verification-token',
    trigger_id: `${n}.98765.trigger`,
    team: { id: rig.slack.teamId, domain: 'rel' },
    enterprise: null,
    is_enterprise_install: false,
    container: { type: 'message', message_ts: '1.000001', channel_id: channel, is_ephemeral: false },
    channel: { id: channel, name: 'rel' },
    message: { type: 'message', ts: '1.000001', text: 'card', user: rig.slack.botUserId },
    response_url: rig.slack.responseUrl(`click-${n}`),
    actions: [{ type: 'button', action_id: args.actionId, block_id: 'handoff_actions', text: { type: 'plain_text', text: 'x', emoji: true }, value: args.value, action_ts: `${Date.now() / 1000}` }],
  };
  return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), responseKey: `click-${n}` };
}

/** A view_submission body (reject / reassign modal). */
export function slackSubmit(rig: PlatformRig, args: { user: string; callbackId: string; privateMetadata: string; values: Record<string, Record<string, unknown>> }): string {
  const n = ++seq;
  const payload = {
    type: 'view_submission',
    team: { id: rig.slack.teamId, domain: 'rel' },
    user: { id: args.user, username: args.user.toLowerCase(), name: args.user.toLowerCase(), team_id: rig.slack.teamId },
    api_app_id: 'ABATONAPP1',
    token: 'legacy-verification-token',
    trigger_id: `${n}.555.trigger`,
    view: { id: `V${n}`, team_id: rig.slack.teamId, type: 'modal', callback_id: args.callbackId, private_metadata: args.privateMetadata, state: { values: args.values }, hash: '1.2', title: { type: 'plain_text', text: 'Modal' }, blocks: [], app_id: 'ABATONAPP1', bot_id: rig.slack.botId },
    response_urls: [],
    is_enterprise_install: false,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function slackEvent(rig: PlatformRig, eventId: string, event: Record<string, unknown>): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: rig.slack.teamId,
    api_app_id: 'ABATONAPP1',
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: rig.slack.teamId, user_id: rig.slack.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
}

// ---------------------------------------------------------------------------------------------
// Teams activities

let activitySeq = 0;
function base(rig: PlatformRig, from: { id: string; name: string }) {
  activitySeq += 1;
  return {
    id: `${1_716_200_000_000 + activitySeq}`,
    timestamp: new Date().toISOString(),
    serviceUrl: rig.serviceUrl,
    channelId: 'msteams',
    from,
    recipient: { id: BOT_ID, name: 'Baton' },
    locale: 'en-US',
  };
}

export function teamsPersonal(user: { id: string }) {
  return { conversationType: 'personal', tenantId: TENANT, id: `a:1${Buffer.from(user.id).toString('base64url')}` };
}

/**
 * A rig for the whole test file: started in beforeAll with Baton installed in Teams (by the admin,
 * so Baton knows the service URL), stopped in afterAll. The returned object forwards to that rig.
 */
export function useInstalledRig(playbook: Playbook, opts: Omit<Parameters<typeof startPlatformRig>[0], 'playbook'> = {}): PlatformRig {
  let rig: PlatformRig | undefined;
  beforeAll(async () => {
    rig = await startPlatformRig({ ...opts, playbook });
    expect((await rig.teamsPost(teamsInstall(rig, teamsFrom('adam')))).status).toBe(200);
  });
  afterAll(async () => {
    await rig?.stop();
  });
  return new Proxy({} as PlatformRig, {
    get(_target, key) {
      if (!rig) throw new Error('the platform rig starts in beforeAll');
      const value = (rig as unknown as Record<string | symbol, unknown>)[key];
      return typeof value === 'function' ? value.bind(rig) : value;
    },
  });
}

/** The person's Teams identity in the reliability playbook (or a stranger's). */
export function teamsFrom(personKey: string, name = personKey): { id: string; name: string } {
  return { id: personKey.startsWith('29:') ? personKey : teamsUser(personKey), name };
}

/** The app installed in someone's personal scope (tells Baton the service URL and tenant). */
export function teamsInstall(rig: PlatformRig, from: { id: string; name: string }): Record<string, unknown> {
  return { ...base(rig, from), type: 'conversationUpdate', membersAdded: [{ id: BOT_ID }], conversation: teamsPersonal(from), channelData: { tenant: { id: TENANT } } };
}

/** A Universal Action click. */
export function teamsInvoke(rig: PlatformRig, from: { id: string; name: string }, verb: string, data: Record<string, unknown>): Record<string, unknown> {
  return {
    ...base(rig, from),
    type: 'invoke',
    name: 'adaptiveCard/action',
    value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    conversation: teamsPersonal(from),
    channelData: { tenant: { id: TENANT }, source: { name: 'message' } },
  };
}

export function teamsMessage(rig: PlatformRig, from: { id: string; name: string }, text: string): Record<string, unknown> {
  return { ...base(rig, from), type: 'message', text, textFormat: 'plain', conversation: teamsPersonal(from), channelData: { tenant: { id: TENANT } } };
}

/** The Adaptive Card inside a recorded connector body. */
export function cardOf(body: any): any {
  return body?.attachments?.find((a: any) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
}

/** `Handoff #<id> …` is how every handoff card's fallback text starts. */
export function handoffIdOfCard(card: any): number | undefined {
  const m = /^Handoff #(\d+) /.exec(card?.fallbackText ?? '');
  return m ? Number(m[1]) : undefined;
}
