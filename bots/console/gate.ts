/**
 * Who may open the console: a browser holding a session, and nobody else.
 *
 * Nothing about the connection grants access — not a loopback peer address, not the Host header,
 * not X-Forwarded-*: any same-machine forwarder (an SSH tunnel, a sidecar proxy, `kubectl
 * port-forward`) makes a stranger look local, and headers are whatever the client writes. A
 * session is started (login.ts) by a single-use sign-in link Baton prints at start or mints on
 * POST /console/login-link for an API-token holder, or by the API token itself at POST
 * /console/login. The cookie carries a random session id (never a token); sessions live in memory
 * (sessions.ts) for 12 hours.
 *
 * State-changing requests (POST) also need `X-Baton-Console: 1`, a same-origin Origin when the
 * browser sends one, and no cross-site Sec-Fetch-Site: another site cannot add that header without
 * a CORS preflight we never approve, so a page elsewhere cannot act through a signed-in browser.
 */
import { tokensMatch } from '../../src/apiToken.js';
import type { Request, Response } from 'express';
import { ConsoleSessions, type SessionState } from './sessions.js';

export const SESSION_COOKIE = 'baton_console';
export const CSRF_HEADER = 'x-baton-console';


function cookies(req: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export interface ConsoleGateOptions {
  apiToken: string;
  /** BATON_PUBLIC_URL: https there makes the cookie Secure, and its origin is accepted for writes. */
  publicUrl?: string | undefined;
  sessions: ConsoleSessions;
}

export class ConsoleGate {
  readonly sessions: ConsoleSessions;
  private readonly apiToken: string;
  private readonly secure: boolean;
  private readonly publicOrigin: string | undefined;

  constructor(options: ConsoleGateOptions) {
    this.apiToken = options.apiToken;
    this.sessions = options.sessions;
    const pub = options.publicUrl ? new URL(options.publicUrl) : undefined;
    this.secure = pub?.protocol === 'https:';
    this.publicOrigin = pub?.origin.toLowerCase();
  }

  apiTokenMatches(candidate: unknown): boolean {
    return typeof candidate === 'string' && tokensMatch(candidate, this.apiToken);
  }

  /** The bearer token of the request, exactly as sent after "Bearer " (undefined without one). */
  bearer(req: Request): string | undefined {
    const m = /^Bearer (.*)$/s.exec(req.get('authorization') ?? '');
    return m?.[1];
  }

  sessionOf(req: Request): string | undefined {
    return cookies(req).get(SESSION_COOKIE) || undefined;
  }

  /** Whether the request's session is valid, ended (signed out or expired), or absent. */
  session(req: Request): SessionState {
    return this.sessions.check(this.sessionOf(req));
  }

  /** The address failed sign-ins are counted against: the TCP peer, never a header a client writes. */
  address(req: Request): string {
    const a = req.socket.remoteAddress ?? 'unknown';
    return a.startsWith('::ffff:') ? a.slice(7) : a;
  }

  /** Starts a session in this browser. */
  startSession(res: Response, session: string): void {
    const maxAge = Math.round(this.sessions.sessionTtlMs / 1000);
    res.append('Set-Cookie', `${SESSION_COOKIE}=${session}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${this.secure ? '; Secure' : ''}`);
  }

  endSession(req: Request, res: Response): void {
    const session = this.sessionOf(req);
    if (session) this.sessions.end(session);
    res.append('Set-Cookie', `${SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0${this.secure ? '; Secure' : ''}`);
  }

  /**
   * For browser writes: no cross-site fetch, and an Origin (when sent) that is this page's own —
   * the Host the browser addressed, or BATON_PUBLIC_URL. Not an access check: only a CSRF guard.
   */
  sameOrigin(req: Request): boolean {
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = req.get('origin');
    if (!origin) return true;
    try {
      const o = new URL(origin);
      return o.host.toLowerCase() === (req.headers.host ?? '').toLowerCase() || o.origin.toLowerCase() === this.publicOrigin;
    } catch {
      return false;
    }
  }

  /** For the console API's writes: the console's own header too (a form on another site cannot send it). */
  consoleWrite(req: Request): boolean {
    return req.get(CSRF_HEADER) === '1' && this.sameOrigin(req);
  }
}
