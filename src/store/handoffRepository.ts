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
    const or: Prisma.AccountWhereInput[] = [];
    if (a.crmId) or.push({ crmId: a.crmId });
    if (a.domain) or.push({ domain: a.domain });
    let found = or.length ? await tx.account.findFirst({ where: { OR: or }, orderBy: { id: 'asc' } }) : null;
    // Without a CRM id or domain the name is all we have; reuse an account only if exactly one matches.
    if (!found && !or.length) {
      const byName = await tx.account.findMany({ where: { nameKey: nameKey(a.name) }, take: 2 });
      if (byName.length === 1) found = byName[0]!;
    }
    if (found) {
      const fill: Prisma.AccountUpdateInput = {};
      if (!found.crmId && a.crmId) fill.crmId = a.crmId;
      if (!found.domain && a.domain) fill.domain = a.domain;
      if (a.segment && a.segment !== found.segment) fill.segment = a.segment;
      if (a.region && a.region !== found.region) fill.region = a.region;
      if (Object.keys(fill).length) await tx.account.update({ where: { id: found.id }, data: fill, select: { id: true } });
      return found.id;
    }
    // Two intakes for the same new account can race: ON CONFLICT waits for the other transaction
    // and then yields to it, instead of aborting this one with a unique violation.
    const inserted = await tx.$queryRaw<{ id: number }[]>`
      INSERT INTO account (name, name_key, crm_id, domain, segment, region, created_at)
      VALUES (${a.name}, ${nameKey(a.name)}, ${a.crmId ?? null}, ${a.domain ?? null}, ${a.segment ?? null}, ${a.region ?? null}, ${now})
      ON CONFLICT DO NOTHING RETURNING id`;
    const id = inserted[0]?.id ?? (await tx.account.findFirst({ where: { OR: or }, orderBy: { id: 'asc' }, select: { id: true } }))?.id;
    if (id === undefined) throw new ConflictError('Another request changed this account at the same moment; please retry.', undefined, undefined, 'account_race');
    return id;
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

  async bumpQueue(tx: Tx, queueKey: string, personId: string): Promise<void> {
    await tx.routingCursor.upsert({
      where: { queueKey_personId: { queueKey, personId } },
      create: { queueKey, personId, assigned: 1 },
      update: { assigned: { increment: 1 } },
    });
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
