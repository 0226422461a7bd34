/**
 * Outbound Slack plumbing: the WebClient settings, the mapping of Slack failures onto the outbox's
 * retry intents, and per-channel pacing (chat.postMessage allows about one message per second
 * per channel, with short bursts).
 */
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger as BoltLogger } from '@slack/bolt';
import { NonRetriableError, RetryAfterError } from '../../src/retry.js';
import { KeyedRateLimiter, slackChannelLimits } from '../../src/rateLimit.js';

export const SLACK_DEFAULT_API_URL = 'https://slack.com/api/';

/** WebClient expects the base URL to end with a slash (it appends the method name). */
export function normaliseApiUrl(url: string | undefined): string {
  if (!url) return SLACK_DEFAULT_API_URL;
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * The gateway's client: no retries of its own and 429s rejected at once, so the outbox owns every
 * retry (with Slack's Retry-After) and a Slack outage never blocks a worker inside the SDK.
 */
export function gatewayClient(token: string, opts: { apiUrl: string | undefined; timeoutMs: number; logger: BoltLogger }): WebClient {
  return new WebClient(token, {
    slackApiUrl: normaliseApiUrl(opts.apiUrl),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs,
    logger: opts.logger,
  });
}

/** Listeners answer a person who is waiting: one quick retry, then give up and say so. */
export function interactiveClientOptions(opts: { apiUrl: string | undefined; timeoutMs: number; logger: BoltLogger }): WebClientOptions {
  return {
    slackApiUrl: normaliseApiUrl(opts.apiUrl),
    retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 400 },
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs,
    logger: opts.logger,
  };
}

/** Slack answers that no retry can fix: the operator has to act (invite the bot, fix the token or the channel id). */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_arguments',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'msg_too_long',
  'too_many_attachments',
  'user_not_found',
  'users_not_found',
  'user_disabled',
  'cannot_dm_bot',
  'restricted_action',
  'team_access_not_granted',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

/** Which Slack error code a failure carries, if any. */
export function slackErrorCode(err: unknown): string | undefined {
  return err instanceof WebAPIPlatformError ? err.data.error : undefined;
}

/**
 * Maps a failed Web API call to the outbox's retry intent: 429 → RetryAfterError with Slack's
 * Retry-After; permanent platform errors → NonRetriableError; 5xx, timeouts, network → a plain
 * error (retried with backoff).
 */
export function toDeliveryError(err: unknown, what: string): Error {
  if (err instanceof RetryAfterError || err instanceof NonRetriableError) return err;
  if (err instanceof WebAPIRateLimitedError) return new RetryAfterError(`Slack rate-limited ${what}; retry after ${err.retryAfter}s`, Math.max(1, err.retryAfter) * 1000, { cause: err });
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    if (code === 'ratelimited' || code === 'rate_limited') return new RetryAfterError(`Slack rate-limited ${what}`, 1000, { cause: err });
    if (PERMANENT_ERRORS.has(code)) return new NonRetriableError(`Slack refused ${what}: ${code}${hint(code)}`, { cause: err });
    return new Error(`Slack failed ${what}: ${code}`, { cause: err });
  }
  if (err instanceof WebAPIHTTPError) return new Error(`Slack answered HTTP ${err.statusCode} to ${what}`, { cause: err });
  if (err instanceof WebAPIRequestError) return new Error(`Slack could not be reached for ${what}: ${err.original.message}`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

function hint(code: string): string {
  switch (code) {
    case 'not_in_channel':
      return ' (invite the Baton app to the channel: /invite @Baton)';
    case 'channel_not_found':
      return ' (check the team\'s channels.slack id in the playbook, and invite the app if the channel is private)';
    case 'invalid_auth':
    case 'not_authed':
    case 'token_revoked':
    case 'token_expired':
      return ' (SLACK_BOT_TOKEN is not valid: reinstall the app and copy the Bot User OAuth Token)';
    case 'missing_scope':
      return ' (reinstall the app from manifest.yml so it has every scope)';
    default:
      return '';
  }
}

/**
 * Paces posts to one channel the way Slack allows (src/rateLimit.ts: a short burst, then about one
 * per second) and remembers a channel's Retry-After, so later deliveries to that channel wait for
 * the outbox's next attempt instead of hammering a rate-limited API.
 */
export class ChannelPacer extends KeyedRateLimiter {
  constructor(intervalMs: number, now: () => number = Date.now, burst?: number) {
    super(slackChannelLimits(intervalMs, burst), now);
  }
}
