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
import type { SqlClient } from './sqlClient.js';
import { HANDOFF_ROW_BY_KEY_SQL, HANDOFF_ROW_SQL, handoffInclude, handoffRowFromRaw, type HandoffRow, type Raw } from './handoffRows.js';

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
  reassignCount: true,
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
  /** `sql`: the same database below Prisma (the intake's transaction runs on it, see intakeTransaction). */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql?: SqlClient,
  ) {}

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn, { timeout: 15_000, maxWait: 10_000 });
  }

  /**
   * A transaction on the driver below Prisma (the `pg` pool or PGlite): the intake's statements are
   * fixed SQL, and going around Prisma's interactive transaction and query engine halves their CPU.
   */
  intakeTransaction<T>(fn: (q: SqlClient) => Promise<T>): Promise<T> {
    if (!this.sql) throw new Error('HandoffRepository was made without its SqlClient');
    return this.sql.transaction(fn);
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

  /** On the driver when there is one (every keyed intake asks this first), else through Prisma. */
  async findByIdempotencyKey(key: string): Promise<HandoffRow | null> {
    if (!this.sql) return this.prisma.handoff.findUnique({ where: { idempotencyKey: key }, include: handoffInclude });
    const [row] = await this.sql.query<Raw>(HANDOFF_ROW_BY_KEY_SQL, [key]);
    return row ? handoffRowFromRaw(row) : null;
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
  async upsertAccount(q: SqlClient, a: NewAccount, now: Date): Promise<number> {
    return (await this.intakeAccount(q, a, { stage: null, lockQueues: [] }, now)).accountId;
  }

  /**
   * The intake's first statement: finds the account by CRM id or domain (by name only when neither
   * is given and exactly one account has it), fills what it lacked, or creates it; reads its owner
   * at `stage`; and takes the advisory locks of the round-robin queues routing may consult (so the
   * counts read after it are the committed ones, see `queueCounts`). One statement where it was five.
   */
  async intakeAccount(q: SqlClient, a: NewAccount, opts: { stage: string | null; lockQueues: readonly string[] }, now: Date): Promise<{ accountId: number; ownerId: string | null }> {
    // Empty strings count as absent, as they always have ('' never matched nor filled).
    const crm = a.crmId || null;
    const domain = a.domain || null;
    const segment = a.segment || null;
    const region = a.region || null;
    const key = nameKey(a.name);
    const [row] = await q.query<{ id: number | null; owner_id: string | null; locks: number }>(
      `
      WITH found AS (
        SELECT id, crm_id, domain, segment, region FROM account
        WHERE ($1::text IS NOT NULL AND crm_id = $2) OR ($3::text IS NOT NULL AND domain = $4)
           OR ($5::text IS NULL AND $6::text IS NULL AND name_key = $7
               AND (SELECT count(*) FROM (SELECT 1 FROM account WHERE name_key = $8 LIMIT 2) n) = 1)
        ORDER BY id LIMIT 1
      ), filled AS (
        UPDATE account x SET crm_id = COALESCE(x.crm_id, $9), domain = COALESCE(x.domain, $10),
          segment = COALESCE($11, x.segment), region = COALESCE($12, x.region)
        FROM found f
        WHERE x.id = f.id AND ((f.crm_id IS NULL AND $13::text IS NOT NULL) OR (f.domain IS NULL AND $14::text IS NOT NULL)
          OR f.segment IS DISTINCT FROM COALESCE($15, f.segment) OR f.region IS DISTINCT FROM COALESCE($16, f.region))
        RETURNING x.id
      ), created AS (
        INSERT INTO account (name, name_key, crm_id, domain, segment, region, created_at)
        SELECT $17::text, $18::text, $19::text, $20::text, $21::text, $22::text, $23::timestamptz WHERE NOT EXISTS (SELECT 1 FROM found)
        ON CONFLICT DO NOTHING RETURNING id
      ), locks AS (
        -- After the account's row is written (reading filled and created runs them first), as
        -- before: account, then queues, the order every intake and reassign takes them in.
        SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($24::text[]) AS q(k)
        WHERE (SELECT count(*) FROM filled) + (SELECT count(*) FROM created) >= 0
      )
      SELECT COALESCE((SELECT id FROM found), (SELECT id FROM created)) AS id,
        (SELECT o.person_id FROM account_owner o, found f WHERE o.account_id = f.id AND o.stage = $25) AS owner_id,
        (SELECT count(*)::int FROM locks) AS locks`,
      [crm, crm, domain, domain, crm, domain, key, key, crm, domain, segment, region, crm, domain, segment, region, a.name, key, crm, domain, segment, region, now, [...opts.lockQueues], opts.stage],
    );
    if (row?.id !== null && row?.id !== undefined) return { accountId: Number(row.id), ownerId: row.owner_id };
    // Two intakes for the same new account raced: ON CONFLICT waited for the other transaction and
    // yielded to it. Its account is committed now, so a new statement sees it (a new account has no owner).
    const [raced] = crm || domain ? await q.query<{ id: number }>('SELECT id FROM account WHERE crm_id = $1 OR domain = $2 ORDER BY id LIMIT 1', [crm, domain]) : [];
    const id = raced?.id;
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

  /** A queue's assignment counts, read after `intakeAccount` took its lock (or taking it first: `lock`). */
  async queueCounts(q: SqlClient, queueKey: string, opts: { lock: boolean } = { lock: false }): Promise<Map<string, number>> {
    if (opts.lock) await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [queueKey]);
    const rows = await q.query<{ person_id: string; assigned: number }>('SELECT person_id, assigned FROM routing_cursor WHERE queue_key = $1', [queueKey]);
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
    q: SqlClient,
    a: { handoff: NewHandoff; audit: readonly Omit<AuditEvent, 'handoffId'>[]; event: { type: string; payload: Record<string, unknown> }; consumers: readonly string[]; queuePick: { queueKey: string; personId: string } | null },
  ): Promise<HandoffRow> {
    const h = a.handoff;
    const audit = JSON.stringify(
      a.audit.map((e) => ({ version: e.version, type: e.type, actor_id: e.actorId, at: e.at.toISOString(), from_status: e.fromStatus ?? null, to_status: e.toStatus, owner_id: e.ownerId ?? null, reason_code: e.reasonCode ?? null, note: e.note ?? null, data: e.data })),
    );
    const rows = await q.query<Raw>(
      `
      WITH h AS (
        INSERT INTO handoff (transition_id, account_id, from_id, owner_id, team_id, status, packet, routing_reason, idempotency_key, request_hash,
          external_id, policy, sla_accept_due_at, timer_token, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8,
          $9, $10, $11, $12::jsonb,
          $13::timestamptz, $14, $15::timestamptz, $16::timestamptz)
        RETURNING *
      ), audit AS (
        INSERT INTO handoff_event (handoff_id, version, type, actor_id, at, from_status, to_status, owner_id, reason_code, note, data)
        SELECT h.id, e.version, e.type, e.actor_id, e.at, e.from_status, e.to_status, e.owner_id, e.reason_code, e.note, e.data
        FROM h, jsonb_to_recordset($17::jsonb) AS e(version int, type text, actor_id text, at timestamptz, from_status text, to_status text,
          owner_id text, reason_code text, note text, data jsonb)
        ORDER BY e.version
      ), e AS (
        INSERT INTO outbox_event (handoff_id, type, payload, created_at)
        SELECT h.id, $18, $19::jsonb || jsonb_build_object('handoffId', h.id), $20::timestamptz FROM h
        RETURNING id
      ), d AS (
        INSERT INTO outbox_delivery (event_id, consumer, attempts, available_at)
        SELECT e.id, c.name, 0, $21::timestamptz FROM e, unnest($22::text[]) AS c(name)
      ), q AS (
        INSERT INTO routing_cursor (queue_key, person_id, assigned)
        SELECT $23::text, $24::text, 1 WHERE $25::text IS NOT NULL
        ON CONFLICT (queue_key, person_id) DO UPDATE SET assigned = routing_cursor.assigned + 1
      )
      SELECT h.*, to_jsonb(ac) AS "__account", to_jsonb(o) AS "__owner", to_jsonb(f) AS "__from"
      FROM h JOIN account ac ON ac.id = h.account_id JOIN person o ON o.id = h.owner_id JOIN person f ON f.id = h.from_id`,
      [h.transitionId, h.accountId, h.fromId, h.ownerId, h.teamId, h.status, JSON.stringify(h.packet), h.routingReason, h.idempotencyKey ?? null, h.requestHash ?? null, h.externalId ?? null, JSON.stringify(h.policy), h.slaAcceptDueAt ?? null, h.timerToken ?? null, h.createdAt, h.createdAt, audit, a.event.type, JSON.stringify(a.event.payload), h.createdAt, h.createdAt, [...a.consumers], a.queuePick?.queueKey ?? null, a.queuePick?.personId ?? null, a.queuePick?.queueKey ?? null],
    );
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
