/**
 * The Slack plugin's options. Its own module so that the plugin and the adapter it loads lazily
 * can both name the type without importing each other.
 */
export interface SlackPluginOptions {
  /** Spacing of posts to one channel (Slack allows about one per second). */
  postIntervalMs?: number;
  /** Per Web API call. */
  requestTimeoutMs?: number;
  /** How long Slack user ↔ email answers are cached. */
  userCacheMs?: number;
  /** Stored clicks (tests shorten these): lease before a replay (15 s), recovery pass interval (5 s). */
  inbox?: { leaseMs?: number; recoveryEveryMs?: number };
}
