/**
 * The platform adapters Baton knows. Each factory returns undefined (after one log line saying
 * why) when its platform is not configured, so Baton runs with any subset of them.
 */
import type { PluginFactory } from '../src/app.js';
import { slackPlugin } from './slack/plugin.js';
import { teamsPlugin } from './teams/plugin.js';

export const platformPlugins: PluginFactory[] = [slackPlugin, teamsPlugin];
