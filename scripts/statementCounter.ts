/**
 * Counts the SQL statements this process sends, grouped by statement text: every `pg` client
 * query (PrismaPg and the jobs scheduler on PostgreSQL), every PGlite query/exec, and the
 * BEGIN/COMMIT of PGlite transactions (PGlite sends those itself). Benchmarks only: it patches
 * the driver prototypes, so install it before the database is opened.
 *
 * `only` narrows the count to work started inside `counter.attribute(fn)` (an AsyncLocalStorage
 * scope), so statements of the outbox, the job scheduler or a load generator are left out.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

export interface StatementCounter {
  readonly counts: Map<string, number>;
  counting: boolean;
  total(): number;
  clear(): void;
  /** Runs fn with its statements attributed (counted when `scoped`). */
  attribute<T>(fn: () => T): T;
  top(n: number): [string, number][];
}

export function installStatementCounter(opts: { scoped?: boolean } = {}): StatementCounter {
  const scope = new AsyncLocalStorage<true>();
  const counts = new Map<string, number>();
  const counter: StatementCounter = {
    counts,
    counting: false,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    clear: () => counts.clear(),
    attribute: (fn) => scope.run(true, fn),
    top: (n) => [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, n),
  };
  const norm = (sql: unknown): string => {
    const text = typeof sql === 'string' ? sql : ((sql as { text?: string })?.text ?? String(sql));
    return text.replace(/\s+/g, ' ').trim().slice(0, 150);
  };
  const note = (sql: unknown) => {
    if (!counter.counting) return;
    if (opts.scoped && !scope.getStore()) return;
    const k = norm(sql);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const q = pg.Client.prototype.query as (...a: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: unknown }).query = function (this: unknown, ...a: unknown[]) {
    note(a[0]);
    return q.apply(this, a);
  };
  const proto = PGlite.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ['query', 'exec'] as const) {
    const orig = proto[m]!;
    proto[m] = function (this: unknown, ...a: unknown[]) {
      note(a[0]);
      return orig.apply(this, a);
    };
  }
  const tx = proto.transaction!;
  proto.transaction = function (this: unknown, fn: unknown) {
    note('BEGIN (PGlite transaction)');
    return tx.call(this, async (t: Record<string, (...a: unknown[]) => unknown>) => {
      const wrapped = Object.create(t) as Record<string, (...a: unknown[]) => unknown>;
      for (const m of ['query', 'exec'] as const) {
        wrapped[m] = (...a: unknown[]) => {
          note(a[0]);
          return t[m]!(...a);
        };
      }
      try {
        return await (fn as (t: unknown) => Promise<unknown>)(wrapped);
      } finally {
        note('COMMIT/ROLLBACK (PGlite transaction)');
      }
    });
  };
  return counter;
}
