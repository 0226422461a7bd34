/**
 * Runs Baton until SIGINT/SIGTERM: the core (src/) composed with the platform adapters (bots/),
 * the console's sign-in link printed for the person at the terminal, and a start that fails
 * explained in one message. `npm start` (bots/main.ts) and `npm run demo` (scripts/demo.ts) run it.
 */
import type { Baton, PluginFactory } from '../src/app.js';
import { createLogger, resolveLogFormat, type Logger } from '../src/logger.js';
import { startBaton } from '../src/app.js';
import { BatonError, StartupError } from '../src/errors.js';
import { loadConfig, type Config } from '../src/config.js';
import { platformPlugins } from './platforms.js';
import { consolePlugin, createConsolePlugin } from './console/plugin.js';
import { ConsoleSessions } from './console/sessions.js';
import { loginLink } from './console/login.js';

export interface RunOptions {
  /** The adapters to run (default: every platform, each on when configured, and the console). */
  plugins?: PluginFactory[];
  /** The command that mints another console sign-in link for this Baton (printed with the first). */
  anotherLinkCommand?: string;
  /** false: no outbound webhooks (the demo: its events must never reach real subscribers). */
  webhooks?: boolean;
}

/**
 * The configuration from the environment; when it is invalid, every problem (ConfigError's message)
 * goes to the person at the terminal and the process exits 1: there is no logger yet to say it.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    console.error(err instanceof BatonError ? err.userMessage : err);
    process.exit(1);
  }
}

export async function runBaton(config: Config, opts: RunOptions = {}): Promise<void> {
  const log = createLogger(config.logLevel, undefined, { format: config.logFormat });
  // The console's sign-in state is made here so the start-up link below can be minted in it.
  const consoleSessions = new ConsoleSessions();
  const plugins = (opts.plugins ?? platformPlugins).map((p) => (p === consolePlugin ? createConsolePlugin({ sessions: consoleSessions }) : p));
  let baton;
  try {
    baton = await startBaton({ config, log, plugins, ...(opts.webhooks === false ? { webhooks: false } : {}) });
  } catch (err) {
    failToStart(err, config, log);
  }
  if (config.console) {
    // Like Jupyter: a single-use sign-in link, in the log and as a plain line for the person at the
    // terminal. It opens the console once, in one browser; `npm run console:link` makes another.
    const { token, expiresAt } = consoleSessions.issueLink();
    const another = opts.anotherLinkCommand ?? 'npm run console:link';
    const link = loginLink(config.publicUrl ?? baton.url, token);
    log.info(
      { link, expiresAt, another },
      config.slack || config.teams ? 'Console sign-in link (works once)' : 'No Slack or Teams credentials: try Baton in the console; sign in with this link (works once)',
    );
    const elsewhere = !config.publicUrl && !['127.0.0.1', 'localhost', '::1'].includes(config.host)
      ? '    From another machine: put this host\'s address in place of 127.0.0.1 (better: serve Baton over https and set BATON_PUBLIC_URL).\n\n'
      : '';
    process.stdout.write(`\n    Baton console — open this link to sign in (it works once; ${another} makes another):\n\n        ${link}\n\n${elsewhere}`);
  }
  exitOnSignals(baton, config, log);
}

/**
 * SIGTERM (a rolling restart, `docker stop`, Kubernetes) or SIGINT: a graceful close (see
 * Baton.close: readiness false at once, deliveries and job locks finished or given back) and exit
 * 0; if that takes longer than BATON_SHUTDOWN_GRACE_MS, exit 1 anyway — whatever is still held
 * is taken over by another instance when its lease or lock runs out.
 */
export function exitOnSignals(baton: Baton, config: Config, log: Logger): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    const force = setTimeout(() => {
      log.warn({ graceMs: config.shutdownGraceMs }, 'shutdown took longer than its grace; exiting now');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    try {
      await baton.close();
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    log.info({ signal }, 'stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * A start that fails says so in one short message for the person at the terminal (stderr), naming
 * what to change, and exits non-zero. Log collectors (JSON) also get it as a fatal line with its
 * code. The stack trace is for LOG_LEVEL=debug (or trace): for an operator it is noise, and an
 * error Baton cannot explain says where to find it.
 */
function failToStart(err: unknown, config: Config, log: Logger): never {
  const known = err instanceof BatonError;
  const message = known ? err.userMessage : `${err instanceof Error ? err.message : String(err)}`;
  const debug = config.logLevel === 'debug' || config.logLevel === 'trace';
  const hint = known || debug ? '' : '\n(Start with LOG_LEVEL=debug to see where it happened.)';
  process.stderr.write(`\nBaton cannot start: ${message}${hint}\n\n`);
  const code = known ? err.code : 'start_failed';
  if (resolveLogFormat(process.stdout, config.logFormat) === 'json') log.fatal({ code }, message);
  if (debug) {
    const underlying = err instanceof StartupError && err.underlying instanceof Error ? err.underlying : err;
    process.stderr.write(`${underlying instanceof Error ? (underlying.stack ?? underlying.message) : String(underlying)}\n`);
  }
  process.exit(1);
}

