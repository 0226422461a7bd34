/**
 * `npm run slack:manifest [-- --out <file>]`: manifest.yml with this deployment's BATON_PUBLIC_URL
 * in place of https://YOUR-BATON-HOST (the slash command's URL, the Events API and interactivity
 * request URLs), ready to paste at api.slack.com/apps. Prints YAML to stdout, or writes --out:
 * YAML, or JSON when the file name ends in .json (the form the Slack CLI and the
 * apps.manifest.* Web API methods take). The repository's manifest.yml is never changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMap, isNode, parseDocument, visit } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MANIFEST_TEMPLATE = join(ROOT, 'manifest.yml');
/** What manifest.yml's request URLs start with; replaced by BATON_PUBLIC_URL. */
export const PLACEHOLDER_ORIGIN = 'https://YOUR-BATON-HOST';

/** A problem the person running the script fixes; its message says what to set. */
export class ManifestError extends Error {}

export interface SlackManifestInput {
  publicUrl: string | undefined;
  /** The manifest text to fill (default: the repository's manifest.yml). */
  template?: string;
  format?: 'yaml' | 'json';
}

/** The public base URL without trailing slashes, or a ManifestError naming what to change. */
export function slackBaseUrl(publicUrl: string | undefined): string {
  const raw = publicUrl?.trim();
  if (!raw) {
    throw new ManifestError(
      'BATON_PUBLIC_URL is not set: set it to the public https address where Slack reaches Baton (e.g. BATON_PUBLIC_URL=https://baton.example.com); the request URLs become <BATON_PUBLIC_URL>/slack/events.',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ManifestError(`BATON_PUBLIC_URL is not a URL: "${raw}". Use the https address where Slack reaches Baton, e.g. https://baton.example.com.`);
  }
  if (url.protocol !== 'https:') throw new ManifestError(`BATON_PUBLIC_URL must be an https URL (Slack sends requests only to https request URLs); got "${raw}".`);
  if (url.search || url.hash || url.username || url.password) {
    throw new ManifestError(`BATON_PUBLIC_URL must be a plain base URL, without a query, fragment or credentials; got "${raw}".`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** manifest.yml with BATON_PUBLIC_URL filled in, as YAML (comments kept) or JSON. */
export function buildSlackManifest(input: SlackManifestInput): string {
  const base = slackBaseUrl(input.publicUrl);
  const doc = parseDocument(input.template ?? readFileSync(MANIFEST_TEMPLATE, 'utf8'));
  if (doc.errors.length) throw new ManifestError(`manifest.yml is not valid YAML: ${doc.errors[0]!.message}`);
  let filled = 0;
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.startsWith(`${PLACEHOLDER_ORIGIN}/`)) {
        node.value = base + node.value.slice(PLACEHOLDER_ORIGIN.length);
        filled++;
      }
    },
  });
  if (filled === 0) throw new ManifestError(`manifest.yml has no request URL starting with ${PLACEHOLDER_ORIGIN}/ to fill in.`);
  // The template's opening comment tells a person to replace the placeholder by hand: no longer
  // true. The yaml parser hangs a file's opening comment on the document, the top mapping or its
  // first key, depending on the blank lines around it.
  const top = doc.contents;
  if (top) top.commentBefore = null;
  const firstKey = isMap(top) ? top.items[0]?.key : undefined;
  if (isNode(firstKey)) firstKey.commentBefore = null;
  doc.commentBefore = [
    ` Slack app manifest for the Baton at ${base},`,
    ' made from manifest.yml by npm run slack:manifest.',
    ' Paste it at https://api.slack.com/apps → Create New App → From an app manifest (or an existing',
    ' app\'s App Manifest page), then install the app to the workspace. See docs/slack.md.',
  ].join('\n');
  const text = input.format === 'json' ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString({ lineWidth: 100 });
  // A placeholder somewhere other than a request URL would ship to Slack unfilled: refuse instead.
  if (text.includes('YOUR-BATON-HOST')) throw new ManifestError('manifest.yml still names YOUR-BATON-HOST after filling its request URLs: fill that place too.');
  return text;
}

const USAGE = 'Usage: BATON_PUBLIC_URL=https://baton.example.com npm run slack:manifest [-- --out <file.yml | file.json>]';

/** The --out path, or undefined for stdout. */
export function parseArgs(args: string[]): { out: string | undefined } {
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--out' && args[i + 1] && !args[i + 1]!.startsWith('--')) out = args[++i];
    else if (arg.startsWith('--out=') && arg.length > '--out='.length) out = arg.slice('--out='.length);
    else throw new ManifestError(arg === '--out' ? `--out needs a file name.\n${USAGE}` : `Unknown argument "${arg}".\n${USAGE}`);
  }
  return { out };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { out } = parseArgs(process.argv.slice(2));
    const manifest = buildSlackManifest({ publicUrl: process.env.BATON_PUBLIC_URL, format: out?.endsWith('.json') ? 'json' : 'yaml' });
    if (out) {
      writeFileSync(out, manifest);
      console.error(`Wrote ${out}: the Slack app manifest with request URLs ${slackBaseUrl(process.env.BATON_PUBLIC_URL)}/slack/events.`);
    } else {
      process.stdout.write(manifest);
    }
  } catch (err) {
    console.error(err instanceof ManifestError ? err.message : err);
    process.exit(1);
  }
}
