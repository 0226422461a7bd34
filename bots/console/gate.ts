/**
 * Who may open the console: a browser on the same machine, or anyone holding the API token.
 *
 * - Loopback: the TCP peer is 127.0.0.0/8 or ::1, the request carries no proxy header
 *   (X-Forwarded-For, Forwarded, X-Real-IP — a reverse proxy on the same host would otherwise
 *   make every visitor "local"), and the Host header names a loopback host (a DNS-rebinding page
 *   on evil.example resolving to 127.0.0.1 sends Host: evil.example).
 * - Token: `Authorization: Bearer <BATON_API_TOKEN>`, or `?token=<BATON_API_TOKEN>` once, which
 *   sets a session cookie and redirects to the same URL without the token (so it does not stay in
 *   the address bar or the history), or the form at /console/login. The cookie holds an HMAC of
 *   the token, never the token: rotating BATON_API_TOKEN ends every session.
 *
 * State-changing requests (POST) also need `X-Baton-Console: 1` and a same-origin Origin when the
 * browser sends one: another site cannot add that header without a CORS preflight we never
 * approve, so a page elsewhere cannot make a local browser act through the console.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export const SESSION_COOKIE = 'baton_console';
export const CSRF_HEADER = 'x-baton-console';
const SESSION_MAX_AGE_S = 12 * 3600;

const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host'];

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** "localhost", "127.x.y.z" or "[::1]", with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name.endsWith('.localhost');
}

export function isLocalRequest(req: Request): boolean {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  if (PROXY_HEADERS.some((h) => req.headers[h] !== undefined)) return false;
  return isLoopbackHost(req.headers.host);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(req: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export type Access = 'local' | 'token' | 'session' | 'none';

export class ConsoleGate {
  private readonly session: string;

  constructor(private readonly apiToken: string) {
    this.session = createHmac('sha256', apiToken).update('baton-console-session-v1').digest('base64url');
  }

  tokenMatches(candidate: string | undefined): boolean {
    return typeof candidate === 'string' && candidate.length > 0 && safeEqual(candidate.trim(), this.apiToken);
  }

  access(req: Request): Access {
    if (isLocalRequest(req)) return 'local';
    const bearer = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    if (bearer && this.tokenMatches(bearer[1])) return 'token';
    const cookie = cookies(req).get(SESSION_COOKIE);
    if (cookie && safeEqual(cookie, this.session)) return 'session';
    return 'none';
  }

  /** Starts a session in this browser. */
  setSession(req: Request, res: Response): void {
    const secure = req.secure ? '; Secure' : '';
    res.append('Set-Cookie', `${SESSION_COOKIE}=${this.session}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`);
  }

  /** For POSTs: the console's own header, and no foreign Origin. */
  sameOriginWrite(req: Request): boolean {
    if (req.get(CSRF_HEADER) !== '1') return false;
    const origin = req.get('origin');
    if (!origin) return true;
    try {
      return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }
}
