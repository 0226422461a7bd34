/**
 * The platform adapters Baton knows. Each factory returns undefined (after one log line saying
 * why) when its platform is not configured, so Baton runs with any subset of them.
 */
import type { PluginFactory } from '../src/app.js';
import { slackPlugin } from './slack/plugin.js';
import { teamsPlugin } from './teams/plugin.js';
import { consolePlugin } from './console/plugin.js';

/** The console (bots/console) renders both platforms' cards locally; off in production unless BATON_CONSOLE=on. */
export const platformPlugins: PluginFactory[] = [slackPlugin, teamsPlugin, consolePlugin];
