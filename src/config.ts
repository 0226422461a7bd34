/**
 * Environment configuration, validated once at start-up. Every problem is reported at once
 * (ConfigError lists them all) so an operator fixes the environment in one pass.
 */
import { z } from 'zod';
import { resolve } from 'node:path';
import { ConfigError, type ErrorDetail } from './errors.js';
import { apiTokenProblem } from './apiToken.js';
import { logFormats, type LogFormat } from './logger.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/** Every environment variable Baton reads; test/docs checks the README table and .env.example against it. */
export const envSchema = z.object({
  PORT: z.coerce.number().int('must be a whole number').min(0).max(65535, 'must be a port number (0–65535)').default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'must start with postgresql:// (leave it unset to use the embedded database)',
  }),
  BATON_DATA_DIR: optionalString,
  // Not trimmed, and set-but-empty is an error rather than "unset": a token is used exactly as
  // given, and a blank one must never fall back to something the deployer did not choose.
  BATON_API_TOKEN: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = v === undefined ? undefined : apiTokenProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  BATON_PLAYBOOK: z.string().default('playbook.yml'),
  LOG_LEVEL: z.enum(logLevels, { message: `must be one of ${logLevels.join(', ')}` }).default('info'),
  /** Unset: pretty lines when stdout is a terminal, JSON otherwise. */
  LOG_FORMAT: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(logFormats, { message: `must be one of ${logFormats.join(', ')} (unset: pretty in a terminal, json otherwise)` }))
    .optional(),
  NODE_ENV: z.string().default('development'),
  /** Public base URL, used in links inside cards and digests. */
  BATON_PUBLIC_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  // Slack (bots/slack): all optional; Slack stays off without a bot token and signing secret.
  SLACK_BOT_TOKEN: optionalString.refine((v) => v === undefined || /^xoxb-/.test(v), { message: 'must be a bot token starting with xoxb-' }),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString.refine((v) => v === undefined || /^xapp-/.test(v), { message: 'must be an app-level token starting with xapp- (Socket Mode)' }),
  SLACK_API_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an http(s) URL ending in /api/' }),
  /**
   * The Slack workspace Baton serves (T…). Clicks and commands from any other workspace (a Slack
   * Connect channel's external members) are treated as from someone unknown. Default: the bot
   * token's own workspace, learned from auth.test at start.
   */
  SLACK_TEAM_ID: optionalString.refine((v) => v === undefined || /^[TE][A-Z0-9]{2,}$/.test(v), { message: 'must be a Slack workspace id such as T0123ABCD (auth.test → team_id)' }),
  // Microsoft Teams (bots/teams): botbuilder's own names. Teams stays off without an app id.
  MICROSOFT_APP_ID: optionalString,
  MICROSOFT_APP_PASSWORD: optionalString,
  MICROSOFT_APP_TENANT_ID: optionalString,
  MICROSOFT_APP_TYPE: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI'], { message: 'must be MultiTenant, SingleTenant or UserAssignedMSI' }).optional(),
  /** Further Microsoft 365 tenants (comma-separated ids) served besides MICROSOFT_APP_TENANT_ID. */
  BATON_TEAMS_TENANTS: optionalString,
  // CRM webhooks (src/webhooks): each stays off (503 naming the variable) until its secret is set.
  /** The HubSpot app's client secret: the key of HubSpot's v3 request signature. */
  HUBSPOT_CLIENT_SECRET: optionalString,
  /** Shared secret a Salesforce Flow / Apex callout signs its requests with. */
  SALESFORCE_WEBHOOK_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters (e.g. openssl rand -hex 32)',
  }),
  /** The local console at /console (bots/console): on by default in development, off in production unless "on". */
  BATON_CONSOLE: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['on', 'off'], { message: 'must be "on" or "off"' }))
    .optional(),
  /** How often the outbox is polled for deliveries (ms). New events also wake it at once. */
  BATON_OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(60000).default(1000),
  /**
   * How long a claimed delivery is held without renewal (ms). The holder renews it every third of
   * this; a process that dies loses its deliveries to a survivor this long after its last renewal.
   */
  BATON_DELIVERY_LEASE_MS: z.coerce.number().int('must be a whole number').min(300, 'must be at least 300 ms').max(600_000).default(15_000),
  /** On SIGTERM, the longest Baton takes to finish or give back what it holds before it exits (ms). */
  BATON_SHUTDOWN_GRACE_MS: z.coerce.number().int('must be a whole number').min(0).max(600_000).default(10_000),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  apiToken: string | undefined;
  playbookPath: string;
  logLevel: (typeof logLevels)[number];
  /** LOG_FORMAT; undefined = decided by the output (pretty on a terminal, json otherwise). */
  logFormat: LogFormat | undefined;
  production: boolean;
  publicUrl: string | undefined;
  outboxPollMs: number;
  /** BATON_DELIVERY_LEASE_MS: the lease of a claimed outbox delivery (src/outboxLeases.ts). */
  deliveryLeaseMs: number;
  /** BATON_SHUTDOWN_GRACE_MS: how long a SIGTERM may take before the process exits anyway. */
  shutdownGraceMs: number;
  slack: { botToken: string; signingSecret: string; appToken: string | undefined; apiUrl: string | undefined; teamId?: string | undefined } | undefined;
  teams:
    | {
        appId: string;
        appPassword: string | undefined;
        tenantId: string | undefined;
        appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
        /** The Microsoft 365 tenants served (lower-case GUIDs, the home tenant first): activities from any other are refused. */
        tenants: string[];
      }
    | undefined;
  /** Signing secrets of the CRM webhooks under their default variable names; undefined = that webhook is off. */
  crm: { hubspotClientSecret: string | undefined; salesforceWebhookSecret: string | undefined };
  /** Whether the local console (bots/console) is served at /console: BATON_CONSOLE, else on outside production. */
  console: boolean;
  /** The raw environment, for adapters that pass their SDK's own settings through (botbuilder). */
  env: NodeJS.ProcessEnv;
}

/** Names whose values must never appear in logs or error messages. */
export const secretEnvNames = ['DATABASE_URL', 'BATON_API_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'MICROSOFT_APP_PASSWORD', 'HUBSPOT_CLIENT_SECRET', 'SALESFORCE_WEBHOOK_SECRET'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(env);
  const details: ErrorDetail[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // The message never echoes the value: some of these variables are secrets.
      details.push({ path: String(issue.path[0] ?? 'environment'), message: issue.message });
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  if (e && e.NODE_ENV === 'production' && !e.BATON_API_TOKEN) {
    details.push({ path: 'BATON_API_TOKEN', message: 'is required when NODE_ENV=production (the bearer token for /api/*)' });
  }
  if (e) {
    if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET) details.push({ path: 'SLACK_SIGNING_SECRET', message: 'is required with SLACK_BOT_TOKEN (Basic Information → App Credentials)' });
    if (!e.SLACK_BOT_TOKEN && e.SLACK_SIGNING_SECRET) details.push({ path: 'SLACK_BOT_TOKEN', message: 'is required with SLACK_SIGNING_SECRET (OAuth & Permissions → Bot User OAuth Token)' });
    if (e.SLACK_APP_TOKEN && !e.SLACK_BOT_TOKEN) details.push({ path: 'SLACK_BOT_TOKEN', message: 'is required with SLACK_APP_TOKEN' });
    const appType = e.MICROSOFT_APP_TYPE ?? (e.MICROSOFT_APP_TENANT_ID ? 'SingleTenant' : 'MultiTenant');
    if (e.MICROSOFT_APP_ID && appType !== 'UserAssignedMSI' && !e.MICROSOFT_APP_PASSWORD) details.push({ path: 'MICROSOFT_APP_PASSWORD', message: 'is required with MICROSOFT_APP_ID (the bot\'s client secret)' });
    if (e.MICROSOFT_APP_ID && appType === 'SingleTenant' && !e.MICROSOFT_APP_TENANT_ID) details.push({ path: 'MICROSOFT_APP_TENANT_ID', message: 'is required when MICROSOFT_APP_TYPE=SingleTenant' });
    if (!e.MICROSOFT_APP_ID && (e.MICROSOFT_APP_PASSWORD || e.MICROSOFT_APP_TENANT_ID)) details.push({ path: 'MICROSOFT_APP_ID', message: 'is required when other MICROSOFT_APP_* variables are set' });
    details.push(...tenantProblems(e));
  }
  if (details.length || !e) throw new ConfigError(details);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(cwd, e.BATON_DATA_DIR ?? '.baton-data'),
    apiToken: e.BATON_API_TOKEN,
    playbookPath: resolve(cwd, e.BATON_PLAYBOOK),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    production: e.NODE_ENV === 'production',
    publicUrl: e.BATON_PUBLIC_URL,
    outboxPollMs: e.BATON_OUTBOX_POLL_MS,
    deliveryLeaseMs: e.BATON_DELIVERY_LEASE_MS,
    shutdownGraceMs: e.BATON_SHUTDOWN_GRACE_MS,
    slack: e.SLACK_BOT_TOKEN && e.SLACK_SIGNING_SECRET ? { botToken: e.SLACK_BOT_TOKEN, signingSecret: e.SLACK_SIGNING_SECRET, appToken: e.SLACK_APP_TOKEN, apiUrl: e.SLACK_API_URL, teamId: e.SLACK_TEAM_ID } : undefined,
    teams: e.MICROSOFT_APP_ID
      ? {
          appId: e.MICROSOFT_APP_ID,
          appPassword: e.MICROSOFT_APP_PASSWORD,
          tenantId: e.MICROSOFT_APP_TENANT_ID,
          appType: e.MICROSOFT_APP_TYPE ?? (e.MICROSOFT_APP_TENANT_ID ? 'SingleTenant' : 'MultiTenant'),
          tenants: servedTenants(e),
        }
      : undefined,
    crm: { hubspotClientSecret: e.HUBSPOT_CLIENT_SECRET, salesforceWebhookSecret: e.SALESFORCE_WEBHOOK_SECRET },
    console: e.BATON_CONSOLE ? e.BATON_CONSOLE === 'on' : e.NODE_ENV !== 'production',
    env,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tenantList(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** MICROSOFT_APP_TENANT_ID first, then BATON_TEAMS_TENANTS; lower-cased (Teams sends them lower-case) and de-duplicated. */
function servedTenants(e: Env): string[] {
  return [...new Set([...tenantList(e.MICROSOFT_APP_TENANT_ID), ...tenantList(e.BATON_TEAMS_TENANTS)].map((t) => t.toLowerCase()))];
}

/**
 * A Teams bot is reachable from any Microsoft 365 tenant that installs its app (a multi-tenant
 * app registration, or a sideloaded manifest), so the tenants it serves must be named: without
 * them anyone anywhere could talk to it. Tenant ids are GUIDs; anything else is a typo (or a
 * domain name, which Teams never sends) that would refuse every activity.
 */
function tenantProblems(e: Env): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  if (!e.MICROSOFT_APP_ID) {
    if (e.BATON_TEAMS_TENANTS) details.push({ path: 'MICROSOFT_APP_ID', message: 'is required when BATON_TEAMS_TENANTS is set (the tenants only matter with Teams on)' });
    return details;
  }
  for (const name of ['MICROSOFT_APP_TENANT_ID', 'BATON_TEAMS_TENANTS'] as const) {
    const bad = tenantList(e[name]).filter((t) => !GUID.test(t));
    // A tenant id is not a secret: naming the bad entry lets the operator find it.
    if (bad.length) details.push({ path: name, message: `must be Microsoft 365 tenant ids (GUIDs like 72f988bf-86f1-41af-91ab-2d7cd011db47); not one: ${bad.map((b) => JSON.stringify(b.slice(0, 80))).join(', ')}` });
  }
  if (!servedTenants(e).length) {
    details.push({
      path: 'BATON_TEAMS_TENANTS',
      message: 'name the Microsoft 365 tenant(s) Baton serves in MICROSOFT_APP_TENANT_ID and/or BATON_TEAMS_TENANTS (comma-separated): with Teams on and no tenant named, any tenant could use the bot',
    });
  }
  return details;
}
