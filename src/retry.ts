/**
 * Retry intent as types, for outbox consumers and jobs: throw NonRetriableError when trying again
 * cannot help (e.g. channel_not_found), RetryAfterError when the other side said when (HTTP 429).
 * Anything else is retried with `backoff`.
 */
export class NonRetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

export class RetryAfterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetryAfterError';
  }
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Give up after this many attempts (the delivery is then marked failed and reported). */
  maxAttempts: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 500, maxMs: 5 * 60_000, maxAttempts: 25 };

/**
 * Delay before the next attempt, or null to stop. Exponential with full jitter; `random` is
 * injectable so tests are deterministic. Retry-After is honoured exactly (never shortened).
 */
export function backoff(attempt: number, error: unknown, policy: BackoffPolicy = defaultBackoff, random: () => number = Math.random): number | null {
  if (error instanceof NonRetriableError) return null;
  if (attempt >= policy.maxAttempts) return null;
  if (error instanceof RetryAfterError) return Math.max(0, error.retryAfterMs);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
