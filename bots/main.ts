/** `npm start`: the process entry. Composes the core (src/) with the platform adapters (bots/) and runs until SIGINT/SIGTERM. */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startBaton } from '../src/app.js';
import { BatonError } from '../src/errors.js';
import { platformPlugins } from './platforms.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof BatonError ? err.userMessage : err);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  let baton;
  try {
    baton = await startBaton({ config, log, plugins: platformPlugins });
  } catch (err) {
    if (err instanceof BatonError) log.fatal(err.userMessage);
    else log.fatal({ err }, 'Baton failed to start');
    process.exit(1);
  }
  if (config.console) {
    // Without Slack or Teams there is nothing else to look at: say where the console is.
    const consoleUrl = `${baton.url}/console`;
    const remote = config.host !== '127.0.0.1' && config.host !== 'localhost' && config.host !== '::1';
    log.info(
      { url: consoleUrl, ...(remote ? { fromAnotherMachine: `http://<this host>:${baton.port}/console?token=<BATON_API_TOKEN${config.apiToken ? '' : ` from ${config.dataDir}/api-token`}>` } : {}) },
      config.slack || config.teams ? `Local console: ${consoleUrl}` : `No Slack or Teams credentials: try Baton in the local console at ${consoleUrl}`,
    );
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
