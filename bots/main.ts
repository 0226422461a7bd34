/** `npm start`: the process entry. Reads the environment and runs Baton (bots/run.ts) until SIGINT/SIGTERM. */
import { loadConfig, type Config } from '../src/config.js';
import { BatonError } from '../src/errors.js';
import { runBaton } from './run.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof BatonError ? err.userMessage : err);
  process.exit(1);
}
void runBaton(config);
