import { periodic } from '../src/periodic.js';

/** A pass that waits until the test lets it finish. */
function gatedPass() {
  const calls: (() => void)[] = [];
  const pass = (): Promise<void> => new Promise<void>((resolve) => calls.push(resolve));
  return { pass, calls };
}

const HOUR = 3_600_000;

test('runs a pass at start, and runNow joins the pass in flight instead of starting another', async () => {
  const { pass, calls } = gatedPass();
  const p = periodic(pass, { everyMs: HOUR, onError: () => undefined });
  expect(calls).toHaveLength(1);
  const joined = p.runNow();
  expect(calls).toHaveLength(1);
  calls[0]!();
  await joined;
  const second = p.runNow(); // a new pass starts once the first is over
  expect(calls).toHaveLength(2);
  calls[1]!();
  await second;
  await p.stop();
});

test('a failing pass goes to onError and the next pass still runs', async () => {
  const errors: unknown[] = [];
  let n = 0;
  const p = periodic(
    async () => {
      n++;
      if (n === 1) throw new Error('database busy');
    },
    { everyMs: HOUR, onError: (err) => errors.push(err) },
  );
  await p.runNow(); // joins the first (failing) pass: resolves, does not reject
  expect(errors.map((e) => (e as Error).message)).toEqual(['database busy']);
  await p.runNow();
  expect(n).toBe(2);
  expect(errors).toHaveLength(1);
  await p.stop();
});

test('stop waits for the pass in flight, tells it to end early, and no pass starts after it', async () => {
  let release!: () => void;
  const seen: boolean[] = [];
  let n = 0;
  const p = periodic(
    async (stopped) => {
      n++;
      await new Promise<void>((resolve) => (release = resolve));
      seen.push(stopped());
    },
    { everyMs: HOUR, onError: () => undefined },
  );
  let stoppedDone = false;
  const stopping = p.stop().then(() => (stoppedDone = true));
  await Promise.resolve();
  expect(stoppedDone).toBe(false);
  release();
  await stopping;
  expect(seen).toEqual([true]);
  await p.runNow();
  expect(n).toBe(1);
});
