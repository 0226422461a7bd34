/** Block Kit builders for Slack: pure functions from Baton's semantic views to Slack JSON. */
export * from './limits.js';
export * from './format.js';
export { STATUS_LABEL } from '../statusText.js';
export * from './card.js';
export * from './modals.js';
export * from './notices.js';
export * from './commands.js';
export * from './home.js';
