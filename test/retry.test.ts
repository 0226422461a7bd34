import { backoff, NonRetriableError, RetryAfterError } from '../src/retry.js';

describe('backoff', () => {
  const policy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 };
  it('grows exponentially with jitter inside [ceiling/2, ceiling]', () => {
    expect(backoff(1, new Error('x'), policy, () => 0)).toBe(500);
    expect(backoff(1, new Error('x'), policy, () => 1)).toBe(1000);
    expect(backoff(3, new Error('x'), policy, () => 1)).toBe(4000);
    expect(backoff(4, new Error('x'), { ...policy, maxMs: 5000 }, () => 1)).toBe(5000);
  });
  it('honours Retry-After exactly and stops for non-retriable errors or after the last attempt', () => {
    expect(backoff(2, new RetryAfterError('429', 7000), policy)).toBe(7000);
    expect(backoff(1, new NonRetriableError('channel_not_found'), policy)).toBeNull();
    expect(backoff(5, new Error('x'), policy)).toBeNull();
  });
});
