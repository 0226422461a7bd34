/**
 * The one HTTP server: the intake/read API under /api, health probes, and mount points for the
 * Slack (/slack/events) and Teams (/api/messages) adapters. Every error leaves as JSON
 * `{ error: { code, message, details? } }`, including the framework's own refusals.
 */
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Database } from '../store/database.js';
import type { Logger } from '../logger.js';
import type { HandoffService } from '../handoffs.js';
import { asBatonError, BatonError, InvalidError, MalformedError, NotFoundError, PayloadTooLargeError, UnauthorizedError, UnsupportedMediaTypeError, type ErrorDetail } from '../errors.js';
import { computeKpis, kpiCsv, type KpiFilter } from '../reports/kpis.js';
import { accountTimeline } from '../reports/timeline.js';
import { exampleRequest, packetJsonSchema } from '../playbook/packet.js';
import type { Metrics } from '../metrics.js';
import { refuseDeepJson } from '../untrusted.js';
import { handoffListQuery, kpiQuery, parseQuery } from './query.js';
import { INTEGRATION } from '../domain/policy.js';
import { viewHandoff } from '../access.js';
import { tokensMatch } from '../apiToken.js';
import { openApiDocument } from './openapi.js';

export interface HttpDeps {
  service: HandoffService;
  db: Database;
  log: Logger;
  apiToken: string;
  /** Adapters mount their routes here (before the JSON 404 handler). */
  mounts?: ((app: Express) => void)[];
  /** Request timing, and GET /metrics (Prometheus) behind the same bearer token as /api. */
  metrics?: Metrics;
  /** False once the process is shutting down: /readyz answers 503 so the load balancer stops sending work. */
  ready?: () => boolean;
}

export const BODY_LIMIT = '1mb';

export function createHttpApp(deps: HttpDeps): Express {
  const { service, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(log));
  if (deps.metrics) app.use(deps.metrics.httpMiddleware());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    if (deps.ready && !deps.ready()) {
      res.status(503).json({ error: { code: 'shutting_down', message: 'Baton is shutting down; send work to another instance.' } });
      return;
    }
    const started = Date.now();
    try {
      await withTimeout(deps.db.sql.query('SELECT 1'), 2000);
      res.json({ status: 'ready', database: deps.db.kind, latencyMs: Date.now() - started });
    } catch {
      res.status(503).json({ error: { code: 'unavailable', message: `The database (${deps.db.kind}) is not answering; Baton is not ready.` } });
    }
  });

  if (deps.metrics) app.get('/metrics', bearerAuth(deps.apiToken), deps.metrics.handler());

  // Platform adapters parse their own bodies (Slack needs the raw bytes for its signature).
  for (const mount of deps.mounts ?? []) mount(app);

  const api = express.Router();
  api.use(bearerAuth(deps.apiToken));
  api.use(requireJsonBody);
  // The depth check reads the raw bytes before JSON.parse builds anything (see refuseDeepJson).
  api.use(express.json({ limit: BODY_LIMIT, strict: true, type: () => true, verify: refuseDeepJson }));
  // The request's log line names the handoff it was about (see requestLog).
  api.param('id', (_req, res, next, raw: string) => {
    if (/^#?\d{1,10}$/.test(raw)) res.locals.handoffId = Number(raw.replace(/^#/, ''));
    next();
  });

  // Behind the token like the rest: it is built from the playbook (transitions, packet fields,
  // enum values), which an internet-facing Baton (Slack and Teams must reach it) should not publish.
  api.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(service.playbook));
  });

  api.get('/transitions', (_req, res) => {
    const pb = service.playbook;
    res.json(
      pb.transitions.map((t) => ({
        id: t.id,
        name: t.name,
        description: t.description,
        from: t.fromStage,
        to: t.toStage,
        fromTeam: t.fromTeamId,
        toTeam: t.toTeamId,
        packetSchema: packetJsonSchema(t),
        entryCriteria: t.entryCriteria.map((c) => ({ field: c.field, op: c.op, value: c.value, message: c.message })),
        sla: { acceptMs: t.sla.acceptMs, firstTouchMs: t.sla.firstTouchMs, nudgesAt: t.nudgesAt },
        rejectReasons: t.rejectReasons,
        example: exampleRequest(t, pb),
      })),
    );
  });

  api.get('/people', (_req, res) => {
    res.json(
      service.playbook.people.map((p) => ({
        id: p.id,
        name: p.name,
        email: p.email,
        team: p.teamId,
        managerId: p.managerId,
        slackUserId: p.slackUserId,
        teamsUserId: p.teamsUserId,
        timeZone: p.timeZone,
        active: p.active,
        awayUntil: p.awayUntil,
      })),
    );
  });

  api.post('/handoffs', async (req, res) => {
    const key = req.get('idempotency-key')?.trim() || undefined;
    if (key && key.length > 255) throw new MalformedError('The Idempotency-Key header must be at most 255 characters.');
    const { handoff, created } = await service.intake(req.body, { idempotencyKey: key });
    res.locals.handoffId = handoff.id;
    res.status(created ? 201 : 200).set('Location', `/api/handoffs/${handoff.id}`);
    if (!created) res.set('Idempotent-Replayed', 'true');
    res.json(handoff);
  });

  api.get('/handoffs', async (req, res) => {
    const q = parseQuery(handoffListQuery, req.query);
    res.json(await service.list({ ...q, status: q.status?.join(',') }));
  });

  api.get('/handoffs/:id', async (req, res) => {
    // The bearer token is an integration (src/domain/policy.ts): it sees every handoff.
    res.json(await viewHandoff(service, INTEGRATION, handoffId(req.params.id)));
  });

  api.post('/handoffs/:id/actions', async (req, res) => {
    res.json(await service.act(handoffId(req.params.id), req.body));
  });

  api.get('/accounts/:key/owners', async (req, res) => {
    res.json(await service.accountOwners(String(req.params.key)));
  });

  api.get('/accounts/:key/timeline', async (req, res) => {
    res.json(await accountTimeline(service, deps.db, String(req.params.key)));
  });

  api.get('/reports/kpis', async (req, res) => {
    const q = parseQuery(kpiQuery, req.query);
    if (q.team && !service.directory.teams.has(q.team)) {
      throw new InvalidError(`There is no team "${q.team}".`, [{ path: 'team', message: `unknown team; use one of ${[...service.directory.teams.keys()].join(', ')}` }]);
    }
    const filter = kpiFilter(q, new Date());
    const report = await computeKpis(deps.db, service.playbook, filter);
    if (q.format === 'csv') {
      res.type('text/csv').set('Content-Disposition', `attachment; filename="baton-kpis-${report.period.from.slice(0, 10)}-${report.period.to.slice(0, 10)}.csv"`).send(kpiCsv(report));
    } else res.json(report);
  });

  app.use('/api', api);

  app.use((req, _res, next) => next(new NotFoundError(`No route for ${req.method} ${req.path}.`)));
  app.use(errorHandler(log));
  return app;
}

/**
 * The period from parsed dates (parseQuery already refused malformed ones with a 400); default:
 * the 7 days up to now. A well-formed period that breaks a rule is a 422.
 */
function kpiFilter(q: { from?: Date | undefined; to?: Date | undefined; team?: string | undefined }, now: Date): KpiFilter {
  const details: ErrorDetail[] = [];
  const to = q.to ?? now;
  const from = q.from ?? new Date(to.getTime() - 7 * 86_400_000);
  if (from >= to) details.push({ path: 'from', message: 'must be before "to"' });
  else if (to.getTime() - from.getTime() > 366 * 86_400_000) details.push({ path: 'from', message: 'the period can be at most 366 days' });
  if (details.length) throw new InvalidError('The report request is invalid.', details);
  return { from, to, team: q.team || undefined, asOf: now < to ? now : to };
}

function handoffId(raw: string | string[] | undefined): number {
  const s = String(raw ?? '').replace(/^#/, '');
  const n = /^\d{1,10}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 31 - 1) throw new NotFoundError(`There is no handoff "${String(raw)}" (ids are whole numbers).`);
  return n;
}

function bearerAuth(token: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    // ASCII spaces only, and no trim(): \s and trim() also take U+00A0 and other Unicode spaces,
    // which once turned "Bearer <U+00A0>" into an empty token that matched an empty one.
    const m = /^Bearer +(.+)$/i.exec(header);
    if (!m) return next(new UnauthorizedError('Missing bearer token: send "Authorization: Bearer <BATON_API_TOKEN>".'));
    if (!tokensMatch(m[1]!, token)) return next(new UnauthorizedError('The bearer token is not valid for this Baton.'));
    next();
  };
}

function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody || ['GET', 'HEAD', 'DELETE'].includes(req.method)) return next();
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    return next(new UnsupportedMediaTypeError(`Send JSON: Content-Type must be application/json (got "${type || 'none'}").`));
  }
  next();
}

function requestLog(appLog: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const log = withHandoffId(appLog, res);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      // originalUrl, not req.path: inside a mounted router (/api, /console) Express strips the
      // mount point from req.path. The query string is left out: it can carry a secret (the
      // console's single-use ?token= link).
      const path = req.originalUrl.split('?')[0];
      log[level]({ method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

/** A route that was about one handoff puts its id in res.locals.handoffId; the request line carries it. */
function withHandoffId(log: Logger, res: Response): Logger {
  const id: unknown = res.locals.handoffId;
  return typeof id === 'number' ? log.child({ handoffId: id }) : log;
}

function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const e = translateFrameworkError(err);
    if (e.httpStatus >= 500) log.error({ err }, 'request failed');
    if (res.headersSent) return;
    res.status(e.httpStatus).json({ error: { code: e.code, message: e.userMessage, ...(e.details?.length ? { details: e.details } : {}) } });
  };
}

/** body-parser and express raise plain errors with a `type`/`status`; give them our shape. */
function translateFrameworkError(err: unknown): BatonError {
  if (err instanceof BatonError) return err;
  const e = err as { type?: string; status?: number; message?: string };
  switch (e?.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`The request body is larger than ${BODY_LIMIT}.`);
    case 'entity.parse.failed':
      return new MalformedError('The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('Send the body as UTF-8 JSON.');
    case 'request.aborted':
      return new MalformedError('The request was aborted before its body arrived.');
  }
  if (e?.status === 400) return new MalformedError('The request could not be read (malformed URL or body).');
  return asBatonError(err);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
