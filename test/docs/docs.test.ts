/**
 * The docs say what the code does (issue 19): each check reads a fact from the code — the config
 * schema, manifest.yml, the command list, the lifecycle's statuses, the playbook loader — and fails
 * when the README, docs/slack.md or .env.example no longer say it.
 */
import { readFileSync } from 'node:fs';
import { parse, parseDocument } from 'yaml';
import { envSchema, loadConfig, type Config } from '../../src/config.js';
import { COMMAND_HELP } from '../../src/commands.js';
import { STATUSES } from '../../src/domain/lifecycle.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import { PlaybookError } from '../../src/errors.js';

const README = readFileSync('README.md', 'utf8');
const SLACK_DOC = readFileSync('docs/slack.md', 'utf8');
const MANIFEST = parse(readFileSync('manifest.yml', 'utf8')) as {
  features: { slash_commands: { command: string; usage_hint: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] } };
};

const ENV_NAMES = Object.keys(envSchema.shape).sort();
/** The schema's own defaults (the variables that have one), e.g. PORT → 3000. */
const SCHEMA_DEFAULTS: Record<string, unknown> = Object.fromEntries(Object.entries(envSchema.parse({})).filter(([, v]) => v !== undefined));
/** The command words of the chat commands: owner, mine, team, … */
const COMMAND_WORDS = COMMAND_HELP.map((c) => c.usage.split(' ')[0]!);

/** The text under a markdown heading, up to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The body rows of the markdown tables in `text`, as cells (`\|` inside a cell stays a `|`). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const isSeparator = (l: string | undefined) => l !== undefined && /^\|[\s:|-]+\|$/.test(l.trim());
  return lines
    .filter((l, i) => l.startsWith('|') && !isSeparator(l) && !isSeparator(lines[i + 1]))
    .map((l) => l.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => c.trim().replace(/\u0000/g, '|')));
}

/** The `code` spans in a piece of markdown. */
function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

/** The README's configuration table: variable → its default cell. */
function readmeConfigTable(): Map<string, string> {
  const table = new Map<string, string>();
  for (const [names = '', defaults = ''] of tableRows(section(README, '## Configuration'))) {
    for (const name of codeSpans(names)) if (/^[A-Z][A-Z0-9_]+$/.test(name)) table.set(name, defaults);
  }
  return table;
}

/** .env.example's assignments, commented out or not: name → { value, commented }. */
function envExample(): Map<string, { value: string; commented: boolean; count: number }> {
  const entries = new Map<string, { value: string; commented: boolean; count: number }>();
  for (const line of readFileSync('.env.example', 'utf8').split('\n')) {
    const m = /^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const previous = entries.get(m[2]!);
    entries.set(m[2]!, { value: m[3]!, commented: Boolean(m[1]), count: (previous?.count ?? 0) + 1 });
  }
  return entries;
}

/** A config without the raw environment it was read from, for comparing two. */
function settings(env: NodeJS.ProcessEnv): Omit<Config, 'env'> {
  const { env: _raw, ...rest } = loadConfig(env, '/srv/baton');
  return rest;
}

describe('README configuration table', () => {
  const table = readmeConfigTable();

  it('lists every variable of the config schema (src/config.ts), and no other', () => {
    expect([...table.keys()].sort()).toEqual(ENV_NAMES);
  });

  it('gives each schema default as the default', () => {
    for (const [name, value] of Object.entries(SCHEMA_DEFAULTS)) {
      expect({ name, default: table.get(name) }).toEqual({ name, default: expect.stringContaining(`\`${String(value)}\``) });
    }
  });
});

describe('.env.example', () => {
  let example: ReturnType<typeof envExample>;
  beforeAll(() => {
    example = envExample();
  });

  it('names every variable of the config schema once, and no other', () => {
    expect([...example.keys()].sort()).toEqual(ENV_NAMES);
    for (const [name, e] of example) expect({ name, count: e.count }).toEqual({ name, count: 1 });
  });

  it('leaves every line commented out, so a copy of it changes nothing until a line is uncommented', () => {
    // A set-but-empty BATON_API_TOKEN, MICROSOFT_APP_TYPE or BATON_CONSOLE is refused at start.
    for (const [name, e] of example) expect({ name, commented: e.commented }).toEqual({ name, commented: true });
  });

  it('shows each schema default as the value', () => {
    for (const [name, value] of Object.entries(SCHEMA_DEFAULTS)) expect({ name, value: example.get(name)?.value }).toEqual({ name, value: String(value) });
  });

  it('shows only values that are the defaults: uncommenting any one of them changes no setting', () => {
    const defaults = settings({});
    for (const [name, { value }] of example) {
      if (value === '') continue;
      expect({ name, settings: settings({ [name]: value }) }).toEqual({ name, settings: defaults });
    }
  });

  it('agrees with the README table on every default it shows', () => {
    const table = readmeConfigTable();
    for (const [name, { value }] of example) {
      if (value !== '') expect({ name, default: table.get(name) }).toEqual({ name, default: expect.stringContaining(`\`${value}\``) });
    }
  });
});

describe('docs/slack.md', () => {
  it('lists every bot scope of manifest.yml in its scope table, and no other', () => {
    const documented = tableRows(section(SLACK_DOC, '## 7. Scopes')).flatMap(([scopes = '']) => codeSpans(scopes));
    expect([...documented].sort()).toEqual([...MANIFEST.oauth_config.scopes.bot].sort());
  });

  it('names every slash command and bot event of manifest.yml', () => {
    for (const c of MANIFEST.features.slash_commands) expect(SLACK_DOC).toContain(`\`${c.command}\``);
    for (const e of MANIFEST.settings.event_subscriptions.bot_events) expect(SLACK_DOC).toContain(`\`${e}\``);
  });

  it('lists every chat command (src/commands.ts)', () => {
    const documented = tableRows(section(SLACK_DOC, '## 6. Action ids (stable contract)')).map(([usage = '']) => codeSpans(usage)[0]?.split(' ')[0]);
    for (const word of COMMAND_WORDS) expect({ word, documented: documented.includes(word) }).toEqual({ word, documented: true });
  });

  it('lists every Slack variable of the config schema', () => {
    const documented = tableRows(section(SLACK_DOC, '## 2. Environment')).flatMap(([name = '']) => codeSpans(name));
    expect(documented.sort()).toEqual(ENV_NAMES.filter((n) => n.startsWith('SLACK_')));
  });
});

describe('manifest.yml', () => {
  it('hints at every chat command in the slash command\'s usage hint', () => {
    for (const c of MANIFEST.features.slash_commands) {
      for (const word of COMMAND_WORDS) expect({ word, hint: c.usage_hint }).toEqual({ word, hint: expect.stringMatching(new RegExp(`(^|· )${word}\\b`)) });
    }
  });
});

describe('README', () => {
  it('lists every chat command', () => {
    const documented = tableRows(section(README, '### Chat commands (Slack `/handoff …`, Teams: message the bot or @mention it)')).map(([usage = '']) => codeSpans(usage)[0]?.split(' ')[0]);
    expect(documented).toEqual(COMMAND_WORDS);
  });

  it('says, where it first starts Baton, which interface it listens on by default', () => {
    expect(section(README, '## Run it')).toContain(`\`HOST=${String(SCHEMA_DEFAULTS.HOST)}\``);
  });

  it('draws the lifecycle with the statuses of src/domain/lifecycle.ts, all of them and only them', () => {
    const diagram = /```\n([\s\S]*?)```/.exec(section(README, '### Lifecycle'))![1]!;
    // Every word an arrow leaves or reaches must be a status, and every status must be drawn.
    const words = new Set([...diagram.matchAll(/[a-z_]+(?=\s*→)|(?<=→\s*)[a-z_]+/g)].map((m) => m[0]));
    expect([...words].sort()).toEqual([...STATUSES].sort());
  });

  it('quotes a playbook error exactly as the loader words it, without a line number that drifts', () => {
    const quote = codeSpans(section(README, '## The playbook')).find((c) => c.startsWith('transitions.sdr_to_ae.sla.accept: '));
    expect(quote).toBeDefined();
    const doc = parseDocument(readFileSync('playbook.yml', 'utf8'));
    doc.setIn(['transitions', 'sdr_to_ae', 'sla', 'accept'], '4 hours');
    let error: unknown;
    try {
      parsePlaybook(String(doc));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PlaybookError);
    const actual = (error as PlaybookError).details!.map((d) => `${d.path}: ${d.message}`);
    expect(quote).toContain('(line …, column …)');
    const pattern = new RegExp(`^${quote!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/…/g, '\\d+')}$`);
    expect(actual).toEqual([expect.stringMatching(pattern)]);
  });
});
