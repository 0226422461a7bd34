/**
 * The OpenAPI 3.1 document of the HTTP API, built from the zod schemas that parse requests
 * (src/handoffs/requests.ts, src/api/query.ts, the playbook's packet schemas) and the ones that
 * describe answers (src/api/responses.ts): one source of truth, served at GET /api/openapi.json.
 * Each transition of the running playbook gets its own packet and request schema
 * (`Packet.<transition>`, `HandoffRequest.<transition>`), so a generated client knows every field.
 */
import * as z from 'zod';
import type { Playbook, Transition } from '../playbook/schema.js';
import { packetSchema } from '../playbook/packet.js';
import { actionSchema, intakeSchema } from '../handoffs/requests.js';
import { handoffListQuery, kpiQuery, LIST_LIMIT_MAX } from './query.js';
import {
  accountOwnersSchema,
  accountRefSchema,
  accountTimelineSchema,
  errorSchema,
  handoffEventSchema,
  handoffListSchema,
  handoffSchema,
  healthSchema,
  kpiReportSchema,
  kpiValuesSchema,
  personInfoSchema,
  personRefSchema,
  readySchema,
  transitionInfoSchema,
} from './responses.js';

/** The API contract's version; raise the major part when a change would break a generated client. */
export const API_VERSION = '1.0.0';

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A component name OpenAPI accepts (`^[a-zA-Z0-9._-]+$`) for a playbook transition id. */
export function componentName(prefix: 'Packet' | 'HandoffRequest', t: Pick<Transition, 'id'>): string {
  return `${prefix}.${t.id.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/**
 * The JSON Schemas of a registry, each registered schema a component and the references between
 * them `#/components/schemas/<id>`. `io` says which side of a transform is documented: what a
 * caller sends (input) or what Baton answers (output).
 */
function components(entries: [z.ZodType, string][], io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
  // Each component lives inside this document: no dialect or identity of its own.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema as JsonSchema]));
}

/** Request schemas: the intake request per transition (its packet spelled out), and the action. */
function requestEntries(pb: Playbook): [z.ZodType, string][] {
  const perTransition = pb.transitions.map((t) => {
    const packet = packetSchema(t).meta({ title: `${t.name}: packet`, description: t.description || `The packet of ${t.name}.` });
    const request = intakeSchema.extend({ transition: z.literal(t.id), packet }).meta({ title: `Start a handoff: ${t.name}` });
    return { t, packet, request };
  });
  const entries: [z.ZodType, string][] = perTransition.flatMap(({ t, packet, request }): [z.ZodType, string][] => [
    [packet, componentName('Packet', t)],
    [request, componentName('HandoffRequest', t)],
  ]);
  const [first, ...rest] = perTransition.map((p) => p.request);
  const anyTransition = first
    ? z.discriminatedUnion('transition', [first, ...rest]).meta({
        description: 'A new handoff: one schema per transition of the playbook, told apart by `transition`.',
        discriminator: { propertyName: 'transition', mapping: Object.fromEntries(pb.transitions.map((t) => [t.id, ref(componentName('HandoffRequest', t)).$ref])) },
      })
    : intakeSchema;
  entries.push([anyTransition, 'HandoffRequest'], [actionSchema, 'ActionRequest']);
  return entries;
}

const RESPONSE_ENTRIES: [z.ZodType, string][] = [
  [personRefSchema, 'PersonRef'],
  [accountRefSchema, 'AccountRef'],
  [handoffEventSchema, 'HandoffEvent'],
  [handoffSchema, 'Handoff'],
  [handoffListSchema, 'HandoffList'],
  [accountOwnersSchema, 'AccountOwners'],
  [accountTimelineSchema, 'AccountTimeline'],
  [kpiValuesSchema, 'KpiValues'],
  [kpiReportSchema, 'KpiReport'],
  [transitionInfoSchema, 'Transition'],
  [personInfoSchema, 'Person'],
  [errorSchema, 'Error'],
  [healthSchema, 'Health'],
  [readySchema, 'Ready'],
];

/** Query parameters from a route's zod query spec: what the caller sends (the input side). */
function queryParameters(shape: z.ZodRawShape, descriptions: Record<string, string>): unknown[] {
  const { properties = {} } = z.toJSONSchema(z.object(shape), { io: 'input' }) as { properties?: Record<string, JsonSchema> };
  return Object.entries(properties).map(([name, schema]) => ({ name, in: 'query', required: false, description: descriptions[name], schema }));
}

const HANDOFF_ID = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The handoff id (a leading "#" is also accepted).',
  schema: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 },
};
const ACCOUNT_KEY = { name: 'key', in: 'path', required: true, description: "The account's id, CRM id, domain or exact name.", schema: { type: 'string' } };

const ERRORS: Record<number, string> = {
  400: 'The request could not be read: malformed JSON or URL, or a query parameter repeated, unknown or malformed.',
  401: 'Missing or wrong bearer token.',
  403: 'The actor may not do this (or is not an active person of the playbook).',
  404: 'No such handoff, account or route.',
  409: 'The handoff changed first (a stale expectedVersion), or its status does not allow the action.',
  413: 'The request body is larger than 1 MB.',
  415: 'The body is not JSON.',
  422: 'The request is well-formed but breaks a rule; `details` names each field.',
  500: 'Baton failed; the log has the cause.',
  503: 'The database is not answering; nothing was written. Retry.',
};

function json(schema: unknown, description: string): unknown {
  return { description, content: { 'application/json': { schema } } };
}

/** An operation's answers: its own, and an Error for each status it can refuse with. */
function responses(ok: Record<number, unknown>, errors: number[], post = false): Record<string, unknown> {
  const statuses = [...new Set([400, 401, ...errors, ...(post ? [413, 415] : []), 500, 503])].sort();
  return { ...Object.fromEntries(Object.entries(ok)), ...Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }])) };
}

function paths(): Record<string, Record<string, unknown>> {
  const handoffJson = (description: string) => json(ref('Handoff'), description);
  return {
    '/api/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document: the API, with a packet and request schema per transition of the running playbook.',
        responses: responses({ 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } }, []),
      },
    },
    '/api/transitions': {
      get: {
        operationId: 'listTransitions',
        summary: "The playbook's transitions: packet schema, entry criteria, SLA, reject reasons and an example request.",
        responses: responses({ 200: json({ type: 'array', items: ref('Transition') }, 'Every transition.') }, []),
      },
    },
    '/api/people': {
      get: {
        operationId: 'listPeople',
        summary: "The playbook's people.",
        responses: responses({ 200: json({ type: 'array', items: ref('Person') }, 'Every person.') }, []),
      },
    },
    '/api/handoffs': {
      post: {
        operationId: 'createHandoff',
        summary: 'Start a handoff: validate the packet, route it, post its card.',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'A retry with the same key returns the handoff created first (200, Idempotent-Replayed: true).',
            schema: { type: 'string', maxLength: 255 },
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('HandoffRequest') } } },
        responses: responses(
          {
            201: { ...(handoffJson('Created and routed.') as object), headers: { Location: { description: '/api/handoffs/{id}', schema: { type: 'string' } } } },
            200: {
              ...(handoffJson('An idempotent retry (same Idempotency-Key or externalId): the handoff created first.') as object),
              headers: { 'Idempotent-Replayed': { description: 'true when the answer is a replay', schema: { type: 'string', enum: ['true'] } } },
            },
          },
          [403, 409, 422],
          true,
        ),
      },
      get: {
        operationId: 'listHandoffs',
        summary: 'Handoffs, newest first, a page at a time.',
        parameters: queryParameters(handoffListQuery.shape, {
          status: 'Comma-separated statuses, or open / awaiting.',
          owner: "The owner's id or email.",
          account: "The account's id, CRM id, domain or exact name.",
          transition: 'A transition id.',
          team: 'The receiving team id.',
          limit: `Page size, 1 to ${LIST_LIMIT_MAX} (default 50).`,
          before: "Only handoffs with a smaller id: the previous page's nextBefore.",
        }),
        responses: responses({ 200: json(ref('HandoffList'), 'One page.') }, [422]),
      },
    },
    '/api/handoffs/{id}': {
      get: {
        operationId: 'getHandoff',
        summary: 'One handoff with its audit trail.',
        parameters: [HANDOFF_ID],
        responses: responses({ 200: handoffJson('The handoff, with events.') }, [404]),
      },
    },
    '/api/handoffs/{id}/actions': {
      post: {
        operationId: 'actOnHandoff',
        summary: 'Accept, reject, reassign, complete, withdraw, touch or snooze, as a person of the playbook.',
        parameters: [HANDOFF_ID],
        requestBody: { required: true, content: { 'application/json': { schema: ref('ActionRequest') } } },
        responses: responses({ 200: handoffJson('The handoff after the action.') }, [403, 404, 409, 422], true),
      },
    },
    '/api/accounts/{key}/owners': {
      get: {
        operationId: 'getAccountOwners',
        summary: "Who owns the account at each stage, and its open handoffs.",
        parameters: [ACCOUNT_KEY],
        responses: responses({ 200: json(ref('AccountOwners'), 'The owners.') }, [404, 422]),
      },
    },
    '/api/accounts/{key}/timeline': {
      get: {
        operationId: 'getAccountTimeline',
        summary: "The account's chain of custody: every handoff, action and SLA breach in time order.",
        parameters: [ACCOUNT_KEY],
        responses: responses({ 200: json(ref('AccountTimeline'), 'The timeline.') }, [404, 422]),
      },
    },
    '/api/reports/kpis': {
      get: {
        operationId: 'getKpis',
        summary: 'Handoff KPIs for a period (default: the last 7 days), with the previous period for comparison.',
        parameters: queryParameters(kpiQuery.shape, {
          from: 'Start: an ISO date (midnight UTC) or date-time with offset.',
          to: 'End (exclusive); default now.',
          team: 'Only this receiving team.',
          format: 'json (default) or csv.',
        }),
        responses: responses(
          {
            200: {
              description: 'The report; CSV when format=csv.',
              content: { 'application/json': { schema: ref('KpiReport') }, 'text/csv': { schema: { type: 'string' } } },
            },
          },
          [422],
        ),
      },
    },
    '/healthz': {
      get: { operationId: 'health', summary: 'Liveness: the process answers.', security: [], responses: { 200: json(ref('Health'), 'Alive.') } },
    },
    '/readyz': {
      get: {
        operationId: 'ready',
        summary: 'Readiness: the database answers within 2 s.',
        security: [],
        responses: { 200: json(ref('Ready'), 'Ready.'), 503: { $ref: '#/components/responses/Error503' } },
      },
    },
  };
}

const documents = new WeakMap<Playbook, OpenApiDocument>();

/** The document for a playbook; built once per playbook (it only changes with the playbook). */
export function openApiDocument(pb: Playbook): OpenApiDocument {
  const cached = documents.get(pb);
  if (cached) return cached;
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    info: {
      title: 'Baton API',
      version: API_VERSION,
      description:
        'Start handoffs, act on them and read their state. Every request under /api carries `Authorization: Bearer <BATON_API_TOKEN>`; every error is `{ error: { code, message, details? } }`. See docs/api.md.',
    },
    security: [{ bearerToken: [] }],
    paths: paths(),
    components: {
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'BATON_API_TOKEN' } },
      schemas: { ...components(requestEntries(pb), 'input'), ...components(RESPONSE_ENTRIES, 'output') },
      responses: Object.fromEntries(Object.entries(ERRORS).map(([status, description]) => [`Error${status}`, json(ref('Error'), description)])),
    },
  };
  documents.set(pb, doc);
  return doc;
}
