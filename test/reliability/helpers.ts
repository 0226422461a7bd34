/**
 * Shared tools of the reliability suite: row counts over every table (to prove "nothing
 * written"), an HTTP fault proxy in front of a fake platform API (429 with Retry-After, 5xx,
 * hangs — switchable while Baton runs), a seeded PRNG, and a place to record measured figures
 * (printed, and written to test-artifacts/reliability/ for RELIABILITY.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SqlClient } from '../../src/store/sqlClient.js';
import { waitFor } from '../helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Rows

/** Every base table of the current schema (PGlite: public; PostgreSQL: the test's schema). */
export async function tableNames(sql: SqlClient): Promise<string[]> {
  const rows = await sql.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** Row count of every table, e.g. `{ handoff: 3, handoff_event: 6, … }`. */
export async function rowCounts(sql: SqlClient): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await tableNames(sql)) {
    const [r] = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${t}"`);
    out[t] = Number(r!.n);
  }
  return out;
}

/**
 * Tables a request may legitimately touch without writing anything about handoffs: Agenda's
 * job table is read and re-locked by its poller whatever happens. Row counts of it still count.
 */
export function diffCounts(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const delta = (after[k] ?? 0) - (before[k] ?? 0);
    if (delta !== 0) d[k] = delta;
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Fault proxy

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'ratelimit'; retryAfterSec: number }
  | { kind: 'http'; status: number }
  /**
   * Hold every request. On leaving this mode, `late` forwards the held requests (the platform
   * did the work after the client gave up: the ambiguous case), `drop` resets their sockets.
   */
  | { kind: 'hang'; release: 'late' | 'drop' };

export interface ProxyCall {
  method: string;
  path: string;
  /** What the client was answered: the upstream's status, or the injected one; 0 = held then reset. */
  status: number;
  mode: ProxyMode['kind'];
  at: number;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a fake platform API. Tests point Baton at `url` and
 * switch `mode` during a run; every request and what it was answered is in `calls`.
 */
export class FaultProxy {
  readonly calls: ProxyCall[] = [];
  private mode: ProxyMode = { kind: 'pass' };
  private held: { req: IncomingMessage; res: ServerResponse; body: Buffer; call: ProxyCall }[] = [];
  private server!: Server;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.setMode({ kind: 'pass' });
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  get current(): ProxyMode {
    return this.mode;
  }

  setMode(mode: ProxyMode): void {
    const previous = this.mode;
    this.mode = mode;
    if (previous.kind === 'hang' && mode.kind !== 'hang') {
      const held = this.held;
      this.held = [];
      for (const h of held) {
        if (previous.release === 'drop') {
          h.call.status = 0;
          h.res.socket?.destroy();
        } else void this.forward(h.req, h.res, h.body, h.call);
      }
    }
  }

  /** Calls answered with something other than a 2xx (injected or upstream), i.e. failed attempts. */
  failures(): ProxyCall[] {
    return this.calls.filter((c) => c.status < 200 || c.status >= 300);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const call: ProxyCall = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0, mode: this.mode.kind, at: Date.now() };
    this.calls.push(call);
    const m = this.mode;
    switch (m.kind) {
      case 'ratelimit':
        call.status = 429;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(m.retryAfterSec) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      case 'http':
        call.status = m.status;
        res.writeHead(m.status, { 'content-type': 'text/plain' });
        res.end('injected outage');
        return;
      case 'hang':
        this.held.push({ req, res, body, call });
        return;
      case 'pass':
        return this.forward(req, res, body, call);
    }
  }

  private async forward(req: IncomingMessage, res: ServerResponse, body: Buffer, call: ProxyCall): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
    try {
      const r = await fetch(this.target + (req.url ?? '/'), { method: req.method ?? 'GET', headers, ...(body.length ? { body } : {}) });
      const text = Buffer.from(await r.arrayBuffer());
      if (!call.status) call.status = r.status;
      if (res.destroyed || res.headersSent) return;
      const out: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) out[k] = v;
      });
      res.writeHead(r.status, out);
      res.end(text);
    } catch {
      if (!call.status) call.status = 502;
      if (!res.destroyed && !res.headersSent) {
        res.writeHead(502);
        res.end();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32): failures reproduce with the printed seed.

export { mulberry32 as prng } from '../../scripts/rng.js';

// ---------------------------------------------------------------------------------------------
// Figures

/** Prints a scenario's measured figures and keeps them in test-artifacts/reliability/<name>.json. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const db = process.env.DATABASE_URL ? 'postgresql' : 'pglite';
  const line = `[reliability] ${name} (${db}): ${JSON.stringify(figures)}`;
  process.stdout.write(line + '\n');
  try {
    const dir = join(process.cwd(), 'test-artifacts', 'reliability');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.${db}.json`), JSON.stringify({ name, database: db, at: new Date().toISOString(), ...figures }, null, 2) + '\n');
  } catch {
    /* figures are a convenience; the assertions are what matter */
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `fn` returns a truthy value, or throws naming `what` (the Slack harness's loop, slower defaults). */
export function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  return waitFor(what, fn, timeoutMs, everyMs);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
