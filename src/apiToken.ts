/**
 * The API token: what a token must look like, where it comes from (BATON_API_TOKEN, else a file
 * generated once in the data directory), and how a presented token is compared with it.
 *
 * The rule is strict on purpose: a token read from a file or the environment is used exactly as
 * it is, and compared exactly as presented. Trimming anywhere would let Unicode spaces (which
 * JavaScript's trim() and \s both remove) turn a blank token into an empty one, or pad a real one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

export const MIN_API_TOKEN_LENGTH = 16;
/** The generated token's file name, in the data directory. */
export const API_TOKEN_FILE = 'api-token';

/** What is wrong with a token, said to the deployer (never echoing it), or undefined when it is acceptable. */
export function apiTokenProblem(token: string): string | undefined {
  if (token === '') return 'is empty; use at least 16 visible ASCII characters (e.g. openssl rand -hex 32)';
  if (token.trim() === '') return 'is only whitespace; use at least 16 visible ASCII characters (e.g. openssl rand -hex 32)';
  // Visible ASCII only: no spaces, tabs, newlines or non-ASCII characters, which headers,
  // shells and editors alter, and which trimming code treats as nothing.
  if (!/^[\x21-\x7e]*$/.test(token)) return 'may contain only visible ASCII characters (no spaces, tabs, line breaks or non-ASCII characters such as U+00A0)';
  if (token.length < MIN_API_TOKEN_LENGTH) return `must be at least ${MIN_API_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`;
  return undefined;
}

/**
 * True when `presented` is exactly `expected`. Both are hashed first, so the comparison takes the
 * same time whatever their lengths and contents; nothing is trimmed; an empty expected token
 * matches nothing (a configuration that slipped through must not open the door).
 */
export function tokensMatch(presented: string, expected: string): boolean {
  if (expected.length === 0) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * The API token: BATON_API_TOKEN (already checked by loadConfig), else the token in
 * `<dataDir>/api-token`, generated there (mode 0600) the first time. A file that breaks the rule
 * refuses the start, naming the file: an empty or blank file must never become an empty token.
 * The log names the file, never the token.
 */
export function resolveApiToken(config: { apiToken: string | undefined; dataDir: string }, log: Logger): string {
  if (config.apiToken !== undefined) {
    // loadConfig refuses a bad variable; checked again here for configs built by hand (tests, tools).
    const problem = apiTokenProblem(config.apiToken);
    if (problem) throw new ConfigError([{ path: 'BATON_API_TOKEN', message: problem }]);
    return config.apiToken;
  }
  const file = join(config.dataDir, API_TOKEN_FILE);
  let content: string | undefined;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (content === undefined) return generate(config.dataDir, file, log);
  // One line ending is what an editor adds when someone writes the file by hand; nothing else is removed.
  const token = content.replace(/\r?\n$/, '');
  const problem = apiTokenProblem(token);
  if (problem) {
    throw new ConfigError(
      [{ path: file, message: `${problem}. Delete the file to have a new token generated, or set BATON_API_TOKEN` }],
      'Baton cannot start; the generated API token file is not usable:',
    );
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
    log.warn({ file, was: mode.toString(8) }, 'the API token file was readable or writable by others: set it to 0600');
  }
  return token;
}

function generate(dataDir: string, file: string, log: Logger): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  // O_EXCL: never overwrite a token another process wrote a moment ago. 0600 from the first byte,
  // and chmod again because a umask can only remove bits, never fix a mode set by someone else.
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, token + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  log.warn({ file }, 'BATON_API_TOKEN is not set: generated a development API token; read it from this file');
  return token;
}
