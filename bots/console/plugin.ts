/**
 * The local console at /console: try Baton without Slack or Teams. A third adapter beside them —
 * it renders the cards they would post, and its buttons go through the same core calls
 * (`service.act`) — served by Baton's own HTTP server as plain HTML, CSS and JS (no build step,
 * nothing from a CDN: the Adaptive Cards renderer is served from node_modules).
 *
 * On by default outside production; off when NODE_ENV=production unless BATON_CONSOLE=on
 * (BATON_CONSOLE=off turns it off anywhere). Who may open it: a browser with a session (gate.ts);
 * how one signs in and out: login.ts.
 *
 * Routes (under /console, JSON under /console/api with the app's error shape), and `GET /` → 302 /console:
 *   GET  /console                          the page
 *   GET|POST /console/login, POST /console/logout, POST /console/login-link   see login.ts
 *   GET  /console/static/*, /console/vendor/adaptivecards.min.js
 *   GET  /console/api/bootstrap            people, transitions, platforms
 *   GET  /console/api/handoffs?status=open|all
 *   GET  /console/api/handoffs/:id?as=<person>&mode=summary|details
 *   POST /console/api/handoffs/:id/actions {action, actor, reasonCode?, note?, to?, expectedVersion?}
 *   POST /console/api/demo                 {transition?, acceptMinutes?}
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { CoreContext, PluginFactory } from '../../src/app.js';
import { ForbiddenError, NotFoundError, UnauthorizedError, UnsupportedMediaTypeError } from '../../src/errors.js';
import { projectRoot } from '../../src/store/migrate.js';
import { CSRF_HEADER, ConsoleGate } from './gate.js';
import { DemoHandoffs } from './demo.js';
import { INTEGRATION, viewerOf, type Viewer } from '../../src/domain/policy.js';
import { assertMaySeeHandoffs } from '../../src/access.js';
import { CONSOLE_PATH, loginRoutes } from './login.js';
import { ConsoleSessions } from './sessions.js';

export { CONSOLE_PATH };

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

export interface ConsolePluginOptions {
  /** How often the page polls for changes (ms). */
  pollMs?: number;
  /**
   * The sign-in state to use: bots/main.ts passes its own so it can print the start-up link.
   * Default: a fresh one per Baton.
   */
  sessions?: ConsoleSessions;
  /** The console's clock in ms (tests move it to expire sessions); ignored when `sessions` is given. */
  now?: () => number;
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
        // The console acts as the person it previews: someone the playbook does not know, or an
        // inactive person, is told what Slack or Teams would tell them (the policy's stranger copy).
        const actor = (req.body as { actor?: unknown } | undefined)?.actor;
        if (typeof actor === 'string' && actor) assertMaySeeHandoffs(service, viewerOf(service.directory.find(actor)), `"${actor}"`);
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
        const gate = new ConsoleGate({ apiToken: core.apiToken, publicUrl: core.config.publicUrl, sessions: options.sessions ?? new ConsoleSessions({ now: options.now }) });
        const publicDir = consolePublicDir();
        const bundle = adaptiveCardsBundle();
        if (!existsSync(bundle)) log.warn({ bundle }, 'console: the adaptivecards package is missing; the Teams card preview will not render (npm install)');

        const router = express.Router();
        router.use((_req, res, next) => {
          // The CSP on every console answer, the sign-in page included (not only the main page).
          res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': CSP });
          next();
        });

        router.use(loginRoutes({ gate, publicUrl: core.config.publicUrl, log }));

        // Everything else needs a session. What the connection looks like (peer address, Host,
        // X-Forwarded-*) grants nothing: a forwarder on this machine makes anyone look local.
        router.use((req: Request, res: Response, next: NextFunction) => {
          const state = gate.session(req);
          if (state !== 'valid') {
            // A page (or an asset a page asks for) goes to the sign-in page; the JSON API says what is missing.
            if (!req.path.startsWith('/api/') && (req.method === 'GET' || req.method === 'HEAD')) {
              return res.redirect(303, state === 'ended' ? `${CONSOLE_PATH}/login?expired` : `${CONSOLE_PATH}/login`);
            }
            return next(
              new UnauthorizedError(
                state === 'ended'
                  ? 'Your console session has ended (signed out, or 12 hours passed): sign in again at /console/login.'
                  : 'There is no console session: sign in at /console/login (open the link Baton printed at start, run "npm run console:link", or enter the API token).',
              ),
            );
          }
          if (req.method === 'POST' && !gate.consoleWrite(req)) {
            return next(new ForbiddenError(`Console writes need the "${CSRF_HEADER}: 1" header and a same-origin request (no cross-site Origin or Sec-Fetch-Site).`));
          }
          next();
        });

        router.get('/', (_req, res) => {
          res.type('html').sendFile(join(publicDir, 'index.html'));
        });
        router.use('/static', express.static(publicDir, { index: false, redirect: false }));
        router.get('/vendor/adaptivecards.min.js', (_req, res, next) => {
          if (!existsSync(bundle)) return next(new NotFoundError('The adaptivecards package is not installed (npm install).'));
          res.type('application/javascript').sendFile(bundle);
        });
        router.use('/api', api());
        app.use(CONSOLE_PATH, router);
        // Someone who opens Baton's address in a browser is looking for the console. (With the
        // console off, `/` keeps the app's JSON 404.) The console's own gate then asks for a session.
        app.get('/', (_req, res) => res.redirect(302, CONSOLE_PATH));
      },
    };
  };
}

export const consolePlugin: PluginFactory = createConsolePlugin();
