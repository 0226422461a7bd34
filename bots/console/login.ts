/**
 * Signing in to the console, and out. Routes under /console, mounted before the session check:
 *
 *   GET  /console/login               the sign-in page (a signed-in browser goes to /console)
 *   GET  /console/login?token=<link>  a single-use link: sets a session, 303 to /console
 *   POST /console/login               field `token` = the API token (form or JSON): sets a session
 *   POST /console/logout              ends the session, clears the cookie
 *   POST /console/login-link          Authorization: Bearer <API token> → a fresh single-use link
 *
 * Every attempt with a secret (link, API token in the form, bearer on login-link) counts toward
 * the lock-out of its TCP peer address: 10 failures within a minute → 429 for a minute, during
 * which even a right secret is refused unread, so the lock-out cannot be used as an oracle.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../../src/logger.js';
import { ForbiddenError, MalformedError, TooManyRequestsError, UnauthorizedError } from '../../src/errors.js';
import type { ConsoleGate } from './gate.js';
import { FAILURE_WINDOW_MS, MAX_FAILURES } from './sessions.js';
import { escapeHtml } from './slackHtml.js';

export const CONSOLE_PATH = '/console';

/** The sign-in link for a token, on BATON_PUBLIC_URL when set (a path prefix there is kept). */
export function loginLink(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}${CONSOLE_PATH}/login?token=${token}`;
}

/** Why the sign-in page is shown, from the redirect's query (`?expired`, `?signed-out`). */
const NOTICES: Record<string, string> = {
  expired: 'Your console session has ended (it lasts 12 hours, and a restart of Baton ends it). Sign in again.',
  'signed-out': 'You signed out of the console.',
};

export function loginPage(message?: { text: string; error?: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Baton console — sign in</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d}
input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:.75rem;padding:.5rem 1rem;font:inherit}
.err{color:#b00020}.note{color:#1d5c2e}code{background:#f4f4f4;padding:0 .2em}li{margin:.3rem 0}</style></head>
<body><h1>Baton console — sign in</h1>
${message ? `<p class="${message.error ? 'err' : 'note'}" role="alert">${escapeHtml(message.text)}</p>` : ''}
<p>The console opens only with a sign-in. Any of these works:</p>
<ul>
<li>Open the <strong>sign-in link Baton printed when it started</strong> (<code>…/console/login?token=…</code>). Each link works once.</li>
<li>On the machine Baton runs on, run <code>npm run console:link</code> for a fresh link
(it asks the running Baton with the API token; add <code>-- https://your-baton</code> for another one).</li>
<li>Enter the <strong>API token</strong> below (<code>BATON_API_TOKEN</code>, or in development the contents of
<code>.baton-data/api-token</code>). Use this only over https.</li>
</ul>
<form method="post" action="${CONSOLE_PATH}/login"><label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form></body></html>`;
}

const LINK_REFUSALS = {
  used: 'This sign-in link has already been used: each link opens the console once, in one browser. Get a new one with "npm run console:link" on the machine Baton runs on, or sign in with the API token below.',
  expired: 'This sign-in link has expired (links last 12 hours). Get a new one with "npm run console:link" on the machine Baton runs on, or sign in with the API token below.',
  unknown: 'That is not a sign-in link of this Baton (links end when Baton restarts). Get a new one with "npm run console:link" on the machine Baton runs on, or sign in with the API token below.',
} as const;

const tooMany = (seconds: number) =>
  `Too many failed sign-ins from your address (${MAX_FAILURES} within ${FAILURE_WINDOW_MS / 1000} seconds): wait ${seconds} seconds, then try again.`;

const wantsJson = (req: Request) => /^application\/([\w.+-]+\+)?json\b/i.test(req.headers['content-type'] ?? '');

export function loginRoutes(deps: { gate: ConsoleGate; publicUrl: string | undefined; log: Logger }): Router {
  const { gate, log } = deps;
  const r = express.Router();

  /** 429 when the address is locked out: answered before the secret is even read. */
  function refuseIfLocked(req: Request, res: Response, asHtml: boolean): boolean {
    const wait = gate.sessions.lockedFor(gate.address(req));
    if (!wait) return false;
    res.set('Retry-After', String(wait));
    if (asHtml) res.status(429).type('html').send(loginPage({ text: tooMany(wait), error: true }));
    else throw new TooManyRequestsError(tooMany(wait), wait);
    return true;
  }

  function failed(req: Request, what: string): void {
    gate.sessions.fail(gate.address(req));
    log.warn({ address: gate.address(req) }, `console: sign-in refused (${what})`);
  }

  r.get('/login', (req, res) => {
    const token = req.query.token;
    if (token === undefined) {
      if (gate.session(req) === 'valid') return res.redirect(303, CONSOLE_PATH);
      const notice = Object.keys(NOTICES).find((k) => k in req.query);
      res.type('html').send(loginPage(notice ? { text: NOTICES[notice]! } : undefined));
      return;
    }
    // A browser already signed in that opens its link again (a reload, the history) just goes on.
    if (gate.session(req) === 'valid') return res.redirect(303, CONSOLE_PATH);
    if (refuseIfLocked(req, res, true)) return;
    const result = typeof token === 'string' ? gate.sessions.redeemLink(token) : ({ ok: false, why: 'unknown' } as const);
    if (!result.ok) {
      failed(req, `link ${result.why}`);
      res.status(401).type('html').send(loginPage({ text: LINK_REFUSALS[result.why], error: true }));
      return;
    }
    gate.startSession(res, result.session);
    log.info({ address: gate.address(req), expiresAt: result.expiresAt }, 'console: signed in with a sign-in link');
    // The token leaves the address bar and the history: the cookie carries the session now.
    res.redirect(303, CONSOLE_PATH);
  });

  r.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), express.json({ limit: '4kb', strict: true }), (req, res) => {
    const json = wantsJson(req);
    // A sign-in form posted from another site would sign the victim in as the attacker.
    if (!gate.sameOrigin(req)) throw new ForbiddenError('Sign in from the console\'s own sign-in page: this request came from another site.');
    if (refuseIfLocked(req, res, !json)) return;
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || token === '') throw new MalformedError('Send the API token in the field "token" (a form field or a JSON string).');
    if (!gate.apiTokenMatches(token)) {
      failed(req, 'wrong API token');
      const message = 'That is not the API token of this Baton. It is BATON_API_TOKEN, or in development the contents of .baton-data/api-token.';
      if (json) throw new UnauthorizedError(message);
      res.status(401).type('html').send(loginPage({ text: message, error: true }));
      return;
    }
    const { session, expiresAt } = gate.sessions.startSession();
    gate.startSession(res, session);
    log.info({ address: gate.address(req), expiresAt }, 'console: signed in with the API token');
    if (json) res.json({ signedIn: true, expiresAt: expiresAt.toISOString() });
    else res.redirect(303, CONSOLE_PATH);
  });

  r.post('/logout', (req, res) => {
    if (!gate.sameOrigin(req)) throw new ForbiddenError('Sign out from the console itself: this request came from another site.');
    gate.endSession(req, res);
    if (req.get('accept')?.includes('application/json')) res.json({ signedOut: true });
    else res.redirect(303, `${CONSOLE_PATH}/login?signed-out`);
  });

  r.post('/login-link', (req, res) => {
    // Bearer only: a browser never sends it on its own, so no CSRF guard is needed here.
    const bearer = gate.bearer(req);
    if (bearer === undefined) throw new UnauthorizedError('A sign-in link needs the API token: send "Authorization: Bearer <BATON_API_TOKEN>" (npm run console:link does).');
    if (refuseIfLocked(req, res, false)) return;
    if (!gate.apiTokenMatches(bearer)) {
      failed(req, 'wrong API token for a link');
      throw new UnauthorizedError('The bearer token is not the API token of this Baton: a sign-in link needs BATON_API_TOKEN (in development, .baton-data/api-token).');
    }
    const { token, expiresAt } = gate.sessions.issueLink();
    // Without BATON_PUBLIC_URL, the address the caller reached us at is the best guess of the one a person will open.
    const base = deps.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    log.info({ address: gate.address(req), expiresAt }, 'console: sign-in link issued');
    res.status(201).json({ link: loginLink(base, token), expiresAt: expiresAt.toISOString() });
  });

  return r;
}
