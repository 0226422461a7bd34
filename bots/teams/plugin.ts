/**
 * The Microsoft Teams platform plugin. Off, with one log line, when Teams is not configured;
 * otherwise it loads the adapter (./adapter.ts). The import waits until then because botbuilder is
 * about 90 MB of memory that a Slack-only Baton never uses.
 */
import type { PluginFactory } from '../../src/app.js';

export { MESSAGES_PATH } from './paths.js';

export const teamsPlugin: PluginFactory = async (core) => {
  if (!core.config.teams) {
    core.log.info('Microsoft Teams is disabled: set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to connect it');
    return undefined;
  }
  const { startTeamsAdapter } = await import('./adapter.js');
  return startTeamsAdapter(core.config.teams, core, core.log.child({ component: 'teams' }));
};
