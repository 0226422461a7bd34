/**
 * The Slack platform plugin. Off, with one log line, when Slack is not configured; otherwise it
 * loads the adapter (./adapter.ts). The import waits until then because Bolt and the Web API
 * client are about 70 MB of memory that a Teams-only or console-only Baton never uses.
 */
import type { PluginFactory } from '../../src/app.js';
import type { SlackPluginOptions } from './options.js';

export type { SlackPluginOptions } from './options.js';

export function createSlackPlugin(options: SlackPluginOptions = {}): PluginFactory {
  return async (core) => {
    const log = core.log.child({ component: 'slack' });
    if (!core.config.slack) {
      log.info('Slack is disabled: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to connect it');
      return undefined;
    }
    const { startSlackAdapter } = await import('./adapter.js');
    return startSlackAdapter(core.config.slack, core, log, options);
  };
}

export const slackPlugin: PluginFactory = createSlackPlugin();
