/**
 * bots/main.ts with two test knobs. RELIABILITY_SLACK_POST_INTERVAL_MS spaces Slack posts to one
 * channel (production: about one per second, which would make a CI-sized crash test wait minutes
 * for the local fake). Started with an IPC channel and --expose-gc, the message 'memory' collects
 * garbage and answers with process.memoryUsage(). Everything else — configuration, startBaton, the platform plugins, signal
 * handling — is what `npm start` runs.
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startBaton } from '../../src/app.js';
import { createSlackPlugin } from '../../bots/slack/plugin.js';
import { platformPlugins } from '../../bots/platforms.js';
import { slackPlugin } from '../../bots/slack/plugin.js';
import { exitOnSignals } from '../../bots/run.js';

const config = loadConfig();
const log = createLogger(config.logLevel, undefined, { format: config.logFormat });
const interval = process.env.RELIABILITY_SLACK_POST_INTERVAL_MS;
const plugins = platformPlugins.map((p) => (p === slackPlugin && interval ? createSlackPlugin({ postIntervalMs: Number(interval) }) : p));
const baton = await startBaton({ config, log, plugins });
process.on('message', (m) => {
  if (m !== 'memory') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ memory: process.memoryUsage() });
});
exitOnSignals(baton, config, log);
