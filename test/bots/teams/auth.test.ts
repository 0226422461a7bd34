/**
 * Bot Framework authentication at /api/messages, against locally served OpenID metadata and keys:
 * every bad token is a 401 with nothing written and nothing sent; a token signed by the published
 * key for this app and service URL is accepted; the bot's outbound calls carry a token from the
 * (local) Entra token endpoint. Without an app id the route does not exist at all.
 */
import { jest } from '@jest/globals';
import { PlatformStore } from '../../../src/platformStore.js';
import { systemClock } from '../../../src/clock.js';
import { pino } from 'pino';
import { teamsPlugin } from '../../../bots/teams/plugin.js';
import { FakeBotConnector } from '../../fakes/botConnector.js';
import { APP_ID, APP_PASSWORD, BOT_ID, TENANT, personalInstall, personalMessage, startTeamsRig, type TeamsTestRig } from './helpers.js';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { botbuilderSettings } from '../../../bots/teams/settings.js';

const amelia = { id: '29:1799NksnRH9ucAUsdMlHUvTCQCyEZDz_TddJ8HyS5', name: 'Amelia Hughes', aadObjectId: 'fcf00fec-b91e-49e5-afe0-9f07cefe2a1f' };

let rig: TeamsTestRig;
let store: PlatformStore;
beforeAll(async () => {
  rig = await startTeamsRig();
  store = new PlatformStore(rig.baton.db, systemClock);
});
afterAll(async () => {
  await rig?.stop();
});

async function storedRows(): Promise<number> {
  const [row] = await rig.baton.db.sql.query<{ n: string }>(`SELECT (SELECT count(*) FROM conversation_ref) + (SELECT count(*) FROM card_ref) AS n`);
  return Number(row!.n);
}

describe('refused requests: 401, nothing written, nothing sent', () => {
  // botframework-connector prints each refused key to the console; keep the test output readable.
  let quiet: jest.SpiedFunction<typeof console.error>;
  beforeAll(() => {
    quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => quiet.mockRestore());
  const cases: [string, () => string | null][] = [
    ['no Authorization header', () => null],
    ['a malformed header', () => 'not-a-jwt'],
    ['a token for another bot (wrong audience)', () => rig.token({ aud: 'someone-else' })],
    ['an expired token (beyond the 5-minute tolerance)', () => rig.token({ expiresIn: -600 })],
    ['a forged signature under the published key id', () => rig.token({ key: FakeBotConnector.otherKey() })],
    ['an unsigned token (alg: none)', () => rig.token({ alg: 'none' })],
    ['a token not valid yet (nbf in the future)', () => rig.token({ notBefore: 3600 })],
    ['a token for another service URL', () => rig.token({ serviceUrl: 'https://smba.trafficmanager.net/emea/' })],
    ['a token from another issuer', () => rig.token({ iss: 'https://sts.windows.net/evil/' })],
    ['an unknown signing key id', () => rig.token({ kid: 'unknown-kid' })],
  ];
  it.each(cases)('%s', async (_name, token) => {
    const before = rig.fake.calls.length;
    const res = await rig.post(personalInstall(rig.fake, amelia), token());
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: 'unauthorized', message: 'The request is not signed by the Bot Framework for this bot.' } });
    expect(await storedRows()).toBe(0);
    expect(rig.fake.calls.length).toBe(before);
  });

  it('a valid token whose key is not endorsed for the activity\'s channel', async () => {
    const res = await rig.post({ ...personalInstall(rig.fake, amelia), channelId: 'webchat' });
    expect(res.status).toBe(401);
    expect(await storedRows()).toBe(0);
  });
});

describe('the accepted path', () => {
  it('a locally issued token for this app and service URL is accepted; the reply carries a token from the token endpoint', async () => {
    rig.fake.reset();
    const res = await rig.post(personalMessage(rig.fake, amelia, 'help'));
    expect(res.status).toBe(200);
    const [reply] = rig.fake.ok('reply');
    expect(reply).toBeDefined();
    // Outbound: client credentials for this app, scoped to the Bot Framework, from the local endpoint…
    expect(rig.fake.tokenRequests).toEqual([{ clientId: APP_ID, clientSecret: APP_PASSWORD, scope: 'https://api.botframework.com/.default', grantType: 'client_credentials' }]);
    // …and the connector call carries exactly that token.
    expect(reply!.authorization).toBe(`Bearer ${rig.fake.issuedAccessTokens.at(-1)}`);
    expect(reply!.body.from.id).toBe(BOT_ID);
    expect(await store.conversation('teams', 'amelia')).toMatchObject({ serviceUrl: rig.fake.serviceUrl, user: { id: amelia.id } });
  });

  it('answers 405 to other methods and 400 to a body that is not an activity, without falling through to the /api router', async () => {
    const get = await fetch(`${rig.baton.url}/api/messages`);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    const bad = await rig.post({ text: 'no type' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('malformed_request');
    const notJson = await fetch(`${rig.baton.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
  });
});

describe('configuration', () => {
  it('without MICROSOFT_APP_ID the plugin is off with one log line, so /api/messages is never mounted (never an anonymous endpoint)', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const plugin = await teamsPlugin({ config: loadConfig({}), apiToken: rig.baton.apiToken, service: rig.baton.service, reports: rig.baton.reports, jobs: rig.baton.jobs, platformStore: store, db: rig.baton.db, outbox: rig.baton.outbox, clock: systemClock, log });
    expect(plugin).toBeUndefined();
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['Microsoft Teams is disabled: set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to connect it']);
  });

  it('requires botbuilder\'s endpoint settings to be set together', () => {
    const config = loadConfig({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: APP_PASSWORD, BATON_TEAMS_TENANTS: TENANT });
    expect(() => botbuilderSettings(config.teams!, { ToChannelFromBotLoginUrl: 'https://login.example/botframework.com' })).toThrow(ConfigError);
    try {
      botbuilderSettings(config.teams!, { ToChannelFromBotLoginUrl: 'https://login.example/botframework.com' });
    } catch (err) {
      expect((err as ConfigError).details!.map((d) => d.path)).toEqual(['ToBotFromChannelOpenIdMetadataUrl', 'ToBotFromChannelTokenIssuer', 'ToChannelFromBotOAuthScope', 'OAuthUrl']);
    }
    expect(botbuilderSettings(config.teams!, {})).toEqual({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: APP_PASSWORD, MicrosoftAppType: 'MultiTenant' });
    const single = loadConfig({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: APP_PASSWORD, MICROSOFT_APP_TENANT_ID: TENANT });
    expect(botbuilderSettings(single.teams!, {})).toMatchObject({ MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: TENANT });
  });
});
