import type { PluginFactory } from '../../src/app.js';

/** The Slack adapter (filled in by the Slack issue). */
export const slackPlugin: PluginFactory = ({ config, log }) => {
  if (!config.slack) {
    log.info('Slack is disabled: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to connect it');
    return undefined;
  }
  return undefined;
};
