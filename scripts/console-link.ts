/**
 * `npm run console:link [-- <Baton URL>]`: prints a fresh single-use sign-in link for the console,
 * for a person who lost the line Baton printed at start, or who signs in to a remote Baton.
 *
 * It asks the running Baton (POST /console/login-link) with the API token, so only someone who
 * holds that token gets a link: BATON_API_TOKEN, else the development token in
 * <BATON_DATA_DIR or .baton-data>/api-token. Which Baton: the argument, else BATON_PUBLIC_URL,
 * else http://127.0.0.1:<PORT or 3000>.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

function fail(message: string): never {
  process.stderr.write(message + '\n');
  process.exit(1);
}

function apiToken(): { token: string; source: string } {
  // Not trimmed beyond the file's own line ending: Baton compares the token exactly.
  if (process.env.BATON_API_TOKEN) return { token: process.env.BATON_API_TOKEN, source: 'BATON_API_TOKEN' };
  const file = resolve(process.env.BATON_DATA_DIR || '.baton-data', 'api-token');
  try {
    return { token: readFileSync(file, 'utf8').replace(/\r?\n$/, ''), source: file };
  } catch {
    return fail(`No API token: set BATON_API_TOKEN, or run this where Baton keeps its development token (${file} does not exist).`);
  }
}

async function main(): Promise<void> {
  const base = (process.argv[2] || process.env.BATON_PUBLIC_URL || `http://127.0.0.1:${process.env.PORT || 3000}`).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) fail(`"${base}" is not an http(s) URL: pass Baton's address, e.g. npm run console:link -- https://baton.example.com`);
  const { token, source } = apiToken();
  let res: Response;
  try {
    res = await fetch(`${base}/console/login-link`, { method: 'POST', headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    fail(`No Baton answers at ${base} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}). Is it running (npm start)? For another address: npm run console:link -- <URL>`);
  }
  const body = (await res.json().catch(() => undefined)) as { link?: string; expiresAt?: string; error?: { message?: string } } | undefined;
  if (res.status === 201 && body?.link) {
    process.stdout.write(`Open this link to sign in to the Baton console (it works once, until ${body.expiresAt ?? 'Baton restarts'}):\n\n    ${body.link}\n\n`);
    return;
  }
  if (res.status === 401) fail(`Baton at ${base} refused the API token from ${source}: ${body?.error?.message ?? 'unauthorized'}`);
  if (res.status === 404) fail(`Baton at ${base} does not serve the console (it is off: BATON_CONSOLE=on turns it on; in production it is off by default).`);
  if (res.status === 429) fail(`Baton at ${base} refused for now: ${body?.error?.message ?? 'too many failed sign-ins'}`);
  fail(`Baton at ${base} answered ${res.status}: ${body?.error?.message ?? 'no link'}`);
}

void main();
