/**
 * The shape of a handoff as the core reads it: the row with its account and both people, and how
 * it is read in one statement (a join) instead of Prisma's one query per relation.
 */
import type { Prisma } from '../generated/prisma/client.js';

export const handoffInclude = { account: true, owner: true, from: true } as const;
export type HandoffRow = Prisma.HandoffGetPayload<{ include: typeof handoffInclude }>;

/**
 * A handoff with its account and both people in one statement. Prisma's `include` sends one query
 * per relation (four round trips, each through the query compiler); this path is on every state
 * change and every delivery, so it is read with a join instead and mapped to the same shape.
 */
export const HANDOFF_ROW_SQL = `
  SELECT h.*, to_jsonb(a) AS "__account", to_jsonb(o) AS "__owner", to_jsonb(f) AS "__from"
  FROM handoff h
  JOIN account a ON a.id = h.account_id
  JOIN person o ON o.id = h.owner_id
  JOIN person f ON f.id = h.from_id
  WHERE h.id = $1`;

/** The same, found by its idempotency key (an intake's replay check). */
export const HANDOFF_ROW_BY_KEY_SQL = HANDOFF_ROW_SQL.replace('WHERE h.id = $1', 'WHERE h.idempotency_key = $1');

export type Raw = Record<string, unknown>;
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function personFromJson(j: Raw): HandoffRow['owner'] {
  return {
    id: j.id as string,
    name: j.name as string,
    email: j.email as string,
    teamId: j.team_id as string,
    managerId: (j.manager_id ?? null) as string | null,
    timeZone: j.time_zone as string,
    awayUntil: (j.away_until ?? null) as string | null,
    active: j.active as boolean,
    updatedAt: dateOrNull(j.updated_at)!,
  };
}

export function handoffRowFromRaw(r: Raw): HandoffRow {
  const a = r.__account as Raw;
  return {
    id: Number(r.id),
    transitionId: r.transition_id as string,
    accountId: Number(r.account_id),
    fromId: r.from_id as string,
    ownerId: r.owner_id as string,
    teamId: r.team_id as string,
    status: r.status as string,
    packet: r.packet as Prisma.JsonValue,
    routingReason: r.routing_reason as string,
    version: Number(r.version),
    idempotencyKey: (r.idempotency_key ?? null) as string | null,
    requestHash: (r.request_hash ?? null) as string | null,
    externalId: (r.external_id ?? null) as string | null,
    policy: r.policy as Prisma.JsonValue,
    slaAcceptDueAt: dateOrNull(r.sla_accept_due_at),
    slaFirstTouchDueAt: dateOrNull(r.sla_first_touch_due_at),
    timerToken: (r.timer_token ?? null) as string | null,
    escalationLevel: Number(r.escalation_level),
    acceptedAt: dateOrNull(r.accepted_at),
    firstTouchAt: dateOrNull(r.first_touch_at),
    acceptWallS: numOrNull(r.accept_wall_s),
    acceptBusinessS: numOrNull(r.accept_business_s),
    firstTouchWallS: numOrNull(r.first_touch_wall_s),
    firstTouchBusinessS: numOrNull(r.first_touch_business_s),
    reassignCount: Number(r.reassign_count),
    rejectReason: (r.reject_reason ?? null) as string | null,
    closedAt: dateOrNull(r.closed_at),
    createdAt: dateOrNull(r.created_at)!,
    updatedAt: dateOrNull(r.updated_at)!,
    account: {
      id: Number(a.id),
      name: a.name as string,
      nameKey: a.name_key as string,
      domain: (a.domain ?? null) as string | null,
      crmId: (a.crm_id ?? null) as string | null,
      segment: (a.segment ?? null) as string | null,
      region: (a.region ?? null) as string | null,
      createdAt: dateOrNull(a.created_at)!,
    },
    owner: personFromJson(r.__owner as Raw),
    from: personFromJson(r.__from as Raw),
  };
}
