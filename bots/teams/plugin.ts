import type { PluginFactory } from '../../src/app.js';

/** The Microsoft Teams adapter (filled in by the Teams issue). */
export const teamsPlugin: PluginFactory = ({ config, log }) => {
  if (!config.teams) {
    log.info('Microsoft Teams is disabled: set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to connect it');
    return undefined;
  }
  return undefined;
};
