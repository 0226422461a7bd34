/**
 * botbuilder's authentication settings, under botbuilder's own names, taken from the environment
 * so operators of sovereign clouds (and the local tests) can point every endpoint elsewhere.
 * The MICROSOFT_APP_* variables (validated in src/config.ts) become MicrosoftAppId etc.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import { MsalServiceClientCredentialsFactory, type ServiceClientCredentialsFactory } from 'botframework-connector';
import type { Config } from '../../src/config.js';
import { ConfigError, type ErrorDetail } from '../../src/errors.js';

/**
 * Once any of these is set botbuilder uses all of them literally (an unset one becomes
 * undefined, not its public-cloud default), so they must be set together.
 */
export const ENDPOINT_SETTINGS = [
  'ToBotFromChannelOpenIdMetadataUrl',
  'ToBotFromChannelTokenIssuer',
  'ToBotFromEmulatorOpenIdMetadataUrl',
  'ToChannelFromBotLoginUrl',
  'ToChannelFromBotOAuthScope',
  'OAuthUrl',
  'CallerId',
] as const;

/** Without these, an endpoint-overriding configuration cannot authenticate or send anything. */
const REQUIRED_TOGETHER = ['ToBotFromChannelOpenIdMetadataUrl', 'ToBotFromChannelTokenIssuer', 'ToChannelFromBotLoginUrl', 'ToChannelFromBotOAuthScope', 'OAuthUrl'] as const;

/** Other botbuilder settings passed through when present. */
const OTHER_SETTINGS = ['ChannelService', 'ValidateAuthority', 'CertificateThumbprint', 'CertificatePrivateKey'] as const;

/** Public and sovereign Microsoft Entra login hosts; MSAL handles these itself. */
const MICROSOFT_LOGIN_HOSTS = /^login\.(microsoftonline\.(com|us|de)|chinacloudapi\.cn|partner\.microsoftonline\.cn|windows\.net|microsoft\.com)$/i;

export type TeamsConfig = NonNullable<Config['teams']>;
export type BotbuilderSettings = ConfigurationBotFrameworkAuthenticationOptions;

export function botbuilderSettings(teams: TeamsConfig, env: NodeJS.ProcessEnv): BotbuilderSettings {
  const settings: BotbuilderSettings = {
    MicrosoftAppId: teams.appId,
    MicrosoftAppType: teams.appType,
    ...(teams.appPassword ? { MicrosoftAppPassword: teams.appPassword } : {}),
    ...(teams.tenantId ? { MicrosoftAppTenantId: teams.tenantId } : {}),
  };
  const details: ErrorDetail[] = [];
  const present = ENDPOINT_SETTINGS.filter((k) => env[k]?.trim());
  for (const k of [...ENDPOINT_SETTINGS, ...OTHER_SETTINGS]) {
    const v = env[k]?.trim();
    if (v) settings[k] = v;
  }
  if (present.length) {
    for (const k of REQUIRED_TOGETHER) {
      if (!settings[k]) details.push({ path: k, message: `is required when ${present.join(', ')} ${present.length === 1 ? 'is' : 'are'} set: botbuilder then uses every endpoint setting literally` });
    }
  }
  for (const k of ENDPOINT_SETTINGS) {
    const v = settings[k];
    if (typeof v === 'string' && k !== 'ToBotFromChannelTokenIssuer' && k !== 'CallerId' && k !== 'ToChannelFromBotOAuthScope' && !/^https?:\/\//.test(v)) {
      details.push({ path: k, message: 'must be an http(s) URL' });
    }
  }
  if (details.length) throw new ConfigError(details);
  return settings;
}

/**
 * The stock credentials go through MSAL, which refuses an http login URL and asks Microsoft's
 * instance discovery about any other host. For a login URL that is not a Microsoft host (a
 * private cloud, or the local token endpoint in tests), give MSAL the authority's metadata
 * directly: it then only POSTs the client-credentials request to `<loginUrl>/oauth2/v2.0/token`.
 * Returns undefined when botbuilder's own factory applies.
 */
export function customLoginCredentials(settings: BotbuilderSettings): ServiceClientCredentialsFactory | undefined {
  const loginUrl = typeof settings.ToChannelFromBotLoginUrl === 'string' ? settings.ToChannelFromBotLoginUrl.replace(/\/+$/, '') : undefined;
  const appId = settings.MicrosoftAppId;
  const secret = typeof settings.MicrosoftAppPassword === 'string' ? settings.MicrosoftAppPassword : undefined;
  if (!loginUrl || !appId || !secret) return undefined;
  const url = new URL(loginUrl);
  if (MICROSOFT_LOGIN_HOSTS.test(url.hostname)) return undefined;
  const tenant = url.pathname.replace(/^\/+/, '') || 'botframework.com';
  const authority = `https://${url.host}/${tenant}`;
  const client = new ConfidentialClientApplication({
    auth: {
      clientId: appId,
      clientSecret: secret,
      authority,
      knownAuthorities: [url.host],
      authorityMetadata: JSON.stringify({
        token_endpoint: `${loginUrl}/oauth2/v2.0/token`,
        authorization_endpoint: `${loginUrl}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${loginUrl}/oauth2/v2.0/logout`,
        issuer: `${authority}/v2.0`,
        jwks_uri: `${loginUrl}/discovery/v2.0/keys`,
      }),
    },
  });
  // botframework-connector types MSAL's CommonJS build; this module loads the ESM build of the
  // same version. The factory only calls acquireTokenByClientCredential, identical in both.
  return new MsalServiceClientCredentialsFactory(appId, client as unknown as ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1]);
}
