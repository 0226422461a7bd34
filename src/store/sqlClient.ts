/**
 * The smallest SQL surface Baton needs below Prisma: migrations, advisory locks, readiness probes.
 * Implemented over PGlite (embedded) and over a `pg` Pool (server) in src/store/database.ts.
 */
export interface SqlClient {
  /** One parameterised statement ($1, $2 …); returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements separated by semicolons, no parameters (a migration file). */
  exec(sql: string): Promise<void>;
  /** Runs fn inside one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
}
