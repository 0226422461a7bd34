/** The connector transport's pure parts: pacing, Retry-After, and how failures map to retry intent. */
import { ConnectorHttpError, ConversationPacer, conversationOf, retryAfterMs } from '../../../bots/teams/transport.js';
import { classifyTeamsError } from '../../../bots/teams/errors.js';
import { NonRetriableError, RetryAfterError } from '../../../src/retry.js';
import { UnavailableError } from '../../../src/errors.js';

describe('ConversationPacer', () => {
  it('spaces calls to one conversation and lets other conversations through at once', async () => {
    const pacer = new ConversationPacer([{ capacity: 1, perSecond: 10 }]); // 100 ms apart, no burst
    const started = Date.now();
    const done: Record<string, number[]> = { a: [], b: [] };
    await Promise.all([
      ...Array.from({ length: 5 }, () => pacer.slot('a').then(() => done.a!.push(Date.now() - started))),
      pacer.slot('b').then(() => done.b!.push(Date.now() - started)),
    ]);
    // Each call to "a" gets its own slot, 100 ms after the previous one. Timers never fire early,
    // so no call goes before its slot; under load one may fire late, so the gaps are not checked.
    const sorted = [...done.a!].sort((x, y) => x - y);
    sorted.forEach((t, k) => expect(t).toBeGreaterThanOrEqual(k * 100 - 2));
    // "b" did not queue behind "a".
    expect(done.b![0]!).toBeLessThan(sorted[2]!);
  });
});

describe('helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('finds the conversation a connector call is for', () => {
    expect(conversationOf('/amer/v3/conversations/19%3Aabc%40thread.tacv2/activities')).toBe('19:abc@thread.tacv2');
    expect(conversationOf('/v3/conversations/a%3A1/activities/1716')).toBe('a:1');
    expect(conversationOf('/v3/conversations/a%3A1/members/29%3A1')).toBeUndefined();
    // A channel thread shares its channel's budget.
    expect(conversationOf('/v3/conversations/19%3Ax%40thread.tacv2%3Bmessageid%3D17/activities/17')).toBe('19:x@thread.tacv2');
  });
});

describe('classifyTeamsError', () => {
  const http = (status: number, retry?: number) => new ConnectorHttpError(status, 'POST', '/v3/conversations/x/activities', retry, '{"error":{}}');

  it('429 → RetryAfterError with the connector\'s delay (1 s when it gives none)', () => {
    const e = classifyTeamsError(http(429, 7000), 'posting');
    expect(e).toBeInstanceOf(RetryAfterError);
    expect((e as RetryAfterError).retryAfterMs).toBe(7000);
    expect((classifyTeamsError(http(429), 'posting') as RetryAfterError).retryAfterMs).toBe(1000);
  });

  it('5xx, 408 and no answer → retried with backoff', () => {
    for (const s of [500, 502, 503, 408, 0]) {
      const e = classifyTeamsError(http(s), 'posting');
      expect(e).not.toBeInstanceOf(NonRetriableError);
      expect(e).not.toBeInstanceOf(RetryAfterError);
    }
  });

  it('401/403/404 and other 4xx → not retried, with a message that says what to check', () => {
    expect(classifyTeamsError(http(401), 'posting').message).toMatch(/check MICROSOFT_APP_ID/);
    expect(classifyTeamsError(http(403), 'posting')).toBeInstanceOf(NonRetriableError);
    expect(classifyTeamsError(http(404), 'updating').message).toMatch(/404/);
    expect(classifyTeamsError(http(400), 'posting')).toBeInstanceOf(NonRetriableError);
  });

  it('finds a connector error wrapped by the SDK, and treats refused credentials as permanent', () => {
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: http(429, 2000) }) });
    expect(classifyTeamsError(wrapped, 'posting')).toBeInstanceOf(RetryAfterError);
    expect(classifyTeamsError(new Error('AADSTS7000215: invalid_client'), 'posting')).toBeInstanceOf(NonRetriableError);
    expect(classifyTeamsError(new UnavailableError('db down'), 'posting')).not.toBeInstanceOf(NonRetriableError);
    expect(classifyTeamsError(new Error('socket hang up'), 'posting')).not.toBeInstanceOf(NonRetriableError);
  });
});
