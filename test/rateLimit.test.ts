/** Per-key token buckets (src/rateLimit.ts) on a clock the test moves: bursts, sustained rates, the limits' windows, 429 back-off. */
import { KeyedRateLimiter, TEAMS_CONVERSATION_LIMITS, slackChannelLimits, type BucketSpec } from '../src/rateLimit.js';
import { RetryAfterError } from '../src/retry.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Send times (ms from the start) of `n` calls made as fast as the limiter allows. */
function greedySchedule(specs: readonly BucketSpec[], n: number): number[] {
  const c = clock(0);
  const limiter = new KeyedRateLimiter(specs, c.now);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const wait = limiter.reserve('conversation');
    c.advance(wait);
    times.push(c.now());
  }
  return times;
}

/** The most calls in any window of `windowMs` (windows closed on the left, open on the right). */
function busiestWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('KeyedRateLimiter', () => {
  it('lets Slack\'s short burst through at once, then one post per second per channel', () => {
    const c = clock();
    const limiter = new KeyedRateLimiter(slackChannelLimits(), c.now);
    expect([1, 2, 3, 4].map(() => limiter.reserve('C1'))).toEqual([0, 0, 0, 0]);
    expect(limiter.reserve('C1')).toBe(1000);
    expect(limiter.reserve('C1')).toBe(2000);
    // Another channel has its own budget.
    expect(limiter.reserve('C2')).toBe(0);
    // After a quiet spell the burst is back, and never more than the burst.
    c.advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.reserve('C1'))).toEqual([0, 0, 0, 0]);
    expect(limiter.reserve('C1')).toBe(1000);
  });

  it('never exceeds Slack\'s sustained pace: 200 posts to one channel take at least 196 s', () => {
    const times = greedySchedule(slackChannelLimits(), 200);
    expect(times[199]).toBe(196_000);
    expect(busiestWindow(times, 10_000)).toBeLessThanOrEqual(4 + 10);
  });

  it('holds every window of Teams\' per-conversation limits: 7/1 s, 8/2 s, 60/30 s, 1,800/hour', () => {
    const times = greedySchedule(TEAMS_CONVERSATION_LIMITS, 2_500);
    expect(times.slice(0, 4)).toEqual([0, 0, 0, 0]); // a burst goes at once
    expect(busiestWindow(times, 1_000)).toBeLessThanOrEqual(7);
    expect(busiestWindow(times, 2_000)).toBeLessThanOrEqual(8);
    expect(busiestWindow(times, 30_000)).toBeLessThanOrEqual(60);
    expect(busiestWindow(times, 3_600_000)).toBeLessThanOrEqual(1_800);
    // …and is not needlessly slow: the hour's budget is nearly used within the hour.
    expect(times.filter((t) => t < 3_600_000).length).toBeGreaterThanOrEqual(1_790);
  });

  it('refuses a key blocked by a 429 with the time left, and lets it through afterwards', async () => {
    const c = clock();
    const limiter = new KeyedRateLimiter(slackChannelLimits(), c.now);
    limiter.block('C1', 5_000);
    await expect(limiter.slot('C1')).rejects.toBeInstanceOf(RetryAfterError);
    c.advance(2_000);
    const err = await limiter.slot('C1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryAfterError);
    expect((err as RetryAfterError).retryAfterMs).toBe(3_000);
    await expect(limiter.slot('C2')).resolves.toBeUndefined(); // other channels are not held back
    c.advance(3_000);
    await expect(limiter.slot('C1')).resolves.toBeUndefined();
  });

  it('refuses a bucket that could never let a call through', () => {
    expect(() => new KeyedRateLimiter([])).toThrow(/at least one bucket/);
    expect(() => new KeyedRateLimiter([{ capacity: 0, perSecond: 1 }])).toThrow(/capacity ≥ 1/);
    expect(() => new KeyedRateLimiter([{ capacity: 1, perSecond: 0 }])).toThrow(/perSecond > 0/);
  });

  it('forgets idle keys past its limit, so a long run with many channels stays flat in memory', () => {
    const c = clock();
    const limiter = new KeyedRateLimiter(slackChannelLimits(), c.now, 100);
    for (let i = 0; i < 150; i++) limiter.reserve(`C${i}`);
    c.advance(10_000);
    limiter.reserve('fresh');
    expect((limiter as unknown as { keys: Map<string, unknown> }).keys.size).toBeLessThanOrEqual(2);
  });
});
