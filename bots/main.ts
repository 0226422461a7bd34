/** `npm start`: the process entry. Composes the core (src/) with the platform adapters (bots/) and runs until SIGINT/SIGTERM. */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startBaton } from '../src/app.js';
import { BatonError } from '../src/errors.js';
import { platformPlugins } from './platforms.js';
import { consolePlugin, createConsolePlugin } from './console/plugin.js';
import { ConsoleSessions } from './console/sessions.js';
import { loginLink } from './console/login.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof BatonError ? err.userMessage : err);
    process.exit(1);
  }
  const log = createLogger(config.logLevel, undefined, { format: config.logFormat });
  // The console's sign-in state is made here so the start-up link below can be minted in it.
  const consoleSessions = new ConsoleSessions();
  const plugins = platformPlugins.map((p) => (p === consolePlugin ? createConsolePlugin({ sessions: consoleSessions }) : p));
  let baton;
  try {
    baton = await startBaton({ config, log, plugins });
  } catch (err) {
    if (err instanceof BatonError) log.fatal(err.userMessage);
    else log.fatal({ err }, 'Baton failed to start');
    process.exit(1);
  }
  if (config.console) {
    // Like Jupyter: a single-use sign-in link, in the log and as a plain line for the person at the
    // terminal. It opens the console once, in one browser; `npm run console:link` makes another.
    const { token, expiresAt } = consoleSessions.issueLink();
    const link = loginLink(config.publicUrl ?? baton.url, token);
    log.info(
      { link, expiresAt, another: 'npm run console:link' },
      config.slack || config.teams ? 'Console sign-in link (works once)' : 'No Slack or Teams credentials: try Baton in the console; sign in with this link (works once)',
    );
    const elsewhere = !config.publicUrl && !['127.0.0.1', 'localhost', '::1'].includes(config.host)
      ? '    From another machine: put this host\'s address in place of 127.0.0.1 (better: serve Baton over https and set BATON_PUBLIC_URL).\n\n'
      : '';
    process.stdout.write(`\n    Baton console — open this link to sign in (it works once; npm run console:link makes another):\n\n        ${link}\n\n${elsewhere}`);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await baton.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
