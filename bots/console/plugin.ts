/**
 * The local console at /console: try Baton without Slack or Teams. A third adapter beside them —
 * it renders the cards they would post, and its buttons go through the same core calls
 * (`service.act`) — served by Baton's own HTTP server as plain HTML, CSS and JS (no build step,
 * nothing from a CDN: the Adaptive Cards renderer is served from node_modules).
 *
 * On by default outside production; off when NODE_ENV=production unless BATON_CONSOLE=on
 * (BATON_CONSOLE=off turns it off anywhere). Who may open it: see gate.ts.
 *
 * Routes (all under /console, JSON under /console/api with the app's error shape):
 *   GET  /console                          the page
 *   GET  /console/login, POST /console/login   token form (when not on loopback)
 *   GET  /console/static/*, /console/vendor/adaptivecards.min.js
 *   GET  /console/api/bootstrap            people, transitions, platforms
 *   GET  /console/api/handoffs?status=open|all
 *   GET  /console/api/handoffs/:id?as=<person>&mode=summary|details
 *   POST /console/api/handoffs/:id/actions {action, actor, reasonCode?, note?, to?, expectedVersion?}
 *   POST /console/api/demo                 {transition?, acceptMinutes?}
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { CoreContext, PluginFactory } from '../../src/app.js';
import { ForbiddenError, NotFoundError, UnauthorizedError, UnsupportedMediaTypeError } from '../../src/errors.js';
import { projectRoot } from '../../src/store/migrate.js';
import { CSRF_HEADER, ConsoleGate } from './gate.js';
import { DemoHandoffs } from './demo.js';
import { escapeHtml } from './slackHtml.js';
import { INTEGRATION, viewerOf, type Viewer } from '../../src/domain/policy.js';
import { assertMaySeeHandoffs } from '../../src/access.js';

export const CONSOLE_PATH = '/console';

export function consolePublicDir(): string {
  return join(projectRoot(), 'bots', 'console', 'public');
}

/** The official renderer's browser bundle, from the installed package. */
export function adaptiveCardsBundle(): string {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve('adaptivecards/package.json'));
  } catch {
    dir = join(projectRoot(), 'node_modules', 'adaptivecards');
  }
  return join(dir, 'dist', 'adaptivecards.min.js');
}

/**
 * The API token the console accepts. startBaton settles it (BATON_API_TOKEN, or the development
 * token it writes to <data dir>/api-token) before any mount runs, so reading the file here finds it.
 */
function apiTokenOf(config: CoreContext['config']): string {
  if (config.apiToken) return config.apiToken;
  return readFileSync(join(config.dataDir, 'api-token'), 'utf8').trim();
}

/**
 * Who is looking at the console: whoever passed its gate holds this machine or the API token, so
 * they are the integration (every handoff, no actor of their own: actions name a playbook person).
 * The one place to change when sign-in names a person.
 */
function operator(_req: Request): Viewer {
  return INTEGRATION;
}

function handoffId(raw: unknown): number {
  const s = String(raw ?? '').replace(/^#/, '');
  const n = /^\d{1,10}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 31 - 1) throw new NotFoundError(`There is no handoff "${String(raw)}".`);
  return n;
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // The Adaptive Cards renderer sets inline styles on the elements it creates.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function loginPage(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Baton console — sign in</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d}
input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:.75rem;padding:.5rem 1rem;font:inherit}
.err{color:#b00020}code{background:#f4f4f4;padding:0 .2em}</style></head>
<body><h1>Baton console</h1>
<p>This console is open without a token only from the machine Baton runs on. From elsewhere, enter the API token
(<code>BATON_API_TOKEN</code>, or in development the contents of <code>.baton-data/api-token</code>).</p>
${message ? `<p class="err">${escapeHtml(message)}</p>` : ''}
<form method="post" action="${CONSOLE_PATH}/login"><label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the console</button></form></body></html>`;
}

export interface ConsolePluginOptions {
  /** How often the page polls for changes (ms). */
  pollMs?: number;
}

export function createConsolePlugin(options: ConsolePluginOptions = {}): PluginFactory {
  return async (core) => {
    const log = core.log.child({ component: 'console' });
    if (!core.config.console) {
      log.info(core.config.production ? 'The local console is off in production: set BATON_CONSOLE=on to serve it at /console' : 'The local console is off (BATON_CONSOLE=off)');
      return undefined;
    }
    // Loaded only when the console is on: it renders Teams cards with the Teams adapter's own code,
    // which brings botbuilder (about 90 MB) into a process that may not otherwise need it.
    const { ConsoleViews } = await import('./views.js');
    const demos = new DemoHandoffs(core);
    const views = new ConsoleViews(core, demos.ids);
    const { service } = core;

    function api(): Router {
      const r = express.Router();
      r.use((req, _res, next) => {
        if (req.method !== 'POST') return next();
        const type = req.headers['content-type'] ?? '';
        if (!/^application\/json\b/i.test(type)) return next(new UnsupportedMediaTypeError(`Send JSON: Content-Type must be application/json (got "${type || 'none'}").`));
        next();
      });
      r.use(express.json({ limit: '64kb', strict: true }));

      r.get('/bootstrap', (_req, res) => {
        const pb = service.playbook;
        const dir = service.directory;
        res.json({
          organization: pb.organization,
          pollMs: options.pollMs ?? 1500,
          platforms: { slack: Boolean(core.config.slack), teams: Boolean(core.config.teams) },
          jobs: Boolean(core.jobs),
          teams: pb.teams.map((t) => ({ id: t.id, name: t.name, leadId: t.leadId, headId: t.headId })),
          people: pb.people.map((p) => ({
            id: p.id,
            name: p.name,
            email: p.email,
            team: p.teamId,
            teamName: dir.teams.get(p.teamId)?.name ?? p.teamId,
            timeZone: p.timeZone,
            active: p.active,
            admin: dir.isAdmin(p.id),
            leads: pb.teams.filter((t) => t.leadId === p.id || t.headId === p.id).map((t) => t.id),
          })),
          transitions: pb.transitions.map((t) => ({ id: t.id, name: t.name, rejectReasons: t.rejectReasons, acceptMs: t.sla.acceptMs, packet: t.packet.map((f) => ({ key: f.key, label: f.label })) })),
        });
      });

      r.get('/handoffs', async (req, res) => {
        const status = req.query.status === 'all' ? undefined : typeof req.query.status === 'string' && req.query.status ? req.query.status : 'open';
        const viewer = operator(req);
        assertMaySeeHandoffs(service, viewer);
        const { handoffs } = await service.list({ status, limit: 100 });
        res.json({ handoffs: handoffs.filter((h) => service.policy.canView(viewer, h)).map((h) => views.summary(h)), now: core.clock.now().toISOString() });
      });

      r.get('/handoffs/:id', async (req, res) => {
        // `?as=` previews the handoff as that person would see it; a name the playbook does not
        // know, or an inactive person, sees what they would see on Slack or Teams: nothing.
        const as = typeof req.query.as === 'string' && req.query.as ? req.query.as : undefined;
        const viewer = as === undefined ? operator(req) : viewerOf(service.directory.find(as));
        res.json(await views.detail(handoffId(req.params.id), viewer, req.query.mode === 'details' ? 'details' : 'summary', as === undefined ? undefined : `"${as}"`));
      });

      r.post('/handoffs/:id/actions', async (req, res) => {
        const view = await service.act(handoffId(req.params.id), req.body);
        res.json({ handoff: views.summary(view) });
      });

      r.post('/demo', async (req, res) => {
        const body = (req.body ?? {}) as { transition?: unknown; acceptMinutes?: unknown };
        const { handoff } = await demos.create({
          transition: typeof body.transition === 'string' && body.transition ? body.transition : undefined,
          acceptMinutes: body.acceptMinutes === undefined || body.acceptMinutes === null || body.acceptMinutes === '' ? undefined : Number(body.acceptMinutes),
        });
        log.info({ handoffId: handoff.id, transition: handoff.transition, slaAcceptDueAt: handoff.slaAcceptDueAt }, 'console: demo handoff created');
        res.status(201).json({ handoff: views.summary(handoff) });
      });
      return r;
    }

    return {
      name: 'console',
      mount(app) {
        const gate = new ConsoleGate(apiTokenOf(core.config));
        const publicDir = consolePublicDir();
        const bundle = adaptiveCardsBundle();
        if (!existsSync(bundle)) log.warn({ bundle }, 'console: the adaptivecards package is missing; the Teams card preview will not render (npm install)');

        const router = express.Router();
        router.use((_req, res, next) => {
          res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
          next();
        });

        router.get('/login', (_req, res) => {
          res.type('html').send(loginPage());
        });
        router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
          const token = (req.body as Record<string, unknown> | undefined)?.token;
          if (typeof token !== 'string' || !gate.tokenMatches(token)) {
            log.warn({ ip: req.ip }, 'console: sign-in with a wrong token');
            res.status(401).type('html').send(loginPage('That is not the API token of this Baton.'));
            return;
          }
          gate.setSession(req, res);
          res.redirect(303, CONSOLE_PATH);
        });

        // Everything else needs loopback, the token or a session.
        router.use((req: Request, res: Response, next: NextFunction) => {
          let access = gate.access(req);
          const queryToken = typeof req.query.token === 'string' ? req.query.token : undefined;
          if (access === 'none' && queryToken !== undefined) {
            if (!gate.tokenMatches(queryToken)) return next(new UnauthorizedError('The token is not valid for this Baton.'));
            gate.setSession(req, res);
            if (req.method === 'GET' && !req.path.startsWith('/api/')) {
              // Drop the token from the URL now that the cookie carries the session.
              const url = new URL(req.originalUrl, 'http://x');
              url.searchParams.delete('token');
              return res.redirect(303, url.pathname + url.search);
            }
            access = 'token';
          }
          if (access === 'none') {
            if (req.method === 'GET' && !req.path.startsWith('/api/')) {
              res.status(401).type('html').send(loginPage());
              return;
            }
            return next(new UnauthorizedError('The console needs the API token from another machine: send "Authorization: Bearer <BATON_API_TOKEN>" or open /console?token=<BATON_API_TOKEN> once.'));
          }
          if (req.method === 'POST' && !gate.sameOriginWrite(req)) {
            return next(new ForbiddenError(`Console writes need the "${CSRF_HEADER}: 1" header and a same-origin request.`));
          }
          next();
        });

        router.get('/', (_req, res) => {
          res.set('Content-Security-Policy', CSP).type('html').sendFile(join(publicDir, 'index.html'));
        });
        router.use('/static', express.static(publicDir, { index: false, redirect: false }));
        router.get('/vendor/adaptivecards.min.js', (_req, res, next) => {
          if (!existsSync(bundle)) return next(new NotFoundError('The adaptivecards package is not installed (npm install).'));
          res.type('application/javascript').sendFile(bundle);
        });
        router.use('/api', api());
        app.use(CONSOLE_PATH, router);
      },
    };
  };
}

export const consolePlugin: PluginFactory = createConsolePlugin();
