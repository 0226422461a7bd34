/**
 * Every SQL statement on handoffs: the handoff row, its audit events (handoff_event), accounts
 * and their owners, the round-robin queue counters, and the one-statement "posted" change with
 * its outbox rows. Each method is one narrow statement; a method that must run inside a change's
 * transaction takes that transaction (`tx`) as its first argument, and `transaction()` opens one.
 * This is the seam where hot statements can move from the Prisma client to the `pg` driver.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { Tx } from '../outbox.js';
import { ConflictError } from '../errors.js';
import type { AuditEvent, HandoffChanges } from '../domain/transition.js';
import { HANDOFF_ROW_SQL, handoffInclude, handoffRowFromRaw, type HandoffRow, type Raw } from './handoffRows.js';

export type { HandoffRow } from './handoffRows.js';

/** A pool connection or a transaction: reads that run either way take this. */
export type Queryable = Tx | PrismaClient;

export interface NewAccount {
  name: string;
  crmId?: string | undefined;
  domain?: string | undefined;
  segment?: string | undefined;
  region?: string | undefined;
}

export type NewHandoff = Pick<
  Prisma.HandoffUncheckedCreateInput,
  'transitionId' | 'accountId' | 'fromId' | 'ownerId' | 'teamId' | 'status' | 'routingReason' | 'idempotencyKey' | 'requestHash' | 'externalId' | 'slaAcceptDueAt' | 'timerToken' | 'createdAt'
> & { packet: Record<string, unknown>; policy: unknown };

export type HandoffEventRow = Prisma.HandoffEventGetPayload<Record<string, never>>;
export type AccountRow = Prisma.AccountGetPayload<Record<string, never>>;

const timerStateSelect = {
  id: true,
  status: true,
  timerToken: true,
  slaAcceptDueAt: true,
  slaFirstTouchDueAt: true,
  firstTouchAt: true,
  policy: true,
  ownerId: true,
  teamId: true,
  transitionId: true,
} as const;
export type TimerStateRow = Prisma.HandoffGetPayload<{ select: typeof timerStateSelect }>;

export interface ListWhere {
  statuses?: readonly string[];
  ownerId?: string;
  accountIds?: readonly number[];
  transitionId?: string;
  teamId?: string;
  /** Handoffs with an id below this (pages go newest first). */
  beforeId?: number;
}

export function nameKey(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, ' ');
}

export class HandoffRepository {
  constructor(private readonly prisma: PrismaClient) {}

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn, { timeout: 15_000, maxWait: 10_000 });
  }

  // ---------------------------------------------------------------------------------------------
  // The handoff row

  /** The row with its account and both people, in one statement; null when there is none. */
  async loadRow(q: Queryable | undefined, id: number): Promise<HandoffRow | null> {
    const rows = await (q ?? this.prisma).$queryRawUnsafe<Raw[]>(HANDOFF_ROW_SQL, id);
    return rows[0] ? handoffRowFromRaw(rows[0]) : null;
  }

  /** Status and version as committed now (read by the loser of a race, inside its transaction). */
  async state(q: Queryable, id: number): Promise<{ status: string; version: number } | null> {
    return q.handoff.findUnique({ where: { id }, select: { status: true, version: true } });
  }

  findByIdempotencyKey(key: string): Promise<HandoffRow | null> {
    return this.prisma.handoff.findUnique({ where: { idempotencyKey: key }, include: handoffInclude });
  }

  async create(tx: Tx, h: NewHandoff): Promise<number> {
    const { packet, policy, ...rest } = h;
    const row = await tx.handoff.create({
      data: { ...rest, packet: packet as Prisma.InputJsonValue, policy: policy as Prisma.InputJsonValue },
      select: { id: true },
    });
    return row.id;
  }

  /**
   * Applies `changes` if the row is still at `guard.version` (and `guard.status`, when given);
   * false when another transaction changed it first.
   */
  async updateGuarded(tx: Tx, id: number, guard: { version: number; status?: string }, changes: HandoffChanges): Promise<boolean> {
    const { count } = await tx.handoff.updateMany({ where: { id, version: guard.version, ...(guard.status ? { status: guard.status } : {}) }, data: changes });
    return count === 1;
  }

  /** Locks the row and returns its timer token (the SLA engine's exactly-once check). */
  async lockTimerToken(tx: Tx, id: number): Promise<string | null | undefined> {
    const [locked] = await tx.$queryRaw<{ timer_token: string | null }[]>`SELECT timer_token FROM handoff WHERE id = ${id} FOR UPDATE`;
    return locked ? locked.timer_token : undefined;
  }

  /** What the SLA engine decides its timers on. */
  timerState(id: number): Promise<TimerStateRow | null> {
    return this.prisma.handoff.findUnique({ where: { id }, select: timerStateSelect });
  }

  async list(where: ListWhere, limit: number): Promise<HandoffRow[]> {
    const w: Prisma.HandoffWhereInput = {};
    if (where.statuses) w.status = { in: [...where.statuses] };
    if (where.ownerId) w.ownerId = where.ownerId;
    if (where.accountIds) w.accountId = { in: [...where.accountIds] };
    if (where.transitionId) w.transitionId = where.transitionId;
    if (where.teamId) w.teamId = where.teamId;
    if (where.beforeId) w.id = { lt: where.beforeId };
    return this.prisma.handoff.findMany({ where: w, include: handoffInclude, orderBy: { id: 'desc' }, take: limit });
  }

  /** An account's handoffs, oldest first; only those in `statuses` when given. */
  ofAccount(accountId: number, statuses?: readonly string[]): Promise<HandoffRow[]> {
    return this.prisma.handoff.findMany({
      where: { accountId, ...(statuses ? { status: { in: [...statuses] } } : {}) },
      include: handoffInclude,
      orderBy: { id: 'asc' },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Audit events

  async appendEvents(tx: Tx, events: readonly AuditEvent[]): Promise<void> {
    await tx.handoffEvent.createMany({ data: events.map((e) => ({ ...e, data: e.data === null ? Prisma.DbNull : (e.data as Prisma.InputJsonValue) })) });
  }

  /** The change that produced `version`: the first event at it (annotations come after). */
  lastChange(q: Queryable, handoffId: number, version: number): Promise<HandoffEventRow | null> {
    return q.handoffEvent.findFirst({ where: { handoffId, version }, orderBy: { id: 'asc' } });
  }

  events(handoffId: number): Promise<HandoffEventRow[]> {
    return this.prisma.handoffEvent.findMany({ where: { handoffId }, orderBy: [{ version: 'asc' }, { id: 'asc' }] });
  }

  /** Events of several handoffs in time order (an account's timeline). */
  eventsOf(handoffIds: readonly number[]): Promise<HandoffEventRow[]> {
    return this.prisma.handoffEvent.findMany({ where: { handoffId: { in: [...handoffIds] } }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
  }

  /** The latest event of a type since a time (e.g. the last snooze of an SLA phase). */
  latestEvent(handoffId: number, type: string, since: Date): Promise<HandoffEventRow | null> {
    return this.prisma.handoffEvent.findFirst({ where: { handoffId, type, at: { gte: since } }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });
  }

  // ---------------------------------------------------------------------------------------------
  // Accounts and their owners

  /** The account's id, created or completed from the request. */
  async upsertAccount(tx: Tx, a: NewAccount, now: Date): Promise<number> {
    return (await this.intakeAccount(tx, a, { stage: null, lockQueues: [] }, now)).accountId;
  }

  /**
   * The intake's first statement: finds the account by CRM id or domain (by name only when neither
   * is given and exactly one account has it), fills what it lacked, or creates it; reads its owner
   * at `stage`; and takes the advisory locks of the round-robin queues routing may consult (so the
   * counts read after it are the committed ones, see `queueCounts`). One statement where it was five.
   */
  async intakeAccount(tx: Tx, a: NewAccount, opts: { stage: string | null; lockQueues: readonly string[] }, now: Date): Promise<{ accountId: number; ownerId: string | null }> {
    // Empty strings count as absent, as they always have ('' never matched nor filled).
    const crm = a.crmId || null;
    const domain = a.domain || null;
    const segment = a.segment || null;
    const region = a.region || null;
    const key = nameKey(a.name);
    const [row] = await tx.$queryRaw<{ id: number | null; owner_id: string | null; locks: number }[]>`
      WITH found AS (
        SELECT id, crm_id, domain, segment, region FROM account
        WHERE (${crm}::text IS NOT NULL AND crm_id = ${crm}) OR (${domain}::text IS NOT NULL AND domain = ${domain})
           OR (${crm}::text IS NULL AND ${domain}::text IS NULL AND name_key = ${key}
               AND (SELECT count(*) FROM (SELECT 1 FROM account WHERE name_key = ${key} LIMIT 2) n) = 1)
        ORDER BY id LIMIT 1
      ), filled AS (
        UPDATE account x SET crm_id = COALESCE(x.crm_id, ${crm}), domain = COALESCE(x.domain, ${domain}),
          segment = COALESCE(${segment}, x.segment), region = COALESCE(${region}, x.region)
        FROM found f
        WHERE x.id = f.id AND ((f.crm_id IS NULL AND ${crm}::text IS NOT NULL) OR (f.domain IS NULL AND ${domain}::text IS NOT NULL)
          OR f.segment IS DISTINCT FROM COALESCE(${segment}, f.segment) OR f.region IS DISTINCT FROM COALESCE(${region}, f.region))
        RETURNING x.id
      ), created AS (
        INSERT INTO account (name, name_key, crm_id, domain, segment, region, created_at)
        SELECT ${a.name}, ${key}, ${crm}, ${domain}, ${segment}, ${region}, ${now} WHERE NOT EXISTS (SELECT 1 FROM found)
        ON CONFLICT DO NOTHING RETURNING id
      ), locks AS (
        -- After the account's row is written (reading filled and created runs them first), as
        -- before: account, then queues, the order every intake and reassign takes them in.
        SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(${[...opts.lockQueues]}::text[]) AS q(k)
        WHERE (SELECT count(*) FROM filled) + (SELECT count(*) FROM created) >= 0
      )
      SELECT COALESCE((SELECT id FROM found), (SELECT id FROM created)) AS id,
        (SELECT o.person_id FROM account_owner o, found f WHERE o.account_id = f.id AND o.stage = ${opts.stage}) AS owner_id,
        (SELECT count(*)::int FROM locks) AS locks`;
    if (row?.id !== null && row?.id !== undefined) return { accountId: Number(row.id), ownerId: row.owner_id };
    // Two intakes for the same new account raced: ON CONFLICT waited for the other transaction and
    // yielded to it. Its account is committed now, so a new statement sees it (a new account has no owner).
    const or: Prisma.AccountWhereInput[] = [];
    if (crm) or.push({ crmId: crm });
    if (domain) or.push({ domain });
    const id = or.length ? (await tx.account.findFirst({ where: { OR: or }, orderBy: { id: 'asc' }, select: { id: true } }))?.id : undefined;
    if (id === undefined) throw new ConflictError('Another request changed this account at the same moment; please retry.', undefined, undefined, 'account_race');
    return { accountId: id, ownerId: null };
  }

  /** Accounts matching a key: id, CRM id, domain, or (case-insensitive) name; at most 20. */
  findAccounts(key: string): Promise<AccountRow[]> {
    const k = key.trim();
    const byId = /^\d+$/.test(k) && Number(k) < 2 ** 31 ? [{ id: Number(k) }] : [];
    return this.prisma.account.findMany({ where: { OR: [{ crmId: k }, { domain: k.toLowerCase() }, ...byId, { nameKey: nameKey(k) }] }, orderBy: { id: 'asc' }, take: 20 });
  }

  async accountOwnerAt(tx: Tx, accountId: number, stage: string): Promise<string | null> {
    const o = await tx.accountOwner.findUnique({ where: { accountId_stage: { accountId, stage } }, select: { personId: true } });
    return o?.personId ?? null;
  }

  async setAccountOwner(tx: Tx, o: { accountId: number; stage: string; personId: string; handoffId: number; since: Date }): Promise<void> {
    await tx.accountOwner.upsert({
      where: { accountId_stage: { accountId: o.accountId, stage: o.stage } },
      create: o,
      update: { personId: o.personId, handoffId: o.handoffId, since: o.since },
    });
  }

  accountOwners(accountId: number): Promise<{ stage: string; personId: string; since: Date; handoffId: number | null }[]> {
    return this.prisma.accountOwner.findMany({ where: { accountId }, select: { stage: true, personId: true, since: true, handoffId: true } });
  }

  // ---------------------------------------------------------------------------------------------
  // Round-robin queue counters

  /** Serialises round-robin picks per queue across instances (a transaction-scoped advisory lock). */
  async lockedQueueCounts(tx: Tx, queueKey: string): Promise<Map<string, number>> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${queueKey}))`;
    const rows = await tx.routingCursor.findMany({ where: { queueKey } });
    return new Map(rows.map((r) => [r.personId, r.assigned]));
  }

  /** A queue's assignment counts, read after `intakeAccount` took its lock. */
  async queueCounts(tx: Tx, queueKey: string): Promise<Map<string, number>> {
    const rows = await tx.$queryRaw<{ person_id: string; assigned: number }[]>`SELECT person_id, assigned FROM routing_cursor WHERE queue_key = ${queueKey}`;
    return new Map(rows.map((r) => [r.person_id, Number(r.assigned)]));
  }

  async bumpQueue(tx: Tx, queueKey: string, personId: string): Promise<void> {
    await tx.routingCursor.upsert({
      where: { queueKey_personId: { queueKey, personId } },
      create: { queueKey, personId, assigned: 1 },
      update: { assigned: { increment: 1 } },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Intake: the routed handoff, its audit events, its outbox event and deliveries in one statement

  /**
   * Writes a new handoff with its audit events (`handoffId` filled in here), its event (the
   * payload gets `handoffId`) with one delivery row per consumer in `consumers`, and the queue
   * counter of the pick (`queuePick`); returns the row as `loadRow` reads it. One statement where
   * it was five (create, createMany, the event, loadRow, the counter upsert).
   */
  async insertRouted(
    tx: Tx,
    a: { handoff: NewHandoff; audit: readonly Omit<AuditEvent, 'handoffId'>[]; event: { type: string; payload: Record<string, unknown> }; consumers: readonly string[]; queuePick: { queueKey: string; personId: string } | null },
  ): Promise<HandoffRow> {
    const h = a.handoff;
    const audit = JSON.stringify(
      a.audit.map((e) => ({ version: e.version, type: e.type, actor_id: e.actorId, at: e.at.toISOString(), from_status: e.fromStatus ?? null, to_status: e.toStatus, owner_id: e.ownerId ?? null, reason_code: e.reasonCode ?? null, note: e.note ?? null, data: e.data })),
    );
    const rows = await tx.$queryRaw<Raw[]>`
      WITH h AS (
        INSERT INTO handoff (transition_id, account_id, from_id, owner_id, team_id, status, packet, routing_reason, idempotency_key, request_hash,
          external_id, policy, sla_accept_due_at, timer_token, created_at, updated_at)
        VALUES (${h.transitionId}, ${h.accountId}, ${h.fromId}, ${h.ownerId}, ${h.teamId}, ${h.status}, ${JSON.stringify(h.packet)}::jsonb, ${h.routingReason},
          ${h.idempotencyKey ?? null}, ${h.requestHash ?? null}, ${h.externalId ?? null}, ${JSON.stringify(h.policy)}::jsonb,
          ${h.slaAcceptDueAt ?? null}::timestamptz, ${h.timerToken ?? null}, ${h.createdAt}::timestamptz, ${h.createdAt}::timestamptz)
        RETURNING *
      ), audit AS (
        INSERT INTO handoff_event (handoff_id, version, type, actor_id, at, from_status, to_status, owner_id, reason_code, note, data)
        SELECT h.id, e.version, e.type, e.actor_id, e.at, e.from_status, e.to_status, e.owner_id, e.reason_code, e.note, e.data
        FROM h, jsonb_to_recordset(${audit}::jsonb) AS e(version int, type text, actor_id text, at timestamptz, from_status text, to_status text,
          owner_id text, reason_code text, note text, data jsonb)
        ORDER BY e.version
      ), e AS (
        INSERT INTO outbox_event (handoff_id, type, payload, created_at)
        SELECT h.id, ${a.event.type}, ${JSON.stringify(a.event.payload)}::jsonb || jsonb_build_object('handoffId', h.id), ${h.createdAt}::timestamptz FROM h
        RETURNING id
      ), d AS (
        INSERT INTO outbox_delivery (event_id, consumer, attempts, available_at)
        SELECT e.id, c.name, 0, ${h.createdAt}::timestamptz FROM e, unnest(${[...a.consumers]}::text[]) AS c(name)
      ), q AS (
        INSERT INTO routing_cursor (queue_key, person_id, assigned)
        SELECT ${a.queuePick?.queueKey ?? null}::text, ${a.queuePick?.personId ?? null}::text, 1 WHERE ${a.queuePick?.queueKey ?? null}::text IS NOT NULL
        ON CONFLICT (queue_key, person_id) DO UPDATE SET assigned = routing_cursor.assigned + 1
      )
      SELECT h.*, to_jsonb(ac) AS "__account", to_jsonb(o) AS "__owner", to_jsonb(f) AS "__from"
      FROM h JOIN account ac ON ac.id = h.account_id JOIN person o ON o.id = h.owner_id JOIN person f ON f.id = h.from_id`;
    if (!rows[0]) throw new Error('the new handoff was not returned by its own insert');
    return handoffRowFromRaw(rows[0]);
  }

  // ---------------------------------------------------------------------------------------------
  // Posting: the change, its audit row and its outbox rows in one statement

  /**
   * Moves the handoff from `from` to `to` if it is still `from`, and writes its audit event and
   * its `handoff.posted` outbox event (a HandoffChangedPayload, built here in SQL) with one delivery
   * row per consumer in `consumers`. Null when it was not `from` any more.
   */
  async markPosted(a: { handoffId: number; from: string; to: string; auditType: string; platform: string; consumers: readonly string[]; now: Date }): Promise<{ version: number } | null> {
    const iso = (column: string) => Prisma.sql`to_char(${Prisma.raw(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    const data = JSON.stringify({ platform: a.platform });
    const rows = await this.prisma.$queryRaw<{ version: number }[]>`
      WITH h AS (
        UPDATE handoff SET status = ${a.to}, updated_at = ${a.now}
        WHERE id = ${a.handoffId} AND status = ${a.from}
        RETURNING id, version, owner_id, timer_token, sla_accept_due_at, sla_first_touch_due_at
      ), audit AS (
        INSERT INTO handoff_event (handoff_id, version, type, actor_id, at, from_status, to_status, owner_id, data)
        SELECT id, version, ${a.auditType}, NULL, ${a.now}, ${a.from}, ${a.to}, owner_id, ${data}::jsonb FROM h
      ), e AS (
        INSERT INTO outbox_event (handoff_id, type, payload, created_at)
        SELECT id, 'handoff.posted', jsonb_build_object(
          'handoffId', id, 'version', version, 'action', 'post', 'actorId', NULL, 'ownerId', owner_id, 'timerToken', timer_token,
          'slaAcceptDueAt', ${iso('sla_accept_due_at')}, 'slaFirstTouchDueAt', ${iso('sla_first_touch_due_at')},
          'data', ${data}::jsonb), ${a.now} FROM h
        RETURNING id
      ), d AS (
        INSERT INTO outbox_delivery (event_id, consumer, attempts, available_at)
        SELECT e.id, c.name, 0, ${a.now}::timestamptz FROM e, unnest(${[...a.consumers]}::text[]) AS c(name)
      )
      SELECT version FROM h`;
    return rows[0] ?? null;
  }
}
