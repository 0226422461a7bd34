/**
 * Drives Baton's Slack endpoint the way Slack does: signed requests (v0 HMAC of
 * `v0:{ts}:{rawBody}`) carrying slash commands (form), block_actions and view_submission
 * (form with `payload=`), and Events API callbacks (JSON).
 */
import { signSlackRequest } from '../../../bots/slack/verify.js';
import { createSlackPlugin, type SlackPluginOptions } from '../../../bots/slack/plugin.js';
import { FakeSlackApi } from '../../fakes/slackApi.js';
import { defaultPlaybook, startTestBaton, type TestBaton } from '../../helpers/baton.js';
import type { Playbook } from '../../../src/playbook/schema.js';
import type { Database } from '../../../src/store/database.js';

export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
export const BOT_TOKEN = 'xoxb-1234-5678-fake-token';

export interface SlackHarness {
  baton: TestBaton;
  fake: FakeSlackApi;
  playbook: Playbook;
  stop(): Promise<void>;
}

/** A fake Slack, then a real Baton with the Slack plugin pointed at it. */
export async function startSlackHarness(opts: { plugin?: SlackPluginOptions; playbook?: Playbook; env?: Record<string, string>; db?: Database } = {}): Promise<SlackHarness> {
  const playbook = opts.playbook ?? (await defaultPlaybook());
  const fake = await new FakeSlackApi({
    token: BOT_TOKEN,
    users: defaultPlaybookUsers(await defaultPlaybook()),
  }).start();
  let baton: TestBaton;
  try {
    baton = await startTestBaton({
      playbook,
      ...(opts.db ? { db: opts.db } : {}),
      plugins: [createSlackPlugin({ postIntervalMs: 10, requestTimeoutMs: 2000, ...opts.plugin })],
      env: { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.apiUrl, ...opts.env },
    });
  } catch (err) {
    await fake.stop();
    throw err;
  }
  return {
    baton,
    fake,
    playbook,
    async stop() {
      await baton.stop();
      await fake.stop();
    },
  };
}

/** Every playbook person as a Slack user (the fake's directory). */
export function defaultPlaybookUsers(pb: Playbook): { id: string; email: string; name: string }[] {
  return pb.people.filter((p) => p.slackUserId).map((p) => ({ id: p.slackUserId!, email: p.email, name: p.name }));
}

export interface SlackPost {
  status: number;
  text: string;
  json: any;
  ms: number;
}

/** POSTs a body to /slack/events signed as Slack signs it (or with the given bad parts). */
export async function postSigned(
  baton: TestBaton,
  rawBody: string,
  contentType: string,
  opts: { timestamp?: number; secret?: string; signature?: string; headers?: Record<string, string> } = {},
): Promise<SlackPost> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = opts.signature ?? signSlackRequest(opts.secret ?? SIGNING_SECRET, ts, rawBody);
  const started = performance.now();
  const res = await fetch(`${baton.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature, ...opts.headers },
    body: rawBody,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, ms };
}

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM = 'application/x-www-form-urlencoded';

let seq = 0;
const next = () => ++seq;

export function slashCommand(fake: FakeSlackApi, user: string, text: string): { body: string; responseKey: string } {
  const responseKey = `cmd-${next()}`;
  return {
    responseKey,
    body: form({
      token: 'legacy-verification-token',
      team_id: fake.teamId,
      team_domain: 'northwind',
      channel_id: 'C0ECEXM8EYG',
      channel_name: 'sdr',
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/handoff',
      text,
      api_app_id: 'ABATONAPP1',
      is_enterprise_install: 'false',
      response_url: fake.responseUrl(responseKey),
      trigger_id: `${next()}.1234.abcdef`,
    }),
  };
}

/** A block_actions payload as Slack sends it for a button on a message. */
export function blockAction(
  fake: FakeSlackApi,
  args: { user: string; actionId: string; value: string; channel?: string; messageTs?: string; fromHome?: boolean },
): { body: string; responseKey: string; triggerId: string } {
  const responseKey = `act-${next()}`;
  const triggerId = `${next()}.98765.trigger`;
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: args.user, username: args.user.toLowerCase(), name: args.user.toLowerCase(), team_id: fake.teamId },
    api_app_id: 'ABATONAPP1',
    token: 'legacy-verification-token',
    trigger_id: triggerId,
    team: { id: fake.teamId, domain: 'northwind' },
    enterprise: null,
    is_enterprise_install: false,
    actions: [{ type: 'button', action_id: args.actionId, block_id: 'handoff_actions', text: { type: 'plain_text', text: 'Accept', emoji: true }, value: args.value, action_ts: `${Date.now() / 1000}` }],
  };
  if (args.fromHome) {
    payload.container = { type: 'view', view_id: 'VHOME1' };
    payload.view = { id: 'VHOME1', type: 'home', blocks: [] };
  } else {
    payload.container = { type: 'message', message_ts: args.messageTs ?? '1.000001', channel_id: args.channel ?? 'C0ECEXM8EYG', is_ephemeral: false };
    payload.channel = { id: args.channel ?? 'C0ECEXM8EYG', name: 'sdr' };
    payload.message = { type: 'message', ts: args.messageTs ?? '1.000001', text: 'card', user: fake.botUserId };
    payload.response_url = fake.responseUrl(responseKey);
  }
  return { body: form({ payload: JSON.stringify(payload) }), responseKey, triggerId };
}

/** A view_submission payload; `values` is { block_id: { action_id: state } }. */
export function viewSubmission(fake: FakeSlackApi, args: { user: string; callbackId: string; privateMetadata: string; values: Record<string, Record<string, unknown>> }): string {
  const payload = {
    type: 'view_submission',
    team: { id: fake.teamId, domain: 'northwind' },
    user: { id: args.user, username: args.user.toLowerCase(), name: args.user.toLowerCase(), team_id: fake.teamId },
    api_app_id: 'ABATONAPP1',
    token: 'legacy-verification-token',
    trigger_id: `${next()}.555.trigger`,
    view: {
      id: `V${next()}`,
      team_id: fake.teamId,
      type: 'modal',
      callback_id: args.callbackId,
      private_metadata: args.privateMetadata,
      state: { values: args.values },
      hash: '156772938.1827394',
      title: { type: 'plain_text', text: 'Modal' },
      blocks: [],
      app_id: 'ABATONAPP1',
      bot_id: fake.botId,
    },
    response_urls: [],
    is_enterprise_install: false,
  };
  return form({ payload: JSON.stringify(payload) });
}

export function eventCallback(fake: FakeSlackApi, eventId: string, event: Record<string, unknown>): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: fake.teamId,
    api_app_id: 'ABATONAPP1',
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: fake.teamId, user_id: fake.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
}

export { waitFor } from '../../helpers/wait.js';

/** The delivered example request of a transition, for intake. */
export async function exampleOf(baton: TestBaton, transition: string): Promise<any> {
  const all = (await baton.api('GET', '/api/transitions')).json as any[];
  const t = all.find((x) => x.id === transition);
  if (!t) throw new Error(`no transition ${transition}`);
  return structuredClone(t.example);
}

/** Outbox deliveries still pending for the slack consumer. */
export async function pendingSlackDeliveries(baton: TestBaton): Promise<number> {
  const rows = await baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE consumer = 'slack' AND delivered_at IS NULL AND failed_at IS NULL`);
  return Number(rows[0]!.n);
}

/** Each block's text, flattened, for assertions about what a person sees. */
export function blocksText(blocks: unknown[]): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') out.push(o.text);
      for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') walk(x);
    }
  };
  walk(blocks);
  return out.join('\n');
}

/** Action ids of the buttons on a message. */
export function buttonIds(blocks: unknown[]): string[] {
  const ids: string[] = [];
  for (const b of blocks as any[]) {
    if (b.type === 'actions') for (const e of b.elements) ids.push(e.action_id);
    if (b.accessory?.action_id) ids.push(b.accessory.action_id);
  }
  return ids;
}

export function buttonValue(blocks: unknown[], actionId: string): string | undefined {
  for (const b of blocks as any[]) {
    if (b.type === 'actions') for (const e of b.elements) if (e.action_id === actionId) return e.value;
  }
  return undefined;
}
