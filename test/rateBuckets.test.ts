/**
 * Token buckets shared through the database (src/rateBuckets.ts): two limiters — two processes,
 * each on its own connection to one PostgreSQL schema with DATABASE_URL (on PGlite, one database
 * shared) — reserving for one key at the same moment never exceed a bucket's windows together,
 * and a 429 block recorded by one refuses the other. The clock is one the test moves.
 */
import { DatabaseRateLimiter, rateLimiterFor, type Reservation } from '../src/rateBuckets.js';
import { KeyedRateLimiter, TEAMS_CONVERSATION_LIMITS, slackChannelLimits, type BucketSpec } from '../src/rateLimit.js';
import { RetryAfterError } from '../src/retry.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { applyMigrations } from '../src/store/migrate.js';
import { freshDatabase, onPostgres, type TestDatabase } from './helpers/baton.js';

let fresh: TestDatabase;
let other: Database;
let t = Date.UTC(2026, 11, 6, 9, 0, 0);
const now = () => t;

beforeAll(async () => {
  fresh = await freshDatabase();
  await applyMigrations(fresh.db.sql);
  other = fresh.url ? await openDatabase({ url: fresh.url, dataDir: '' }) : fresh.db;
});
afterAll(async () => {
  if (other && other !== fresh.db) await other.close();
  await fresh?.drop();
});

function twoProcesses(specs: readonly BucketSpec[], scope: string): [DatabaseRateLimiter, DatabaseRateLimiter] {
  return [new DatabaseRateLimiter(fresh.db, scope, specs, now), new DatabaseRateLimiter(other, scope, specs, now)];
}

/** `n` reservations from each limiter, all at once; the send times (ms from now), sorted. */
async function reserveTogether(limiters: DatabaseRateLimiter[], key: string, n: number): Promise<number[]> {
  const start = now();
  const all = await Promise.all(limiters.flatMap((l) => Array.from({ length: n }, () => l.reserve(key))));
  return all.map((r: Reservation) => {
    if (!('waitMs' in r)) throw new Error(`unexpectedly blocked: ${JSON.stringify(r)}`);
    return start + r.waitMs - start;
  }).sort((a, b) => a - b);
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

it('two processes reserving for one Slack channel at once get exactly the schedule one process would: a burst of 4, then one per second', async () => {
  const specs = slackChannelLimits();
  const times = await reserveTogether(twoProcesses(specs, 'slack'), 'C1', 10);
  const alone = new KeyedRateLimiter(specs, now);
  const expected = Array.from({ length: 20 }, () => alone.reserve('C1'));
  expect(times).toEqual(expected);
  expect(times.slice(0, 6)).toEqual([0, 0, 0, 0, 1000, 2000]);
  expect(busiestWindow(times, 1000)).toBe(4);
  expect(busiestWindow(times, 10_000)).toBe(4 + 9);
});

it("two processes reserving for one Teams conversation at once stay within each of Teams' windows", async () => {
  const times = await reserveTogether(twoProcesses(TEAMS_CONVERSATION_LIMITS, 'teams'), '19:conv', 40);
  expect(times).toHaveLength(80);
  expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(7);
  expect(busiestWindow(times, 2000)).toBeLessThanOrEqual(8);
  expect(busiestWindow(times, 30_000)).toBeLessThanOrEqual(60);
  // And no slower than one process alone (the database rounds each send time up to the ms).
  const alone = new KeyedRateLimiter(TEAMS_CONVERSATION_LIMITS, now);
  const expected = Array.from({ length: 80 }, () => alone.reserve('19:conv'));
  times.forEach((ms, i) => expect(Math.abs(ms - expected[i]!)).toBeLessThanOrEqual(1));
});

it('the buckets refill with time, between reservations of either process', async () => {
  const [a, b] = twoProcesses(slackChannelLimits(), 'slack');
  for (let i = 0; i < 4; i++) expect(await (i % 2 ? a : b).reserve('C2')).toEqual({ waitMs: 0 });
  expect(await a.reserve('C2')).toEqual({ waitMs: 1000 });
  t += 3000; // the reserved call went at +1 s; two more tokens since
  expect(await b.reserve('C2')).toEqual({ waitMs: 0 });
  expect(await a.reserve('C2')).toEqual({ waitMs: 0 });
  expect(await b.reserve('C2')).toEqual({ waitMs: 1000 });
  // Keys are independent.
  expect(await b.reserve('C3')).toEqual({ waitMs: 0 });
});

it("a 429 block recorded by one process refuses the other's calls for that key until it ends, and only for that key", async () => {
  const [a, b] = twoProcesses(slackChannelLimits(), 'slack');
  await a.block('C4', 5000);
  expect(await b.reserve('C4')).toEqual({ blockedMs: 5000 });
  const refused = await b.slot('C4').catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(RetryAfterError);
  expect((refused as RetryAfterError).retryAfterMs).toBe(5000);
  expect(await b.reserve('C5')).toEqual({ waitMs: 0 });
  // A shorter block does not shorten a longer one.
  await b.block('C4', 1000);
  t += 4000;
  expect(await a.reserve('C4')).toEqual({ blockedMs: 1000 });
  t += 1000;
  expect(await a.reserve('C4')).toEqual({ waitMs: 0 });
  // The same scope's key in another scope is another bucket.
  const [teams] = twoProcesses(TEAMS_CONVERSATION_LIMITS, 'teams');
  await a.block('C6', 5000);
  expect(await teams.reserve('C6')).toEqual({ waitMs: 0 });
});

it(`rateLimiterFor shares through the database on PostgreSQL and stays in memory on PGlite (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  const limiter = rateLimiterFor(fresh.db, 'slack', slackChannelLimits(), now);
  expect(limiter).toBeInstanceOf(onPostgres ? DatabaseRateLimiter : KeyedRateLimiter);
});
