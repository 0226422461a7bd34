/**
 * What the HTTP API answers, as zod schemas: the OpenAPI document (src/api/openapi.ts) publishes
 * them, and the API tests check every response against that document. The views themselves are
 * TypeScript interfaces built elsewhere; the `Same<…>` checks at the bottom make the compiler
 * refuse a schema that drifts from the interface it describes, so the document cannot lie about
 * a field the code renamed or made nullable.
 */
import * as z from 'zod';
import { STATUSES } from '../domain/lifecycle.js';
import type { AccountRef, HandoffEventView, HandoffView, PersonRef } from '../domain/view.js';
import type { AccountOwners } from '../handoffs/queries.js';
import type { AccountTimeline } from '../reports/timeline.js';
import type { KpiReport } from '../reports/kpis.js';

const isoInstant = z.iso.datetime({ offset: true });
const id = z.string().meta({ description: "A person's id in the playbook." });

export const personRefSchema = z.object({
  id,
  name: z.string(),
  email: z.string(),
  slackUserId: z.string().nullable(),
  teamsUserId: z.string().nullable(),
  timeZone: z.string().optional().meta({ description: 'IANA time zone, e.g. Europe/Berlin.' }),
});

export const accountRefSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  domain: z.string().nullable(),
  crmId: z.string().nullable(),
});

export const handoffEventSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  type: z.string().meta({ description: 'The audit event: received, routed, posted, accepted, rejected, reassigned, …' }),
  actor: personRefSchema.nullable(),
  at: isoInstant,
  fromStatus: z.string().nullable(),
  toStatus: z.string(),
  owner: personRefSchema.nullable(),
  reasonCode: z.string().nullable(),
  note: z.string().nullable(),
  data: z.unknown(),
});

export const handoffSchema = z.object({
  id: z.number().int().positive(),
  status: z.enum(STATUSES),
  version: z.number().int().meta({ description: 'Send it back as expectedVersion so a stale action is refused.' }),
  transition: z.string(),
  transitionName: z.string(),
  fromStage: z.string(),
  toStage: z.string(),
  teamId: z.string(),
  account: accountRefSchema,
  from: personRefSchema,
  owner: personRefSchema,
  routingReason: z.string(),
  slaDueAt: isoInstant.nullable().meta({ description: 'The deadline that matters now: accept while awaiting acceptance, first touch after, else null.' }),
  slaAcceptDueAt: isoInstant.nullable(),
  slaFirstTouchDueAt: isoInstant.nullable(),
  escalationLevel: z.number().int(),
  packet: z.record(z.string(), z.unknown()).meta({ description: "The packet as stored (trimmed); its fields are the transition's, see the Packet.<transition> schemas." }),
  externalId: z.string().nullable(),
  createdAt: isoInstant,
  updatedAt: isoInstant,
  acceptedAt: isoInstant.nullable(),
  firstTouchAt: isoInstant.nullable(),
  closedAt: isoInstant.nullable(),
  events: z.array(handoffEventSchema).optional().meta({ description: 'The audit trail, oldest first (GET /api/handoffs/{id} only).' }),
});

export const handoffListSchema = z.object({
  handoffs: z.array(handoffSchema),
  nextBefore: z.number().int().nullable().meta({ description: 'Pass as ?before= for the next page; null on the last page.' }),
});

export const accountOwnersSchema = z.object({
  account: accountRefSchema,
  owners: z.array(z.object({ stage: z.string(), stageName: z.string(), owner: personRefSchema, since: isoInstant, handoffId: z.number().int().nullable() })),
  openHandoffs: z.array(handoffSchema),
});

export const accountTimelineSchema = z.object({
  account: accountRefSchema,
  owners: z.array(z.object({ stage: z.string(), stageName: z.string(), owner: personRefSchema, since: isoInstant })),
  handoffs: z.array(
    z.object({ id: z.number().int(), transition: z.string(), transitionName: z.string(), status: z.string(), owner: personRefSchema, createdAt: isoInstant, closedAt: isoInstant.nullable() }),
  ),
  entries: z.array(
    z.object({
      at: isoInstant,
      handoffId: z.number().int(),
      transition: z.string(),
      transitionName: z.string(),
      type: z.string().meta({ description: 'An audit event type (received, routed, accepted, …) or "sla_breach".' }),
      actor: personRefSchema.nullable(),
      owner: personRefSchema.nullable(),
      reasonCode: z.string().nullable(),
      note: z.string().nullable(),
      detail: z.string().nullable(),
    }),
  ),
});

const count = z.number().int().nonnegative();
const seconds = z.number().nullable();
const rate = z.number().nullable();

export const kpiValuesSchema = z.object({
  volume: count,
  accepted: count,
  conversionRate: rate,
  slaMeasured: count,
  slaMet: count,
  slaAttainment: rate,
  acceptWallP50S: seconds,
  acceptWallP90S: seconds,
  acceptBusinessP50S: seconds,
  acceptBusinessP90S: seconds,
  firstTouchWallP50S: seconds,
  firstTouchBusinessP50S: seconds,
  rejected: count,
  rejectionRate: rate,
  reassigned: count,
  reassignmentRate: rate,
  completed: count,
  completeWallP50S: seconds,
  withdrawn: count,
  overdueUnaccepted: count,
  timeLostWallS: z.number(),
  breaches: count,
});

const kpiRowSchema = kpiValuesSchema.extend({
  scope: z.enum(['overall', 'transition', 'team']),
  key: z.string(),
  name: z.string(),
  previous: kpiValuesSchema.nullable(),
});

const period = z.object({ from: isoInstant, to: isoInstant });

export const kpiReportSchema = z.object({
  period,
  previousPeriod: period,
  team: z.string().nullable(),
  overall: kpiRowSchema,
  byTransition: z.array(kpiRowSchema),
  byTeam: z.array(kpiRowSchema),
  topRejectReasons: z.array(z.object({ transition: z.string(), reasonCode: z.string(), label: z.string(), count })),
  breaches: z.array(
    z.object({
      handoffId: z.number().int(),
      transition: z.string(),
      team: z.string(),
      kind: z.string(),
      account: z.string(),
      ownerId: z.string(),
      ownerName: z.string(),
      dueAt: isoInstant,
      firedAt: isoInstant,
      level: z.number().int(),
      escalatedToId: z.string().nullable(),
      escalatedToName: z.string().nullable(),
      lateS: z.number(),
    }),
  ),
  slowestTransition: z.object({ transition: z.string(), name: z.string(), acceptWallP50S: z.number() }).nullable(),
});

/** One playbook transition as GET /api/transitions lists it (built in src/api/server.ts). */
export const transitionInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  from: z.string().meta({ description: 'The stage the account leaves.' }),
  to: z.string(),
  fromTeam: z.string(),
  toTeam: z.string(),
  packetSchema: z.record(z.string(), z.unknown()).meta({ description: "The packet's JSON Schema; the same as this document's Packet.<transition> component." }),
  entryCriteria: z.array(z.object({ field: z.string(), op: z.string(), value: z.unknown().optional(), message: z.string() })),
  sla: z.object({ acceptMs: z.number().int(), firstTouchMs: z.number().int(), nudgesAt: z.array(z.number()) }),
  rejectReasons: z.array(z.object({ code: z.string(), label: z.string() })),
  example: z.object({
    transition: z.string(),
    account: z.object({ name: z.string(), domain: z.string(), crmId: z.string() }),
    from: z.string(),
    packet: z.record(z.string(), z.unknown()),
  }),
});

/** One playbook person as GET /api/people lists it. */
export const personInfoSchema = z.object({
  id,
  name: z.string(),
  email: z.string(),
  team: z.string(),
  managerId: z.string().nullable(),
  slackUserId: z.string().nullable(),
  teamsUserId: z.string().nullable(),
  timeZone: z.string(),
  active: z.boolean(),
  awayUntil: z.string().nullable().meta({ description: 'yyyy-MM-dd; routing skips the person until this date.' }),
});

/** Every error, including the framework's own refusals (src/api/server.ts errorHandler). */
export const errorSchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, for machines: invalid, not_found, conflict, unauthorized, …' }),
    message: z.string().meta({ description: 'For people: what happened and what to do.' }),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional().meta({ description: 'One entry per offending field or parameter.' }),
  }),
});

export const healthSchema = z.object({ status: z.literal('ok') });
export const readySchema = z.object({ status: z.literal('ready'), database: z.string(), latencyMs: z.number() });

// The compiler keeps the schemas and the interfaces they describe the same.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<A, B>(proof: Same<A, B>): void {
  void proof;
}
same<z.output<typeof personRefSchema>, PersonRef>(true);
same<z.output<typeof accountRefSchema>, AccountRef>(true);
same<z.output<typeof handoffEventSchema>, HandoffEventView>(true);
same<z.output<typeof handoffSchema>, HandoffView>(true);
same<z.output<typeof accountOwnersSchema>, AccountOwners>(true);
same<z.output<typeof accountTimelineSchema>, AccountTimeline>(true);
same<z.output<typeof kpiReportSchema>, KpiReport>(true);
