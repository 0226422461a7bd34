/**
 * The data directory (BATON_DATA_DIR) on disk: one Baton at a time, and nobody else reading it.
 *
 * - The lock: `baton.lock`, created with O_EXCL, holds the holder's pid and its start time from
 *   /proc/<pid>/stat. Two processes on one embedded database would both write it and corrupt it,
 *   so a second start refuses while the holder runs. A lock whose process is gone (SIGKILL, power
 *   cut), or whose pid now belongs to another process (same pid, other start time), is taken over.
 * - The modes: the directory 0700, Baton's files in it 0600. PGlite sets its own modes (0666 at
 *   initdb, and pg_internal.init again on every start, whatever the umask), so this runs after
 *   the database is open, on every start.
 */
import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DataDirInUseError } from '../errors.js';
import type { Logger } from '../logger.js';
import { API_TOKEN_FILE } from '../apiToken.js';

export const LOCK_FILE = 'baton.lock';
/** The embedded database's directory inside the data directory. */
export const PGLITE_DIR = 'pglite';

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock if it is still ours. Synchronous, so it can run on the way out. */
  release(): void;
}

interface Holder {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot), or "unknown" without /proc. */
  startTime: string;
}

/** The data directory's absolute path, created 0700 if missing (tightenDataDir fixes an existing one). */
export function ensureDataDir(dir: string): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  return abs;
}

/**
 * Takes the data directory's lock, or throws DataDirInUseError naming the live holder.
 * A lock left by a process that is gone is taken over, and that is logged.
 */
export async function lockDataDir(dir: string, log: Logger): Promise<DataDirLock> {
  const abs = ensureDataDir(dir);
  const file = join(abs, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) ?? 'unknown' } satisfies Holder) + '\n';
  let unreadable = 0;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (create(file, mine)) return { file, release: () => release(file, mine) };
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
      throw err;
    }
    const holder = parseHolder(text);
    if (holder && isRunning(holder)) throw new DataDirInUseError(holder.pid, abs);
    // An empty or partial file is most likely a start that created it a moment ago and is
    // writing its pid now: give it a moment before calling it abandoned.
    if (!holder && unreadable++ < 3) {
      await delay(100);
      continue;
    }
    if (takeOver(file, text)) {
      log.warn({ dir: abs, stalePid: holder?.pid ?? null }, holder ? `took over the lock of a Baton that is no longer running (pid ${holder.pid})` : 'took over an unreadable lock file');
    }
  }
  // Only a storm of processes taking over the same stale lock gets here.
  throw new DataDirInUseError(parseHolder(safeRead(file))?.pid ?? 0, abs);
}

/**
 * Sets the data directory to 0700 and removes group and other bits from Baton's entries in it:
 * the embedded database (recursively, when `embedded`), the API token file and the lock. Entries
 * Baton did not write are left alone, so a data directory pointed at a shared folder by mistake
 * does not get someone else's files changed. Returns how many entries were loose, and logs it.
 */
export function tightenDataDir(dir: string, log: Logger, opts: { embedded: boolean }): number {
  const abs = resolve(dir);
  const loose: string[] = [];
  const tighten = (path: string, recurse: boolean) => {
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    // Never follow a symbolic link: chmod would change its target, wherever that is.
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) {
      chmodSync(path, st.mode & 0o700);
      loose.push(path);
    }
    if (recurse && st.isDirectory()) for (const name of readdirSync(path)) tighten(join(path, name), true);
  };
  tighten(abs, false);
  if (opts.embedded) tighten(join(abs, PGLITE_DIR), true);
  tighten(join(abs, API_TOKEN_FILE), false);
  tighten(join(abs, LOCK_FILE), false);
  if (loose.length) {
    // PGlite loosens a few of its own files on every start (pg_internal.init): expected, so info;
    // the directory itself or the token being open is the deployer's to know about.
    const notable = loose.some((p) => p === abs || p === join(abs, API_TOKEN_FILE));
    log[notable ? 'warn' : 'info'](
      { dir: abs, count: loose.length, examples: loose.slice(0, 5).map((p) => p.slice(abs.length + 1) || '.') },
      `removed group/other permissions from ${loose.length} entr${loose.length === 1 ? 'y' : 'ies'} of the data directory`,
    );
  }
  return loose.length;
}

/** Field 22 (starttime) of /proc/<pid>/stat; undefined when the process does not exist or there is no /proc. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has exited, only its parent has not collected it yet.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

function isRunning(holder: Holder): boolean {
  const start = processStartTime(holder.pid);
  if (start !== undefined) return start === holder.startTime;
  if (existsProc()) return false;
  // No /proc (not Linux): a live pid is all we can check, so a recycled pid keeps the lock until
  // the file is removed by hand.
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let procMounted: boolean | undefined;
function existsProc(): boolean {
  procMounted ??= processStartTime(process.pid) !== undefined;
  return procMounted;
}

/** Creates the lock file with O_EXCL and our holder line; false when it exists already. */
function create(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock whose content was `seen`. Renamed aside first (atomic), then checked: if
 * another starter replaced the stale lock with its own live one in between, that lock is put back
 * and nothing is taken over. Returns whether the stale lock was removed by us.
 */
function takeOver(file: string, seen: string): boolean {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (safeRead(aside) !== seen) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone created a new lock meanwhile; theirs stands.
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return true;
}

function release(file: string, mine: string): void {
  if (safeRead(file) !== mine) return;
  try {
    unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (Number.isSafeInteger(h.pid) && h.pid! > 0 && typeof h.startTime === 'string') return { pid: h.pid!, startTime: h.startTime };
  } catch {
    // Partial or foreign content: not a holder we can check.
  }
  return undefined;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
