/**
 * The console's sign-in state, in memory: sessions, single-use sign-in links, and failed sign-ins
 * per address. In memory on purpose: a restart ends every session and voids every link, so a
 * leaked link or cookie is worth nothing once Baton restarts, and nothing secret is written to
 * the database or the disk. Secrets are kept only as SHA-256 digests (the map keys), so a lookup
 * compares digests, not the secrets themselves, and a heap dump shows no usable value.
 *
 * Time comes from `now` so tests can move it (a 12-hour expiry, a one-minute window) without sleeping.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_TTL_MS = 12 * 3600_000;
/** A link not opened within this long is void (the start-up line may sit in a log for days). */
export const LINK_TTL_MS = 12 * 3600_000;
export const FAILURE_WINDOW_MS = 60_000;
export const MAX_FAILURES = 10;
/** Bounds on what an unauthenticated client can make us remember (many addresses, many links). */
const MAX_TRACKED_ADDRESSES = 10_000;
const MAX_OPEN_LINKS = 1_000;

export interface ConsoleSessionsOptions {
  now?: () => number;
  sessionTtlMs?: number;
  linkTtlMs?: number;
}

export type LinkResult =
  | { ok: true; session: string; expiresAt: Date }
  | { ok: false; why: 'used' | 'expired' | 'unknown' };

export type SessionState = 'valid' | 'ended' | 'none';

const digest = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('base64url');
/** 32 random bytes, 43 url-safe characters: unguessable, and safe in a URL or a cookie unescaped. */
const secret = (): string => randomBytes(32).toString('base64url');

export class ConsoleSessions {
  readonly now: () => number;
  readonly sessionTtlMs: number;
  readonly linkTtlMs: number;
  /** digest(session) → expiry (ms). */
  private readonly sessions = new Map<string, number>();
  /** digest(session) of sessions that ended (sign-out, expiry), to say "ended" rather than "none". */
  private readonly ended = new Map<string, number>();
  /** digest(link token) → expiry (ms), while unused. */
  private readonly links = new Map<string, number>();
  /** digest(link token) of links used or expired, to say which (kept one link lifetime longer). */
  private readonly voidLinks = new Map<string, { why: 'used' | 'expired'; until: number }>();
  /** address → times of its failed sign-ins in the window, and the end of its lock-out. */
  private readonly failures = new Map<string, { times: number[]; lockedUntil: number }>();

  constructor(options: ConsoleSessionsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sessionTtlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
    this.linkTtlMs = options.linkTtlMs ?? LINK_TTL_MS;
  }

  /** A new single-use sign-in token (for /console/login?token=…). */
  issueLink(): { token: string; expiresAt: Date } {
    this.prune();
    if (this.links.size >= MAX_OPEN_LINKS) {
      // Only API-token holders can mint links; still, drop the oldest rather than grow without end.
      const oldest = [...this.links.entries()].sort((a, b) => a[1] - b[1])[0];
      if (oldest) this.links.delete(oldest[0]);
    }
    const token = secret();
    const expiresAt = this.now() + this.linkTtlMs;
    this.links.set(digest(token), expiresAt);
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Spends a link token: the first caller gets a session, every later one is told it was used. */
  redeemLink(token: string): LinkResult {
    const key = digest(token);
    const expiresAt = this.links.get(key);
    if (expiresAt === undefined) return { ok: false, why: this.voidLinks.get(key)?.why ?? 'unknown' };
    this.links.delete(key);
    const expired = expiresAt <= this.now();
    this.voidLinks.set(key, { why: expired ? 'expired' : 'used', until: this.now() + this.linkTtlMs });
    if (expired) return { ok: false, why: 'expired' };
    return { ok: true, ...this.startSession() };
  }

  startSession(): { session: string; expiresAt: Date } {
    this.prune();
    const session = secret();
    const expiresAt = this.now() + this.sessionTtlMs;
    this.sessions.set(digest(session), expiresAt);
    return { session, expiresAt: new Date(expiresAt) };
  }

  check(session: string | undefined): SessionState {
    if (!session) return 'none';
    const key = digest(session);
    const expiresAt = this.sessions.get(key);
    if (expiresAt === undefined) return this.ended.has(key) ? 'ended' : 'none';
    if (expiresAt > this.now()) return 'valid';
    this.end(session);
    return 'ended';
  }

  end(session: string): void {
    const key = digest(session);
    if (!this.sessions.delete(key)) return;
    this.ended.set(key, this.now() + this.sessionTtlMs);
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  lockedFor(address: string): number {
    const f = this.failures.get(address);
    if (!f) return 0;
    const left = f.lockedUntil - this.now();
    if (left > 0) return Math.ceil(left / 1000);
    if (f.lockedUntil) this.failures.delete(address);
    return 0;
  }

  /** Records a failed sign-in; the MAX_FAILURES-th within the window locks the address for the window. */
  fail(address: string): void {
    const now = this.now();
    let f = this.failures.get(address);
    if (!f) {
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.pruneFailures(now);
      // Still full of live entries: forget the oldest one rather than grow without end.
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
      f = { times: [], lockedUntil: 0 };
      this.failures.set(address, f);
    }
    f.times = f.times.filter((t) => t > now - FAILURE_WINDOW_MS);
    f.times.push(now);
    if (f.times.length >= MAX_FAILURES) {
      f.lockedUntil = now + FAILURE_WINDOW_MS;
      f.times = [];
    }
  }

  private pruneFailures(now: number): void {
    for (const [a, f] of this.failures) if (f.lockedUntil <= now && f.times.every((t) => t <= now - FAILURE_WINDOW_MS)) this.failures.delete(a);
  }

  private prune(): void {
    const now = this.now();
    for (const [k, exp] of this.sessions) {
      if (exp > now) continue;
      this.sessions.delete(k);
      this.ended.set(k, now + this.sessionTtlMs);
    }
    for (const [k, exp] of this.links) {
      if (exp > now) continue;
      this.links.delete(k);
      this.voidLinks.set(k, { why: 'expired', until: now + this.linkTtlMs });
    }
    for (const [k, until] of this.ended) if (until <= now) this.ended.delete(k);
    for (const [k, v] of this.voidLinks) if (v.until <= now) this.voidLinks.delete(k);
  }
}
