/**
 * Baton as a real child process (`node --import tsx bots/main.ts`), the way `npm start` runs it:
 * for the tests that kill it with SIGKILL, read its RSS from /proc, or need it to survive what a
 * request does to it. Its database is a PGlite data directory, or a schema on the PostgreSQL
 * server of DATABASE_URL, and outlives the process so a second one can start on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { projectRoot } from '../../src/store/migrate.js';
import { apiRequest } from '../helpers/baton.js';

export const CHILD_TOKEN = 'reliability-token-0123456789abcdef';

export interface ChildDatabase {
  kind: 'pglite' | 'postgres';
  /** Environment that points Baton at it. */
  env: Record<string, string>;
  /** For the test's own queries: a fresh pg client (PostgreSQL) — PGlite's directory is the process's alone. */
  url: string | undefined;
  dir: string;
  drop(): Promise<void>;
}

/** A data directory (PGlite) or a fresh schema (PostgreSQL when DATABASE_URL is set), plus a playbook file. */
export function childDatabase(playbookYaml: string): ChildDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'baton-rel-'));
  writeFileSync(join(dir, 'playbook.yml'), playbookYaml);
  const base = process.env.DATABASE_URL;
  const common = { BATON_PLAYBOOK: join(dir, 'playbook.yml'), BATON_DATA_DIR: join(dir, 'data') };
  if (!base) {
    return { kind: 'pglite', env: common, url: undefined, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `t_rel_${randomBytes(5).toString('hex')}`;
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  return {
    kind: 'postgres',
    env: { ...common, DATABASE_URL: u.toString() },
    url: u.toString(),
    dir,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

export interface ChildBaton {
  pid: number;
  url: string;
  proc: ChildProcess;
  /** Log lines (JSON) so far. */
  lines: string[];
  exited: Promise<number | null>;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  /**
   * With `inspectMemory` (entry test/reliability/childMain.ts): the child collects garbage, then
   * reports process.memoryUsage() — a heap figure that does not move with GC timing, as RSS does.
   */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `bots/main.ts` (or another entry, e.g. test/reliability/childMain.ts) with `env`;
 * resolves once it logs "Baton is listening".
 */
export async function startChildBaton(env: Record<string, string>, opts: { timeoutMs?: number; keepLines?: number; entry?: string; inspectMemory?: boolean } = {}): Promise<ChildBaton> {
  const entry = opts.inspectMemory ? 'test/reliability/childMain.ts' : (opts.entry ?? 'bots/main.ts');
  const proc = spawn(process.execPath, [...(opts.inspectMemory ? ['--expose-gc'] : []), '--import', 'tsx', entry], {
    cwd: projectRoot(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'development',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      BATON_API_TOKEN: CHILD_TOKEN,
      BATON_OUTBOX_POLL_MS: '200',
      ...env,
    },
    stdio: opts.inspectMemory ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = opts.keepLines ?? 2000;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-8000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Baton did not start within ${opts.timeoutMs ?? 60_000} ms:\n${lines.slice(-20).join('\n')}\n${stderr}`)), opts.timeoutMs ?? 60_000);
    // Read every line, always: a child whose stdout pipe fills up stops.
    const logDir = process.env.RELIABILITY_LOG_DIR;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      // RELIABILITY_LOG_DIR=<dir> keeps each child's full log (<pid>.log) for a post-mortem.
      if (logDir) appendFileSync(join(logDir, `${proc.pid}.log`), line + '\n');
      if (lines.length > keep) lines.splice(0, lines.length - keep);
      if (line.includes('"Baton is listening"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Baton exited with ${code} before listening:\n${lines.slice(-20).join('\n')}\n${stderr}`));
    });
  });
  return {
    pid: proc.pid!,
    url,
    proc,
    lines,
    exited,
    api: (method, path, body, headers = {}) => apiRequest(url, CHILD_TOKEN, method, path, body, headers),
    memoryAfterGc() {
      if (!proc.send) return Promise.reject(new Error('start the child with inspectMemory to read its heap'));
      return new Promise((resolve, reject) => {
        const onMessage = (m: unknown) => {
          const memory = (m as { memory?: NodeJS.MemoryUsage }).memory;
          if (!memory) return;
          proc.off('message', onMessage);
          resolve(memory);
        };
        proc.on('message', onMessage);
        proc.send!('memory', (err) => err && reject(err));
      });
    },
    rss() {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    },
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}
