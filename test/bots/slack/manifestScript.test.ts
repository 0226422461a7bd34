/**
 * `npm run slack:manifest` (scripts/slack-manifest.ts): manifest.yml with BATON_PUBLIC_URL in
 * every request URL and nothing else changed; a clear refusal without an https BATON_PUBLIC_URL.
 * The last cases run the script as a process, as a person would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildSlackManifest, ManifestError, parseArgs, PLACEHOLDER_ORIGIN } from '../../../scripts/slack-manifest.js';
import { SLACK_EVENTS_PATH } from '../../../bots/slack/receiver.js';

const TEMPLATE = readFileSync('manifest.yml', 'utf8');

interface Manifest {
  features: { slash_commands: { url: string }[] };
  settings: { event_subscriptions: { request_url: string }; interactivity: { request_url: string } };
}

/** The request URLs of a manifest: the slash commands', the Events API's and interactivity's. */
function requestUrls(m: Manifest): string[] {
  return [...m.features.slash_commands.map((c) => c.url), m.settings.event_subscriptions.request_url, m.settings.interactivity.request_url];
}

/** The template with its placeholder origin replaced by `base` everywhere, parsed. */
function templateWith(base: string): unknown {
  return JSON.parse(JSON.stringify(parse(TEMPLATE)).replaceAll(PLACEHOLDER_ORIGIN, base));
}

function refusal(publicUrl: string | undefined): string {
  try {
    buildSlackManifest({ publicUrl });
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as Error).message;
  }
  throw new Error(`BATON_PUBLIC_URL=${String(publicUrl)} was accepted`);
}

async function runScript(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/slack-manifest.ts', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

describe('buildSlackManifest', () => {
  it('fills every request URL with BATON_PUBLIC_URL and changes nothing else', () => {
    const text = buildSlackManifest({ publicUrl: 'https://baton.example.com/' });
    const filled = parse(text) as Manifest;
    expect(requestUrls(filled)).toEqual([`https://baton.example.com${SLACK_EVENTS_PATH}`, `https://baton.example.com${SLACK_EVENTS_PATH}`, `https://baton.example.com${SLACK_EVENTS_PATH}`]);
    expect(filled).toEqual(templateWith('https://baton.example.com'));
    expect(text).not.toContain('YOUR-BATON-HOST');
    // The opening comment now says what the file is, instead of asking for a hand edit.
    expect(text.split('\n')[0]).toBe('# Slack app manifest for the Baton at https://baton.example.com,');
    // The template's other comments stay, e.g. why each scope is asked for.
    expect(text).toContain('# files.uploadV2: the chart image of the weekly digest');
  });

  it('keeps a path prefix for a Baton served under one', () => {
    const filled = parse(buildSlackManifest({ publicUrl: 'https://tools.example.com/baton//' })) as Manifest;
    expect(new Set(requestUrls(filled))).toEqual(new Set([`https://tools.example.com/baton${SLACK_EVENTS_PATH}`]));
  });

  it('writes JSON on request, with the same content', () => {
    const json = JSON.parse(buildSlackManifest({ publicUrl: 'https://baton.example.com', format: 'json' })) as unknown;
    expect(json).toEqual(templateWith('https://baton.example.com'));
  });

  it('refuses a missing, non-https or unusable BATON_PUBLIC_URL, saying what to set', () => {
    expect(refusal(undefined)).toMatch(/^BATON_PUBLIC_URL is not set: set it to the public https address where Slack reaches Baton/);
    expect(refusal('   ')).toMatch(/^BATON_PUBLIC_URL is not set/);
    expect(refusal('http://baton.example.com')).toBe('BATON_PUBLIC_URL must be an https URL (Slack sends requests only to https request URLs); got "http://baton.example.com".');
    expect(refusal('baton.example.com')).toMatch(/^BATON_PUBLIC_URL is not a URL: "baton.example.com"/);
    expect(refusal('https://baton.example.com/?x=1')).toMatch(/without a query, fragment or credentials/);
  });

  it('refuses a template whose placeholder it cannot fill', () => {
    expect(() => buildSlackManifest({ publicUrl: 'https://b.example.com', template: 'display_information:\n  name: YOUR-BATON-HOST\nsettings:\n  interactivity:\n    request_url: https://YOUR-BATON-HOST/slack/events\n' })).toThrow(
      'manifest.yml still names YOUR-BATON-HOST after filling its request URLs: fill that place too.',
    );
    expect(() => buildSlackManifest({ publicUrl: 'https://b.example.com', template: 'display_information:\n  name: Baton\n' })).toThrow(/no request URL starting with https:\/\/YOUR-BATON-HOST\//);
  });
});

describe('parseArgs', () => {
  it('takes --out <file> or --out=<file>, and refuses anything else', () => {
    expect(parseArgs([])).toEqual({ out: undefined });
    expect(parseArgs(['--out', 'slack.yml'])).toEqual({ out: 'slack.yml' });
    expect(parseArgs(['--out=slack.json'])).toEqual({ out: 'slack.json' });
    expect(() => parseArgs(['--out'])).toThrow(/^--out needs a file name\.\nUsage: /);
    expect(() => parseArgs(['--url', 'x'])).toThrow(/^Unknown argument "--url"\.\nUsage: /);
  });
});

describe('npm run slack:manifest', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-slack-manifest-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the filled manifest to stdout', async () => {
    const r = await runScript([], { BATON_PUBLIC_URL: 'https://baton.example.com' });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(parse(r.stdout)).toEqual(templateWith('https://baton.example.com'));
  });

  it('writes --out as JSON when the file name ends in .json, and says so on stderr', async () => {
    const out = join(dir, 'slack-manifest.json');
    const r = await runScript(['--out', out], { BATON_PUBLIC_URL: 'https://baton.example.com' });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: '' });
    expect(r.stderr).toBe(`Wrote ${out}: the Slack app manifest with request URLs https://baton.example.com${SLACK_EVENTS_PATH}.\n`);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(templateWith('https://baton.example.com'));
  });

  it('exits 1 with the reason, and prints no manifest, without BATON_PUBLIC_URL', async () => {
    const r = await runScript([], {});
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^BATON_PUBLIC_URL is not set: /);
  });
});
