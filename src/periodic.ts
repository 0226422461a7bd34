/**
 * A background pass that runs now and then every `everyMs`, never twice at once: a pass still
 * running when the next one is due is joined, not doubled. A failing pass is reported to `onError`
 * and the next one runs as usual. `stop()` ends the timer and waits for the pass in flight.
 * The timer is unref'd: a forgotten periodic never keeps the process alive.
 */
export interface Periodic {
  /** Runs a pass now, or joins the one in flight; resolves when it is over (never rejects). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

/** `pass` is given `stopped()`: a long pass checks it between items to end early once stop() was called. */
export function periodic(pass: (stopped: () => boolean) => Promise<void>, opts: { everyMs: number; onError: (err: unknown) => void }): Periodic {
  let running: Promise<void> | undefined;
  let stopped = false;
  const runNow = (): Promise<void> => {
    if (stopped) return running ?? Promise.resolve();
    running ??= pass(() => stopped)
      .catch(opts.onError)
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  void runNow();
  const timer = setInterval(() => void runNow(), opts.everyMs);
  timer.unref();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
