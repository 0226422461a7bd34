/**
 * Drives a real Baton with the Teams plugin over HTTP, the way Teams would: activities with a
 * token signed by the fake Bot Framework, sent to /api/messages. The fake connector records
 * everything the bot sends back.
 */
import { randomBytes } from 'node:crypto';
import { teamsPlugin } from '../../../bots/teams/plugin.js';
import { startTestBaton, type TestBaton } from '../../helpers/baton.js';
import { FakeBotConnector, type TokenOptions } from '../../fakes/botConnector.js';
import type { BatonOptions } from '../../../src/app.js';

export const APP_ID = 'b470b470-0000-4000-8000-00000000b470';
export const APP_PASSWORD = 'fake-client-secret';
export const TENANT = '72f988bf-0000-4000-8000-000000000001';
export const BOT_ID = `28:${APP_ID}`;

export interface TeamsUser {
  id: string;
  name: string;
  aadObjectId?: string | undefined;
}

export interface TeamsTestRig {
  baton: TestBaton;
  fake: FakeBotConnector;
  /** POSTs an activity with a valid token (or `token` as given; null sends no header). */
  post(activity: Record<string, unknown>, token?: string | null): Promise<{ status: number; json: any; text: string }>;
  token(o?: TokenOptions): string;
  stop(): Promise<void>;
}

export async function startTeamsRig(overrides: Partial<BatonOptions> & { env?: Record<string, string> } = {}): Promise<TeamsTestRig> {
  const fake = await FakeBotConnector.start();
  let baton: TestBaton;
  try {
    baton = await startTestBaton({ ...overrides, plugins: [teamsPlugin], env: { ...fake.env(APP_ID, APP_PASSWORD, [TENANT]), ...overrides.env } });
  } catch (err) {
    await fake.close();
    throw err;
  }
  const token = (o: TokenOptions = {}) => fake.issueToken(APP_ID, o);
  return {
    baton,
    fake,
    token,
    post(activity, given) {
      return postActivity(baton.url, activity, given === null ? undefined : given ?? token());
    },
    async stop() {
      await baton.stop();
      await fake.close();
    },
  };
}

/** POSTs a Bot Framework activity to Baton's /api/messages, as the Bot Connector does (with `auth` as its bearer token). */
export async function postActivity(batonUrl: string, activity: unknown, auth: string | undefined): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(`${batonUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify(activity),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

let seq = 0;
function activityId(): string {
  seq += 1;
  return `${1_716_100_000_000 + seq}`;
}

function base(fake: FakeBotConnector, from: TeamsUser) {
  return {
    id: activityId(),
    timestamp: new Date().toISOString(),
    serviceUrl: fake.serviceUrl,
    channelId: 'msteams',
    from: { id: from.id, name: from.name, ...(from.aadObjectId ? { aadObjectId: from.aadObjectId } : {}) },
    recipient: { id: BOT_ID, name: 'Baton' },
    locale: 'en-US',
  };
}

/** The personal chat id Teams gives a user and the bot. */
export function personalChatId(user: TeamsUser): string {
  return `a:1${Buffer.from(user.id).toString('base64url').slice(0, 40)}`;
}

export function personalConversation(user: TeamsUser) {
  return { conversationType: 'personal', tenantId: TENANT, id: personalChatId(user) };
}

export function personalMessage(fake: FakeBotConnector, from: TeamsUser, text: string): Record<string, unknown> {
  return {
    ...base(fake, from),
    type: 'message',
    text,
    textFormat: 'plain',
    conversation: personalConversation(from),
    channelData: { tenant: { id: TENANT } },
  };
}

export function channelMessage(fake: FakeBotConnector, from: TeamsUser, channelId: string, teamId: string, text: string, mentions: { id: string; name: string }[] = [{ id: BOT_ID, name: 'Baton' }]): Record<string, unknown> {
  return {
    ...base(fake, from),
    type: 'message',
    text,
    textFormat: 'plain',
    conversation: { isGroup: true, conversationType: 'channel', tenantId: TENANT, id: `${channelId};messageid=${activityId()}` },
    entities: mentions.map((m) => ({ type: 'mention', text: `<at>${m.name}</at>`, mentioned: { id: m.id, name: m.name } })),
    channelData: { teamsChannelId: channelId, teamsTeamId: teamId, channel: { id: channelId }, team: { id: teamId }, tenant: { id: TENANT } },
  };
}

export function personalInstall(fake: FakeBotConnector, from: TeamsUser): Record<string, unknown> {
  return {
    ...base(fake, from),
    type: 'conversationUpdate',
    membersAdded: [{ id: BOT_ID }],
    conversation: personalConversation(from),
    channelData: { tenant: { id: TENANT } },
  };
}

export function teamInstall(fake: FakeBotConnector, from: TeamsUser, teamId: string): Record<string, unknown> {
  return {
    ...base(fake, from),
    type: 'conversationUpdate',
    membersAdded: [{ id: BOT_ID }],
    conversation: { isGroup: true, conversationType: 'channel', tenantId: TENANT, id: teamId },
    channelData: { team: { id: teamId, name: 'A team' }, eventType: 'teamMemberAdded', tenant: { id: TENANT } },
  };
}

/** A Universal Action click on a card the bot posted in `conversation`. */
export function cardAction(fake: FakeBotConnector, from: TeamsUser, verb: string, data: Record<string, unknown>, conversation: Record<string, unknown> = personalConversation(from), replyToId?: string): Record<string, unknown> {
  return {
    ...base(fake, from),
    type: 'invoke',
    name: 'adaptiveCard/action',
    value: { action: { type: 'Action.Execute', verb, data }, trigger: verb === 'handoff.refresh' ? 'automatic' : 'manual' },
    conversation,
    ...(replyToId ? { replyToId } : {}),
    channelData: { tenant: { id: TENANT }, source: { name: 'message' } },
  };
}

export function randomUserId(): string {
  return `29:1${randomBytes(20).toString('base64url')}`;
}

/** Waits until `check` returns a truthy value (polling), or fails with `what`. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const started = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The Adaptive Card inside a recorded send/update/reply body. */
export function cardOf(body: any): any {
  return body?.attachments?.find((a: any) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
}
