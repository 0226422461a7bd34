/**
 * Where Teams sends activities. Its own module so that both the plugin (which must not load
 * botbuilder until Teams is configured) and the adapter can name it without importing each other.
 */
export const MESSAGES_PATH = '/api/messages';
