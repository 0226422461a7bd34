/**
 * POST /api/webhooks/hubspot and POST /api/webhooks/salesforce: CRM deliveries that start
 * handoffs. The CRMs sign their requests instead of sending the API bearer token, so these
 * routes are mounted before the /api router, read the raw body (signatures are over bytes) and
 * verify the signature before anything is parsed or written. A mapped record then goes through
 * HandoffService.intake exactly like POST /api/handoffs: same validation, same 422 details, and
 * the record id as externalId makes a retried delivery return the handoff it created.
 */
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { BatonError, InvalidError, MalformedError, UnauthorizedError, UnavailableError, UnsupportedMediaTypeError, type ErrorDetail } from '../errors.js';
import type { HandoffService } from '../handoffs.js';
import type { Logger } from '../logger.js';
import { BODY_LIMIT } from '../api/server.js';
import type { HandoffView } from '../domain/view.js';
import { evaluateEntryCriteria, validatePacket } from '../playbook/packet.js';
import { CRM_DEFAULT_SECRET_ENV, type CrmSourceId, type Transition } from '../playbook/schema.js';
import { buildRequest, CRM_NAMES, selectMapping, withOrigins, type Mapped } from './mapping.js';
import { hubspotPayload, salesforcePayload, type CrmPayload, type CrmRecord } from './records.js';
import { verifyBaton, verifyHubSpot } from './signatures.js';
import { jsonNestedDeeperThan, tooDeepError } from '../untrusted.js';
import { parseQuery, webhookQuery } from '../api/query.js';

export interface CrmWebhookDeps {
  config: Config;
  service: HandoffService;
  clock: Clock;
  log: Logger;
}

export const WEBHOOK_PATHS: Record<CrmSourceId, string> = {
  hubspot: '/api/webhooks/hubspot',
  salesforce: '/api/webhooks/salesforce',
};

/** The mount for createHttpApp: registers both routes (each answers 503 until its secret is set). */
export function crmWebhooks(deps: CrmWebhookDeps): (app: Express) => void {
  return (app) => {
    for (const source of ['hubspot', 'salesforce'] as const) {
      app.post(WEBHOOK_PATHS[source], requireSecret(deps, source), readQuery, express.raw({ type: () => true, limit: BODY_LIMIT }), handle(deps, source));
    }
  };
}

function secretEnv(deps: CrmWebhookDeps, source: CrmSourceId): string {
  return deps.service.playbook.crm?.[source]?.secretEnv ?? CRM_DEFAULT_SECRET_ENV[source];
}

function secretOf(deps: CrmWebhookDeps, source: CrmSourceId): string | undefined {
  const name = secretEnv(deps, source);
  if (name === CRM_DEFAULT_SECRET_ENV.hubspot) return deps.config.crm.hubspotClientSecret;
  if (name === CRM_DEFAULT_SECRET_ENV.salesforce) return deps.config.crm.salesforceWebhookSecret;
  return deps.config.env[name]?.trim() || undefined;
}

/**
 * Off until configured. 503 rather than 404: both CRMs retry a 5xx, so deliveries sent before
 * the operator sets the secret are not lost.
 */
function requireSecret(deps: CrmWebhookDeps, source: CrmSourceId): RequestHandler {
  return (_req, _res, next) => {
    if (secretOf(deps, source)) return next();
    const what = source === 'hubspot' ? "the HubSpot app's client secret" : 'a shared secret of at least 16 characters';
    next(new UnavailableError(`${CRM_NAMES[source].crm} webhooks are off: set ${secretEnv(deps, source)} (${what}) and restart Baton. See docs/crm-webhooks.md.`));
  };
}

/** A repeated or bracketed `?transition=` is refused before the body is read; the route reads res.locals.transition. */
const readQuery: RequestHandler = (req, res, next) => {
  res.locals.transition = parseQuery(webhookQuery, req.query).transition?.trim() || undefined;
  next();
};

/** The URL the CRM called: behind a proxy only BATON_PUBLIC_URL knows the scheme and host it used. */
function calledUrl(config: Config, req: Request): string {
  const base = config.publicUrl
    ? config.publicUrl.replace(/\/+$/, '')
    : `${req.get('x-forwarded-proto')?.split(',')[0]?.trim() || req.protocol}://${req.get('host') ?? ''}`;
  return base + req.originalUrl;
}

function handle(deps: CrmWebhookDeps, source: CrmSourceId): RequestHandler {
  const log = deps.log.child({ component: 'webhooks', source });
  return async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const secret = secretOf(deps, source) ?? '';
    const nowMs = deps.clock.now().getTime();
    const check =
      source === 'hubspot'
        ? verifyHubSpot({
            secret,
            method: req.method,
            uri: calledUrl(deps.config, req),
            body: raw,
            signature: req.get('x-hubspot-signature-v3'),
            timestamp: req.get('x-hubspot-request-timestamp'),
            nowMs,
            secretEnv: secretEnv(deps, source),
          })
        : verifyBaton({ secret, body: raw, signature: req.get('x-baton-signature'), timestamp: req.get('x-baton-timestamp'), nowMs, secretEnv: secretEnv(deps, source) });
    if (!check.ok) {
      log.warn({ reason: check.message, ip: req.ip }, 'webhook refused: signature');
      throw new UnauthorizedError(check.message);
    }

    const type = req.get('content-type') ?? '';
    if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      throw new UnsupportedMediaTypeError(`Send JSON: Content-Type must be application/json (got "${type || 'none'}").`);
    }
    // Before JSON.parse: a body nested thousands deep answered 500 from the record readers.
    if (jsonNestedDeeperThan(raw)) throw tooDeepError();
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new MalformedError('The request body is not valid JSON.');
    }
    const query = res.locals.transition as string | undefined;
    try {
      const payload = source === 'hubspot' ? hubspotPayload(json, query) : salesforcePayload(json, query);
      await respond(deps, source, payload, res, log);
    } catch (err) {
      // A CRM rarely shows the response body to anyone; the log says what to fix. Paths only: values may be personal data.
      if (err instanceof InvalidError) log.warn({ code: err.code, paths: err.details?.map((d) => d.path) }, 'webhook refused');
      throw err;
    }
  };
}

interface Outcome {
  record: CrmRecord;
  handoff?: HandoffView;
  created?: boolean;
  ignored?: string;
}

async function respond(deps: CrmWebhookDeps, source: CrmSourceId, payload: CrmPayload, res: Response, log: Logger): Promise<void> {
  const { service } = deps;
  const crm = service.playbook.crm?.[source];
  const prefix = (i: number, record: CrmRecord, details: readonly ErrorDetail[]): ErrorDetail[] =>
    payload.batch ? details.map((d) => ({ path: `records.${i}.${d.path}`, message: `(${record.label}) ${d.message}` })) : [...details];

  // 1. Which mapping each record takes. A configuration gap refuses the whole request before anything is written.
  const selections = payload.records.map((record) => selectMapping(source, crm, (id) => service.transition(id), record, payload));
  const unmapped = selections.flatMap((s, i) => (s.kind === 'error' ? prefix(i, payload.records[i]!, s.details) : []));
  if (unmapped.length) {
    throw new InvalidError(`No handoff was created: ${unmapped.map((d) => d.message).join('; ')}.`, unmapped, 'unmapped');
  }

  // 2. Each mapped record through intake, as POST /api/handoffs would take it.
  const outcomes: Outcome[] = [];
  const failures: ErrorDetail[] = [];
  for (const [i, record] of payload.records.entries()) {
    const selection = selections[i]!;
    if (selection.kind === 'ignore') {
      outcomes.push({ record, ignored: selection.reason });
      continue;
    }
    if (selection.kind !== 'mapping') continue;
    const built = buildRequest(source, selection.mapping, selection.transition, record, (ref) => service.directory.find(ref) !== undefined);
    if (built.details.length) {
      // Reported together with the packet's problems, so one fix of the mapping or record covers them all.
      failures.push(...prefix(i, record, [...built.details, ...packetProblems(selection.transition, built.mapped, built.details)]));
      if (!payload.batch) break;
      continue;
    }
    try {
      const { handoff, created } = await service.intake(built.mapped.body);
      outcomes.push({ record, handoff, created });
      log.info({ transition: handoff.transition, handoffId: handoff.id, externalId: handoff.externalId, created }, created ? 'webhook started a handoff' : 'webhook redelivered: existing handoff returned');
    } catch (err) {
      if (!(err instanceof InvalidError)) throw err;
      failures.push(...prefix(i, record, explain(err, record, built.mapped)));
      if (!payload.batch) throw rebuilt(err, explain(err, record, built.mapped));
    }
  }

  if (failures.length) {
    const made = outcomes.filter((o) => o.handoff).length;
    throw new InvalidError(
      `${failures.length} problem${failures.length === 1 ? '' : 's'} (${[...new Set(failures.map((d) => d.path))].join(', ')})` +
        (made ? `; ${made} other record${made === 1 ? '' : 's'} started or matched handoffs, and a redelivery returns them.` : '; no handoff was created.'),
      failures,
      'validation_failed',
    );
  }

  if (!payload.batch) {
    const only = outcomes[0];
    if (!only?.handoff) {
      res.status(200).json({ ignored: only?.ignored ?? 'nothing to do' });
      return;
    }
    res.status(only.created ? 201 : 200).set('Location', `/api/handoffs/${only.handoff.id}`);
    if (!only.created) res.set('Idempotent-Replayed', 'true');
    res.json(only.handoff);
    return;
  }
  res.status(outcomes.some((o) => o.created) ? 201 : 200).json({
    handoffs: outcomes.flatMap((o) => (o.handoff ? [{ record: o.record.label, created: o.created === true, handoff: o.handoff }] : [])),
    ignored: outcomes.flatMap((o) => (o.ignored ? [{ record: o.record.label, reason: o.ignored }] : [])),
  });
}

/** What intake would also say about the packet and entry criteria of a request that cannot be sent to it. */
function packetProblems(t: Transition, mapped: Mapped, known: readonly ErrorDetail[]): ErrorDetail[] {
  const { packet, account } = mapped.body;
  const v = validatePacket(t, packet);
  const details = v.ok ? [] : v.details;
  const reported = new Set([...details.map((d) => d.path), ...known.map((d) => d.path)]);
  const criteria = evaluateEntryCriteria(t.entryCriteria, { packet: v.ok ? v.packet : packet, account: { ...account, name: account.name ?? '' } }).filter((d) => !reported.has(d.path));
  return withOrigins([...details, ...criteria], mapped.origins);
}

function explain(err: InvalidError, record: CrmRecord, mapped: Mapped): ErrorDetail[] {
  if (err.code === 'idempotency_key_reused') {
    const id = /#(\d+)/.exec(err.userMessage)?.[1];
    return [
      {
        path: 'externalId',
        message: `${record.label} already started handoff #${id ?? '?'} for ${mapped.body.transition} with different values; Baton keeps one handoff per CRM record and transition, and that handoff is unchanged`,
      },
    ];
  }
  return withOrigins(err.details ?? [], mapped.origins);
}

function rebuilt(err: InvalidError, details: ErrorDetail[]): BatonError {
  const message =
    err.code === 'idempotency_key_reused'
      ? `${details[0]?.message ?? err.userMessage}.`
      : `The handoff was not created: ${details.length} problem${details.length === 1 ? '' : 's'} (${details.map((d) => d.path).join(', ')}).`;
  return new InvalidError(message, details, err.code);
}
