import { spawnSync } from 'node:child_process';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const HOME = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER = 'a1b2c3d4-0000-4000-8000-00000000beef';

describe('loadConfig', () => {
  it('applies defaults with an empty environment (the embedded database under the project)', () => {
    const c = loadConfig({}, '/srv/baton');
    expect(c).toMatchObject({ port: 3000, databaseUrl: undefined, dataDir: '/srv/baton/.baton-data', playbookPath: '/srv/baton/playbook.yml', logLevel: 'info', slack: undefined, teams: undefined });
  });

  it('lists every invalid variable at once, without echoing values', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://root:hunter2@db/x', BATON_API_TOKEN: 'short', LOG_LEVEL: 'loud', SLACK_BOT_TOKEN: 'xoxb-1' });
      throw new Error('expected ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const err = e as ConfigError;
      expect(err.details!.map((d) => d.path).sort()).toEqual(['BATON_API_TOKEN', 'DATABASE_URL', 'LOG_LEVEL', 'PORT']);
      expect(err.userMessage).not.toContain('hunter2');
      expect(err.userMessage).toMatch(/^Baton cannot start; fix these environment variables:\n/);
    }
  });

  it('checks platform credentials as pairs', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-123' })).toThrow(/SLACK_SIGNING_SECRET: is required with SLACK_BOT_TOKEN/);
    expect(() => loadConfig({ MICROSOFT_APP_ID: 'abc' })).toThrow(/MICROSOFT_APP_PASSWORD: is required with MICROSOFT_APP_ID/);
    expect(() => loadConfig({ MICROSOFT_APP_ID: 'abc', MICROSOFT_APP_PASSWORD: 'p', MICROSOFT_APP_TYPE: 'SingleTenant' })).toThrow(/MICROSOFT_APP_TENANT_ID: is required/);
    const ok = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-123', SLACK_SIGNING_SECRET: 's', MICROSOFT_APP_ID: 'abc', MICROSOFT_APP_PASSWORD: 'p', MICROSOFT_APP_TENANT_ID: HOME });
    expect(ok.slack).toEqual({ botToken: 'xoxb-123', signingSecret: 's', appToken: undefined, apiUrl: undefined });
    expect(ok.teams).toMatchObject({ appId: 'abc', appType: 'SingleTenant', tenantId: HOME, tenants: [HOME] });
  });
});

describe('Teams tenants', () => {
  const teams = { MICROSOFT_APP_ID: 'abc', MICROSOFT_APP_PASSWORD: 'p' };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).userMessage;
    }
    throw new Error('expected ConfigError');
  };

  it('refuses to start Teams with no tenant named, naming both variables', () => {
    const message = problems(teams);
    expect(message).toContain('MICROSOFT_APP_TENANT_ID');
    expect(message).toContain('BATON_TEAMS_TENANTS');
    expect(message).toMatch(/any tenant could use the bot/);
  });

  it('serves MICROSOFT_APP_TENANT_ID plus BATON_TEAMS_TENANTS, lower-cased and without duplicates', () => {
    const c = loadConfig({ ...teams, MICROSOFT_APP_TYPE: 'MultiTenant', MICROSOFT_APP_TENANT_ID: HOME, BATON_TEAMS_TENANTS: ` ${OTHER.toUpperCase()} ,${HOME},, ` });
    expect(c.teams!.tenants).toEqual([HOME, OTHER]);
    expect(c.teams!.appType).toBe('MultiTenant');
    // A multi-tenant app registration may serve only BATON_TEAMS_TENANTS.
    expect(loadConfig({ ...teams, BATON_TEAMS_TENANTS: OTHER }).teams).toMatchObject({ appType: 'MultiTenant', tenantId: undefined, tenants: [OTHER] });
  });

  it('refuses BATON_TEAMS_TENANTS without MICROSOFT_APP_ID', () => {
    expect(problems({ BATON_TEAMS_TENANTS: HOME })).toMatch(/MICROSOFT_APP_ID: is required when BATON_TEAMS_TENANTS is set/);
  });

  it('refuses tenant ids that are not GUIDs, saying which', () => {
    const message = problems({ ...teams, MICROSOFT_APP_TENANT_ID: 'contoso.onmicrosoft.com', BATON_TEAMS_TENANTS: `${OTHER},tenant-2` });
    expect(message).toMatch(/MICROSOFT_APP_TENANT_ID: must be Microsoft 365 tenant ids .*"contoso\.onmicrosoft\.com"/);
    expect(message).toMatch(/BATON_TEAMS_TENANTS: must be Microsoft 365 tenant ids .*"tenant-2"/);
    expect(message).not.toContain(OTHER);
  });

  it('requires an API token in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/BATON_API_TOKEN: is required when NODE_ENV=production/);
  });

  it('refuses a set but blank API token instead of treating it as unset (issue #15)', () => {
    // Before: trimmed to undefined, so development silently generated a token and production said "required".
    expect(() => loadConfig({ BATON_API_TOKEN: '' })).toThrow(/BATON_API_TOKEN: is empty/);
    expect(() => loadConfig({ NODE_ENV: 'production', BATON_API_TOKEN: '   ' })).toThrow(/BATON_API_TOKEN: is only whitespace/);
    expect(() => loadConfig({ BATON_API_TOKEN: ' abcdefghijklmnopq ' })).toThrow(/BATON_API_TOKEN: may contain only visible ASCII characters/);
  });
});

describe('the process entry', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bots/main.ts'], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 60_000 });

  it('exits non-zero with one message listing every bad variable', () => {
    const r = run({ PORT: 'x', LOG_LEVEL: 'loud' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Baton cannot start; fix these environment variables:');
    expect(r.stderr).toContain('  - PORT:');
    expect(r.stderr).toContain('  - LOG_LEVEL: must be one of');
  });

  it('exits non-zero naming BATON_API_TOKEN when it is whitespace only', () => {
    const r = run({ BATON_API_TOKEN: '\u00a0'.repeat(20) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('  - BATON_API_TOKEN: is only whitespace');
  });

  it('exits non-zero naming the path of a playbook problem', () => {
    const r = run({ BATON_PLAYBOOK: 'does-not-exist.yml', BATON_DATA_DIR: 'memory-unused', LOG_LEVEL: 'info' });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain('does-not-exist.yml');
  });
});
