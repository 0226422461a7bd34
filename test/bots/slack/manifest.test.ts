/**
 * manifest.yml holds the rules Slack's manifest import enforces (no npm package ships Slack's
 * schema), and asks for exactly the bot scopes the code uses: every Web API method called in
 * bots/slack is mapped to its scope, so a new call without its scope fails here, not in production.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { AppsManifestCreateArguments } from '@slack/web-api';
import { SLACK_EVENTS_PATH } from '../../../bots/slack/receiver.js';
import { SLASH_COMMAND } from '../../../blocks/slack/commands.js';

type Manifest = AppsManifestCreateArguments['manifest'];
type BotScope = NonNullable<NonNullable<NonNullable<Manifest['oauth_config']>['scopes']>['bot']>[number];

const manifest = parse(readFileSync('manifest.yml', 'utf8')) as Manifest;
const scopes = manifest.oauth_config?.scopes?.bot ?? [];
const PLACEHOLDER_URL = `https://YOUR-BATON-HOST${SLACK_EVENTS_PATH}`;

/** Web API method → the bot scopes it needs (none for views.* and auth.test). Typed, so a misspelt scope does not compile. */
const METHOD_SCOPES: Record<string, BotScope[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.open': ['im:write'],
  // Cards live in public channels, private channels and DMs.
  'conversations.history': ['channels:history', 'groups:history', 'im:history'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history'],
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  // The digest chart (getUploadURLExternal + completeUploadExternal under the hood).
  'files.uploadV2': ['files:write'],
  'views.open': [],
  'views.publish': [],
  'auth.test': [],
};

/** Bot events → the scope each needs (null: none). */
const EVENT_SCOPES: Record<string, BotScope | null> = {
  app_home_opened: null,
  app_mention: 'app_mentions:read',
  'message.channels': 'channels:history',
  'message.groups': 'groups:history',
  'message.im': 'im:history',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('manifest.yml', () => {
  it('describes the app within Slack\'s limits', () => {
    const d = manifest.display_information;
    expect(d.name.length).toBeLessThanOrEqual(35);
    expect((d.description ?? '').length).toBeGreaterThan(0);
    expect((d.description ?? '').length).toBeLessThanOrEqual(140);
    expect((d.long_description ?? '').length).toBeGreaterThanOrEqual(175);
    expect((d.long_description ?? '').length).toBeLessThanOrEqual(4000);
    expect(d.background_color).toMatch(/^#[0-9a-fA-F]{6}$/);
  });

  it('has a bot user, because it asks for bot scopes', () => {
    expect(scopes.length).toBeGreaterThan(0);
    expect(manifest.features?.bot_user?.display_name).toMatch(/^[a-z0-9._-]{1,80}$/);
  });

  it('enables App Home with the Home tab and the Messages tab', () => {
    expect(manifest.features?.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
  });

  it('declares /handoff once, with a usage hint, the commands scope and the request URL', () => {
    const commands = manifest.features?.slash_commands ?? [];
    expect(commands.map((c) => c.command)).toEqual([SLASH_COMMAND]);
    expect(new Set(commands.map((c) => c.command)).size).toBe(commands.length);
    const c = commands[0]!;
    expect(c.command.length).toBeLessThanOrEqual(32);
    expect(c.description.length).toBeGreaterThan(0);
    expect(c.usage_hint).toContain('owner');
    expect(scopes).toContain('commands');
    expect(c.url).toBe(PLACEHOLDER_URL);
  });

  it('without Socket Mode, commands, events and interactivity all have the one request URL', () => {
    expect(manifest.settings?.socket_mode_enabled).toBe(false);
    expect(manifest.settings?.interactivity).toEqual({ is_enabled: true, request_url: PLACEHOLDER_URL });
    expect(manifest.settings?.event_subscriptions?.request_url).toBe(PLACEHOLDER_URL);
  });

  it('every subscribed bot event has its scope', () => {
    const events = manifest.settings?.event_subscriptions?.bot_events ?? [];
    expect(events).toEqual(['app_home_opened']);
    for (const e of events) {
      expect(Object.keys(EVENT_SCOPES)).toContain(e);
      const needed = EVENT_SCOPES[e];
      if (needed) expect(scopes).toContain(needed);
    }
  });

  it('asks for exactly the scopes the code uses, no more, no fewer', () => {
    const called = new Set<string>();
    for (const file of sourceFiles('bots/slack')) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/client\s*\.\s*(chat|conversations|users|views|auth)\s*\.\s*([A-Za-z]+)\s*\(/g)) called.add(`${m[1]}.${m[2]}`);
      if (/client\s*\.\s*filesUploadV2\s*\(/.test(text)) called.add('files.uploadV2');
    }
    expect([...called].sort()).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update', 'conversations.open', 'views.open', 'views.publish']));
    const needed = new Set<string>(['commands']);
    for (const method of called) {
      expect(METHOD_SCOPES).toHaveProperty([method]); // a new Web API call must be added to the map (and its scope to the manifest)
      for (const s of METHOD_SCOPES[method]!) needed.add(s);
    }
    for (const e of manifest.settings?.event_subscriptions?.bot_events ?? []) if (EVENT_SCOPES[e]) needed.add(EVENT_SCOPES[e]!);
    expect([...scopes].sort()).toEqual([...needed].sort());
    expect(new Set(scopes).size).toBe(scopes.length);
  });
});
