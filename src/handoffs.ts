/**
 * Handoff commands and queries: the one place where handoffs are created and change state.
 * Every change is one transaction: the row (guarded by its version), its audit event and its
 * outbox event. Adapters (HTTP API, Slack, Teams) call these functions and nothing else.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Prisma } from './generated/prisma/client.js';
import type { Clock } from './clock.js';
import type { Database } from './store/database.js';
import type { Logger } from './logger.js';
import { Directory } from './directory.js';
import { Policy, viewerOf } from './domain/policy.js';
import { ConflictError, InvalidError, NotFoundError, NotInDirectoryError, UnavailableError, isDatabaseUnavailable, type ErrorDetail } from './errors.js';
import {
  AWAITING_ACCEPT,
  OPEN_STATUSES,
  decide,
  validateActionArgs,
  type HandoffAction,
  type HandoffStatus,
  type LastChange,
  type Role,
  type UserAction,
  USER_ACTIONS,
  LIFECYCLE,
} from './domain/lifecycle.js';
import { isAvailable, pickWeighted, routeHandoff } from './domain/routing.js';
import type { AccountRef, HandoffEventView, HandoffView, PersonRef } from './domain/view.js';
import { appendOutbox, type OutboxConsumer, type Tx } from './outbox.js';
import type { Playbook, Transition } from './playbook/schema.js';
import { evaluateEntryCriteria, validatePacket } from './playbook/packet.js';
import { addBusinessTime, businessTimeBetween } from './sla/businessTime.js';
import type { BusinessCalendar } from './sla/businessCalendar.js';
import { actionSchema, assertStorableFilter, intakeSchema, parseWith, type IntakeRequest } from './handoffs/requests.js';

/** The SLA and escalation policy copied onto a handoff when it enters a step. */
export interface PolicySnapshot {
  acceptMs: number;
  firstTouchMs: number;
  nudgesAt: number[];
  escalation: Transition['escalation'];
  calendar: BusinessCalendar;
}

export interface HandoffServiceDeps {
  db: Database;
  playbook: Playbook;
  clock: Clock;
  log: Logger;
  /** Consumers that get a delivery row for each event (platform gateways, SLA scheduler). */
  consumers: () => readonly OutboxConsumer[];
  /** Called after a commit that wrote outbox rows. */
  afterCommit?: (consumers?: string[]) => void;
}

const handoffInclude = { account: true, owner: true, from: true } as const;

export interface ApplyArgs {
  reasonCode?: string | undefined;
  note?: string | undefined;
  to?: string | undefined;
  expectedVersion?: number | undefined;
  /** Extra facts for the audit event and the outbox payload (e.g. the SLA step that fired). */
  data?: Record<string, unknown>;
  /**
   * Runs inside the same transaction, after the guards pass and before the change is written:
   * e.g. the SLA engine records its exactly-once firing row and the breach here. Throwing aborts
   * the whole change.
   */
  inTransaction?: (tx: Tx, handoff: HandoffRow) => Promise<void>;
}
export type HandoffRow = Prisma.HandoffGetPayload<{ include: typeof handoffInclude }>;

/**
 * A handoff with its account and both people in one statement. Prisma's `include` sends one query
 * per relation (four round trips, each through the query compiler); this path is on every state
 * change and every delivery, so it is read with a join instead and mapped to the same shape.
 */
const HANDOFF_ROW_SQL = `
  SELECT h.*, to_jsonb(a) AS "__account", to_jsonb(o) AS "__owner", to_jsonb(f) AS "__from"
  FROM handoff h
  JOIN account a ON a.id = h.account_id
  JOIN person o ON o.id = h.owner_id
  JOIN person f ON f.id = h.from_id
  WHERE h.id = $1`;

type Raw = Record<string, unknown>;
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function personFromJson(j: Raw): HandoffRow['owner'] {
  return {
    id: j.id as string,
    name: j.name as string,
    email: j.email as string,
    teamId: j.team_id as string,
    managerId: (j.manager_id ?? null) as string | null,
    slackUserId: (j.slack_user_id ?? null) as string | null,
    teamsUserId: (j.teams_user_id ?? null) as string | null,
    aadObjectId: (j.aad_object_id ?? null) as string | null,
    timeZone: j.time_zone as string,
    awayUntil: (j.away_until ?? null) as string | null,
    active: j.active as boolean,
    updatedAt: dateOrNull(j.updated_at)!,
  };
}

function handoffRowFromRaw(r: Raw): HandoffRow {
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

/** The handoff row with its relations (see HANDOFF_ROW_SQL), or null. */
export async function loadHandoffRow(client: Tx | Database['prisma'], id: number): Promise<HandoffRow | null> {
  const rows = await client.$queryRawUnsafe<Raw[]>(HANDOFF_ROW_SQL, id);
  return rows[0] ? handoffRowFromRaw(rows[0]) : null;
}

export interface IntakeResult {
  handoff: HandoffView;
  /** false when an idempotent retry returned the handoff created earlier. */
  created: boolean;
}

export interface ListFilter {
  status?: string | undefined;
  owner?: string | undefined;
  account?: string | undefined;
  transition?: string | undefined;
  team?: string | undefined;
  limit?: number | undefined;
  /** Return handoffs with an id below this (pages go newest first). */
  before?: number | undefined;
}

export class HandoffService {
  readonly directory: Directory;
  /** Who may see and act (src/domain/policy.ts); every surface asks this one. */
  readonly policy: Policy;
  private readonly transitions: Map<string, Transition>;

  constructor(private readonly deps: HandoffServiceDeps) {
    this.directory = new Directory(deps.playbook);
    this.policy = new Policy(this.directory);
    this.transitions = new Map(deps.playbook.transitions.map((t) => [t.id, t]));
  }

  get playbook(): Playbook {
    return this.deps.playbook;
  }

  transition(id: string): Transition | undefined {
    return this.transitions.get(id);
  }

  // -------------------------------------------------------------------------------------------
  // Intake: received → validated → routed, in one transaction

  async intake(body: unknown, opts: { idempotencyKey?: string | undefined } = {}): Promise<IntakeResult> {
    const req = parseWith(intakeSchema, body, 'handoff request');
    const t = this.transitions.get(req.transition);
    const details: ErrorDetail[] = [];
    if (!t) {
      details.push({ path: 'transition', message: `unknown transition "${req.transition}"; use one of ${[...this.transitions.keys()].join(', ')}` });
    }
    const from = this.directory.find(req.from);
    if (!from) details.push({ path: 'from', message: `no person "${req.from}" in the playbook (use an email or a person id from GET /api/people)` });
    else if (!from.active) details.push({ path: 'from', message: `${from.name} is no longer active in the playbook` });
    const to = req.to ? this.directory.find(req.to) : undefined;
    if (req.to && !to) details.push({ path: 'to', message: `no person "${req.to}" in the playbook` });
    else if (to && !to.active) details.push({ path: 'to', message: `${to.name} is not active; leave "to" out to route automatically` });
    let packet: Record<string, unknown> = req.packet;
    if (t) {
      const v = validatePacket(t, req.packet);
      if (v.ok) packet = v.packet;
      else details.push(...v.details);
      const badFields = new Set(details.map((d) => d.path));
      for (const d of evaluateEntryCriteria(t.entryCriteria, { packet, account: req.account })) {
        if (!badFields.has(d.path)) details.push(d);
      }
    }
    if (details.length || !t || !from) {
      throw new InvalidError(
        `The handoff was not created: ${details.length} problem${details.length === 1 ? '' : 's'} (${details.map((d) => d.path).join(', ')}).`,
        details,
        'validation_failed',
      );
    }

    const key = opts.idempotencyKey ?? (req.externalId ? `external:${t.id}:${req.externalId}` : undefined);
    const requestHash = key ? hashRequest(req) : null;
    if (key) {
      const existing = await this.findByIdempotencyKey(key, requestHash!);
      if (existing) return { handoff: existing, created: false };
    }

    const now = this.deps.clock.now();
    const toTeam = this.directory.teams.get(t.toTeamId)!;
    const policy: PolicySnapshot = {
      acceptMs: t.sla.acceptMs,
      firstTouchMs: t.sla.firstTouchMs,
      nudgesAt: t.nudgesAt,
      escalation: t.escalation,
      calendar: toTeam.calendar,
    };
    let row: HandoffRow;
    let woken: string[] = [];
    try {
      row = await this.withTx(async (tx) => {
        const accountId = await upsertAccount(tx, req.account, now);
        // A named owner wins over the account's owner (routeHandoff): no need to look that up.
        const owned = to ? null : await tx.accountOwner.findUnique({ where: { accountId_stage: { accountId, stage: t.toStage } } });
        const route = await routeHandoff(
          { packet, account: req.account },
          {
            playbook: this.playbook,
            transition: t,
            now,
            accountOwnerId: owned?.personId ?? null,
            queueCounts: (queueKey) => lockedQueueCounts(tx, queueKey),
          },
          to?.id,
        );
        if (route.queueKey) await bumpQueue(tx, route.queueKey, route.ownerId);
        const slaAcceptDueAt = addBusinessTime(now, policy.acceptMs, policy.calendar);
        const timerToken = randomUUID();
        const h = await tx.handoff.create({
          data: {
            transitionId: t.id,
            accountId,
            fromId: from.id,
            ownerId: route.ownerId,
            teamId: t.toTeamId,
            status: 'routed',
            packet: packet as Prisma.InputJsonValue,
            routingReason: route.reason,
            idempotencyKey: key ?? null,
            requestHash,
            externalId: req.externalId ?? null,
            policy: policy as unknown as Prisma.InputJsonValue,
            slaAcceptDueAt,
            timerToken,
            createdAt: now,
          },
          select: { id: true },
        });
        await tx.handoffEvent.createMany({
          data: [
            { handoffId: h.id, version: 0, type: 'received', actorId: from.id, at: now, toStatus: 'received', data: { source: opts.idempotencyKey ? 'api' : 'api' } },
            {
              handoffId: h.id,
              version: 1,
              type: 'routed',
              actorId: null,
              at: now,
              fromStatus: 'received',
              toStatus: 'routed',
              ownerId: route.ownerId,
              data: { reason: route.reason, source: route.source },
            },
          ],
        });
        woken = await appendOutbox(tx, this.deps.consumers(), {
          handoffId: h.id,
          type: 'handoff.routed',
          payload: { handoffId: h.id, version: 1, ownerId: route.ownerId, timerToken, slaAcceptDueAt: slaAcceptDueAt.toISOString() },
        }, now);
        const created = await loadHandoffRow(tx, h.id);
        if (!created) throw new Error(`handoff #${h.id} vanished inside its own transaction`);
        return created;
      });
    } catch (err) {
      if (key && isUniqueViolation(err)) {
        // Two identical requests raced; the other one committed first. Return its handoff.
        const existing = await this.findByIdempotencyKey(key, requestHash!);
        if (existing) return { handoff: existing, created: false };
      }
      throw err;
    }
    this.deps.afterCommit?.(woken);
    // The answer comes from the committed row, with no further read: once committed, the client
    // is told so even if the database goes away this very moment (a 503 would say "not written").
    const view = this.toView(row);
    this.deps.log.info({ handoffId: row.id, transition: t.id, ownerId: view.owner.id, routing: view.routingReason }, 'handoff routed');
    return { handoff: view, created: true };
  }

  private async findByIdempotencyKey(key: string, requestHash: string): Promise<HandoffView | undefined> {
    const existing = await this.guard(() => this.deps.db.prisma.handoff.findUnique({ where: { idempotencyKey: key }, include: handoffInclude }));
    if (!existing) return undefined;
    if (existing.requestHash !== requestHash) {
      throw new InvalidError(
        `This idempotency key was already used for a different request (handoff #${existing.id}). Use a new key for a new handoff.`,
        [{ path: 'Idempotency-Key', message: `already used by handoff #${existing.id} with a different body` }],
        'idempotency_key_reused',
      );
    }
    return this.toView(existing);
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  /** Applies a user's action. `actor` is a person id, email or platform user id. `inTransaction`: see ApplyArgs. */
  async act(handoffId: number, body: unknown, opts: Pick<ApplyArgs, 'inTransaction'> = {}): Promise<HandoffView> {
    const req = parseWith(actionSchema, body, 'action request');
    const actor = this.directory.find(req.actor);
    if (!actor) {
      throw new InvalidError(`"${req.actor}" is not a person in the playbook, so they can't act on handoffs.`, [
        { path: 'actor', message: `no person "${req.actor}" in the playbook` },
      ], 'unknown_actor');
    }
    const viewer = viewerOf(actor);
    if (viewer.kind !== 'person') throw new NotInDirectoryError(`${actor.name} is inactive in the playbook, so they can't act on handoffs. A playbook admin can reactivate them: ${this.policy.whoCanHelp()}.`, 'inactive_actor');
    return this.apply(handoffId, req.action, actor.id, { ...req, ...opts });
  }

  /**
   * The one function that changes a handoff's state. `actorId` null means the system (SLA timers,
   * delivery). Guarded by the row's version: of two concurrent actions exactly one commits.
   */
  async apply(
    handoffId: number,
    action: HandoffAction,
    actorId: string | null,
    args: ApplyArgs = {},
  ): Promise<HandoffView> {
    const now = this.deps.clock.now();
    const result = await this.withTx(async (tx) => {
      const h = await loadHandoffRow(tx, handoffId);
      if (!h) throw new NotFoundError(`There is no handoff #${handoffId}.`);
      const t = this.transitions.get(h.transitionId);
      const roles = actorId === null ? (['system'] as Role[]) : this.policy.rolesOf(actorId, h);
      const decideWith = (lastChange: LastChange | null) =>
        decide({
          status: h.status as HandoffStatus,
          version: h.version,
          action,
          actorRoles: roles,
          whoCanAct: this.policy.whoCanAct(h, action),
          expectedVersion: args.expectedVersion,
          lastChange,
          firstTouchRecorded: h.firstTouchAt !== null,
        });
      // The last change only shapes refusals (who won, and when): it is read when the click is
      // stale, or when a refusal without it is about to be thrown, to throw it with it instead.
      // decide() without it accepts exactly what it accepts with it, except a stale version.
      const stale = args.expectedVersion !== undefined && args.expectedVersion !== h.version;
      let decision: ReturnType<typeof decide>;
      if (stale) decision = decideWith(await this.lastChange(tx, h.id, h.version));
      else {
        try {
          decision = decideWith(null);
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          decision = decideWith(await this.lastChange(tx, h.id, h.version));
        }
      }
      if (actorId !== null && (USER_ACTIONS as readonly string[]).includes(action)) {
        validateActionArgs(action as UserAction, args, t?.rejectReasons ?? []);
      }
      await args.inTransaction?.(tx, h);
      const policy = h.policy as unknown as PolicySnapshot;
      const update: Prisma.HandoffUncheckedUpdateManyInput = { status: decision.toStatus, version: decision.nextVersion, updatedAt: now };
      let newOwnerId: string | null = null;
      let reason: string | null = null;
      switch (action) {
        case 'accept': {
          update.acceptedAt = now;
          update.acceptWallS = seconds(now.getTime() - h.createdAt.getTime());
          update.acceptBusinessS = seconds(businessTimeBetween(h.createdAt, now, policy.calendar));
          update.slaFirstTouchDueAt = addBusinessTime(now, policy.firstTouchMs, policy.calendar);
          update.timerToken = randomUUID();
          if (t) {
            await tx.accountOwner.upsert({
              where: { accountId_stage: { accountId: h.accountId, stage: t.toStage } },
              create: { accountId: h.accountId, stage: t.toStage, personId: h.ownerId, handoffId: h.id, since: now },
              update: { personId: h.ownerId, handoffId: h.id, since: now },
            });
          }
          break;
        }
        case 'reject':
        case 'withdraw':
        case 'complete':
          update.closedAt = now;
          update.timerToken = null;
          if (action === 'reject') update.rejectReason = args.reasonCode ?? null;
          break;
        case 'touch':
          update.firstTouchAt = now;
          update.firstTouchWallS = seconds(now.getTime() - h.createdAt.getTime());
          update.firstTouchBusinessS = seconds(businessTimeBetween(h.createdAt, now, policy.calendar));
          update.timerToken = null;
          break;
        case 'reassign':
        case 'auto_reassign': {
          const target = await this.reassignTarget(tx, h, t, args.to, now);
          newOwnerId = target.ownerId;
          reason = target.reason;
          update.ownerId = target.ownerId;
          update.reassignCount = { increment: 1 };
          update.acceptedAt = null;
          update.escalationLevel = 0;
          if (policy.escalation.restartSlaOnReassign || h.acceptedAt) {
            update.slaAcceptDueAt = addBusinessTime(now, policy.acceptMs, policy.calendar);
          }
          update.slaFirstTouchDueAt = null;
          update.timerToken = randomUUID();
          break;
        }
        case 'escalate':
          update.escalationLevel = h.escalationLevel + 1;
          break;
        case 'post':
        case 'nudge':
        case 'snooze':
        case 'sla_breach':
          break;
      }
      if (!decision.annotation) {
        // A change that keeps the version (posting) also checks the status, or a second platform's
        // post racing the first would apply twice. A change that bumps it checks the version only:
        // a post committed meanwhile must not make a person's accept lose.
        const keepsVersion = decision.nextVersion === h.version;
        const { count } = await tx.handoff.updateMany({ where: { id: h.id, version: h.version, ...(keepsVersion ? { status: h.status } : {}) }, data: update });
        if (count === 0) {
          // Another transaction committed first. Re-read to tell the loser who won and when.
          throw await this.conflictAfterRace(tx, h.id, action);
        }
      }
      const eventData: Record<string, unknown> = { ...(args.data ?? {}) };
      if (reason) eventData.reason = reason;
      if (newOwnerId) eventData.previousOwnerId = h.ownerId;
      await tx.handoffEvent.create({
        data: {
          handoffId: h.id,
          version: decision.nextVersion,
          type: action === 'auto_reassign' ? 'reassigned' : pastTense(action),
          actorId,
          at: now,
          fromStatus: decision.fromStatus,
          toStatus: decision.toStatus,
          ownerId: newOwnerId ?? h.ownerId,
          reasonCode: args.reasonCode ?? null,
          note: args.note?.trim() || null,
          data: Object.keys(eventData).length ? (eventData as Prisma.InputJsonValue) : Prisma.DbNull,
        },
      });
      const woken = await appendOutbox(tx, this.deps.consumers(), {
        handoffId: h.id,
        type: `handoff.${action === 'auto_reassign' ? 'reassigned' : pastTense(action)}`,
        payload: {
          handoffId: h.id,
          version: decision.nextVersion,
          action,
          actorId,
          ownerId: newOwnerId ?? h.ownerId,
          timerToken: update.timerToken === undefined ? h.timerToken : update.timerToken,
          slaAcceptDueAt: (update.slaAcceptDueAt as Date | undefined)?.toISOString() ?? h.slaAcceptDueAt?.toISOString() ?? null,
          slaFirstTouchDueAt: (update.slaFirstTouchDueAt as Date | null | undefined)?.toISOString() ?? h.slaFirstTouchDueAt?.toISOString() ?? null,
          ...(args.data ? { data: args.data } : {}),
        },
      }, now);
      // The answer must not depend on the database after the commit. The row is locked by our
      // update until then, so it is the row we read plus the plain values we wrote; only a change
      // of owner (another person row) or an increment is read back.
      let row: HandoffRow;
      if (decision.annotation) row = h;
      else if (newOwnerId === null && Object.values(update).every((v) => v === null || v instanceof Date || typeof v !== 'object')) {
        row = { ...h, ...(update as Partial<HandoffRow>) };
      } else {
        const fresh = await loadHandoffRow(tx, h.id);
        if (!fresh) throw new NotFoundError(`There is no handoff #${h.id}.`);
        row = fresh;
      }
      return { id: h.id, from: decision.fromStatus, to: decision.toStatus, version: decision.nextVersion, row, woken };
    });
    this.deps.afterCommit?.(result.woken);
    this.deps.log.info({ handoffId: result.id, action, actorId, from: result.from, to: result.to, version: result.version }, 'handoff state changed');
    return this.toView(result.row);
  }

  /**
   * A platform delivered the card. The first platform moves routed → posted (true); later
   * deliveries (the other platform, a retry) find it already posted and change nothing (false).
   *
   * This is what `apply(id, 'post')` would do (same rule, audit row and outbox event), in one
   * statement instead of a six-statement transaction: it runs once per handoff, on the delivery
   * path, and posting has nothing to decide beyond "is it still routed" (system only, no version
   * bump, no other column).
   */
  async markPosted(handoffId: number, platform: string): Promise<boolean> {
    const rule = LIFECYCLE.post;
    // Posting starts from one status (routed), so the audit row's "from" is known without reading.
    const [from] = rule.from;
    const now = this.deps.clock.now();
    const type = 'handoff.posted';
    const wanted = this.deps.consumers().filter((c) => c.accepts(type)).map((c) => c.name);
    const iso = (column: Prisma.Sql) => Prisma.sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    const rows = await this.guard(() =>
      this.deps.db.prisma.$queryRaw<{ id: number; version: number }[]>`
        WITH h AS (
          UPDATE handoff SET status = ${rule.to}, updated_at = ${now}
          WHERE id = ${handoffId} AND status = ${from}
          RETURNING id, version, owner_id, timer_token, sla_accept_due_at, sla_first_touch_due_at
        ), audit AS (
          INSERT INTO handoff_event (handoff_id, version, type, actor_id, at, from_status, to_status, owner_id, data)
          SELECT id, version, ${pastTense('post')}, NULL, ${now}, ${from}, ${rule.to}, owner_id, ${JSON.stringify({ platform })}::jsonb FROM h
        ), e AS (
          INSERT INTO outbox_event (handoff_id, type, payload, created_at)
          SELECT id, ${type}, jsonb_build_object(
            'handoffId', id, 'version', version, 'action', 'post', 'actorId', NULL, 'ownerId', owner_id, 'timerToken', timer_token,
            'slaAcceptDueAt', ${iso(Prisma.raw('sla_accept_due_at'))}, 'slaFirstTouchDueAt', ${iso(Prisma.raw('sla_first_touch_due_at'))},
            'data', ${JSON.stringify({ platform })}::jsonb), ${now} FROM h
          RETURNING id
        ), d AS (
          INSERT INTO outbox_delivery (event_id, consumer, attempts, available_at)
          SELECT e.id, c.name, 0, ${now}::timestamptz FROM e, unnest(${wanted}::text[]) AS c(name)
        )
        SELECT id, version FROM h`,
    );
    const posted = rows[0];
    if (!posted) return false; // already posted by the other platform, or moved on (accepted, withdrawn…)
    if (wanted.length) this.deps.afterCommit?.(wanted);
    this.deps.log.info({ handoffId, action: 'post', actorId: null, from, to: rule.to, version: posted.version }, 'handoff state changed');
    return true;
  }

  /**
   * Read inside the losing transaction: each statement sees what committed before it (READ
   * COMMITTED), and asking the pool for a second connection while holding one could wait forever
   * once every pooled connection is held by a transaction doing the same.
   */
  private async conflictAfterRace(tx: Tx, id: number, action: HandoffAction): Promise<ConflictError> {
    const h = await tx.handoff.findUnique({ where: { id } });
    const last = h ? await this.lastChange(tx, id, h.version) : null;
    const by = last?.by ? ` by ${last.by.name}` : '';
    const at = last ? ` at ${last.at.toISOString().replace('T', ' ').slice(0, 16)} UTC` : '';
    return new ConflictError(
      `Someone else changed this handoff first: it was ${h?.status ?? 'changed'}${by}${at}. Your ${action} was not applied.`,
      last?.by ?? undefined,
      last?.at,
      h ? `already_${h.status}` : 'conflict',
    );
  }

  private async reassignTarget(tx: Tx, h: HandoffRow, t: Transition | undefined, to: string | undefined, now: Date): Promise<{ ownerId: string; reason: string }> {
    if (to && to !== 'queue') {
      const p = this.directory.find(to);
      if (!p) throw new InvalidError(`There is no person "${to}" in the playbook.`, [{ path: 'to', message: `no person "${to}" in the playbook` }]);
      if (!p.active) throw new InvalidError(`${p.name} is not active.`, [{ path: 'to', message: `${p.name} is not active in the playbook` }]);
      if (p.id === h.ownerId) throw new InvalidError(`${p.name} already owns this handoff.`, [{ path: 'to', message: `${p.name} is already the owner` }]);
      return { ownerId: p.id, reason: `reassigned to ${p.name}` };
    }
    if (!t) throw new InvalidError('This handoff\'s transition is no longer in the playbook; name a person to reassign to.', [{ path: 'to', message: 'name a person' }]);
    const queueKey = `${t.id}:queue`;
    const counts = await lockedQueueCounts(tx, queueKey);
    const pick = pickWeighted(t.routing.queue, counts, (id) => {
      const p = this.directory.byId.get(id);
      return p && p.id !== h.ownerId && isAvailable(p, now) ? p : undefined;
    });
    if (pick) {
      await bumpQueue(tx, queueKey, pick.id);
      return { ownerId: pick.id, reason: `next in the ${this.directory.teams.get(t.toTeamId)?.name ?? t.toTeamId} queue` };
    }
    if (t.fallbackOwnerId !== h.ownerId) return { ownerId: t.fallbackOwnerId, reason: 'fallback owner: nobody else in the queue is available' };
    throw new ConflictError('Nobody else in the queue is available and the fallback owner already owns it; name a person instead.', undefined, undefined, 'no_reassign_target');
  }

  private async lastChange(tx: Tx | Database['prisma'], handoffId: number, version: number): Promise<LastChange | null> {
    // The first event at a version is the change that produced it (annotations come after).
    const e = await tx.handoffEvent.findFirst({ where: { handoffId, version }, orderBy: { id: 'asc' } });
    if (!e) return null;
    const by = e.actorId ? this.directory.byId.get(e.actorId) : undefined;
    return { action: e.type, by: by ? { id: by.id, name: by.name } : null, at: e.at };
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  async get(id: number, opts: { events?: boolean } = { events: true }): Promise<HandoffView> {
    // The events are read alongside (not after) the row: one round trip of latency instead of two.
    const [h, events] = await Promise.all([
      this.guard(() => loadHandoffRow(this.deps.db.prisma, id)),
      opts.events !== false ? this.guard(() => this.events(id)) : undefined,
    ]);
    if (!h) throw new NotFoundError(`There is no handoff #${id}.`);
    const view = this.toView(h);
    if (events) view.events = events;
    return view;
  }

  async events(handoffId: number): Promise<HandoffEventView[]> {
    const rows = await this.deps.db.prisma.handoffEvent.findMany({ where: { handoffId }, orderBy: [{ version: 'asc' }, { id: 'asc' }] });
    return rows.map((e) => ({
      id: String(e.id),
      version: e.version,
      type: e.type,
      actor: e.actorId ? this.personRefById(e.actorId) : null,
      at: e.at.toISOString(),
      fromStatus: e.fromStatus,
      toStatus: e.toStatus,
      owner: e.ownerId ? this.personRefById(e.ownerId) : null,
      reasonCode: e.reasonCode,
      note: e.note,
      data: e.data,
    }));
  }

  async list(filter: ListFilter): Promise<{ handoffs: HandoffView[]; nextBefore: number | null }> {
    assertStorableFilter({ ...filter });
    const where: Prisma.HandoffWhereInput = {};
    if (filter.status) {
      const wanted = filter.status.split(',').map((s) => s.trim()).filter(Boolean);
      const expanded = wanted.flatMap((s) => (s === 'open' ? [...OPEN_STATUSES] : s === 'awaiting' ? [...AWAITING_ACCEPT] : [s]));
      where.status = { in: expanded };
    }
    if (filter.owner) {
      const p = this.directory.find(filter.owner);
      if (!p) throw new InvalidError(`There is no person "${filter.owner}".`, [{ path: 'owner', message: `no person "${filter.owner}" in the playbook` }]);
      where.ownerId = p.id;
    }
    if (filter.account) {
      const accounts = await this.findAccounts(filter.account);
      where.accountId = { in: accounts.map((a) => a.id) };
    }
    if (filter.transition) where.transitionId = filter.transition;
    if (filter.team) where.teamId = filter.team;
    if (filter.before) where.id = { lt: filter.before };
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const rows = await this.guard(() => this.deps.db.prisma.handoff.findMany({ where, include: handoffInclude, orderBy: { id: 'desc' }, take: limit + 1 }));
    const page = rows.slice(0, limit);
    return { handoffs: page.map((r) => this.toView(r)), nextBefore: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  /** Accounts matching a key: id, CRM id, domain, or (case-insensitive) name. */
  async findAccounts(key: string): Promise<AccountRef[]> {
    assertStorableFilter({ account: key });
    const k = key.trim();
    const prisma = this.deps.db.prisma;
    const exact = await this.guard(() =>
      prisma.account.findMany({
        where: { OR: [{ crmId: k }, { domain: k.toLowerCase() }, ...(/^\d+$/.test(k) && Number(k) < 2 ** 31 ? [{ id: Number(k) }] : []), { nameKey: nameKey(k) }] },
        orderBy: { id: 'asc' },
        take: 20,
      }),
    );
    return exact.map((a) => ({ id: a.id, name: a.name, domain: a.domain, crmId: a.crmId }));
  }

  async accountOwners(key: string): Promise<{ account: AccountRef; owners: { stage: string; stageName: string; owner: PersonRef; since: string; handoffId: number | null }[]; openHandoffs: HandoffView[] }> {
    const matches = await this.findAccounts(key);
    if (matches.length === 0) throw new NotFoundError(`No account matches "${key}" (try its CRM id, domain or exact name).`);
    if (matches.length > 1) {
      throw new InvalidError(
        `"${key}" matches ${matches.length} accounts; use a CRM id or domain.`,
        matches.map((m) => ({ path: 'account', message: `#${m.id} ${m.name}${m.domain ? ` (${m.domain})` : ''}${m.crmId ? ` crm ${m.crmId}` : ''}` })),
        'ambiguous_account',
      );
    }
    const account = matches[0]!;
    const prisma = this.deps.db.prisma;
    const owners = await prisma.accountOwner.findMany({ where: { accountId: account.id } });
    const stageOrder = this.playbook.stages.map((s) => s.id);
    owners.sort((a, b) => stageOrder.indexOf(a.stage) - stageOrder.indexOf(b.stage));
    const open = await prisma.handoff.findMany({ where: { accountId: account.id, status: { in: [...OPEN_STATUSES] } }, include: handoffInclude, orderBy: { id: 'asc' } });
    return {
      account,
      owners: owners.map((o) => ({
        stage: o.stage,
        stageName: this.playbook.stages.find((s) => s.id === o.stage)?.name ?? o.stage,
        owner: this.personRefById(o.personId),
        since: o.since.toISOString(),
        handoffId: o.handoffId,
      })),
      openHandoffs: open.map((h) => this.toView(h)),
    };
  }

  personRefById(id: string): PersonRef {
    const p = this.directory.byId.get(id);
    return p
      ? { id: p.id, name: p.name, email: p.email, slackUserId: p.slackUserId, teamsUserId: p.teamsUserId, timeZone: p.timeZone }
      : { id, name: id, email: '', slackUserId: null, teamsUserId: null };
  }

  toView(h: HandoffRow): HandoffView {
    const t = this.transitions.get(h.transitionId);
    const status = h.status as HandoffStatus;
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    const slaDueAt = AWAITING_ACCEPT.includes(status) ? h.slaAcceptDueAt : status === 'accepted' && !h.firstTouchAt ? h.slaFirstTouchDueAt : null;
    const ref = (p: HandoffRow['owner']): PersonRef => ({ id: p.id, name: p.name, email: p.email, slackUserId: p.slackUserId, teamsUserId: p.teamsUserId, timeZone: p.timeZone });
    return {
      id: h.id,
      status,
      version: h.version,
      transition: h.transitionId,
      transitionName: t?.name ?? h.transitionId,
      fromStage: t?.fromStage ?? '',
      toStage: t?.toStage ?? '',
      teamId: h.teamId,
      account: { id: h.account.id, name: h.account.name, domain: h.account.domain, crmId: h.account.crmId },
      from: ref(h.from),
      owner: ref(h.owner),
      routingReason: h.routingReason,
      slaDueAt: iso(slaDueAt),
      slaAcceptDueAt: iso(h.slaAcceptDueAt),
      slaFirstTouchDueAt: iso(h.slaFirstTouchDueAt),
      escalationLevel: h.escalationLevel,
      packet: h.packet as Record<string, unknown>,
      externalId: h.externalId,
      createdAt: h.createdAt.toISOString(),
      updatedAt: h.updatedAt.toISOString(),
      acceptedAt: iso(h.acceptedAt),
      firstTouchAt: iso(h.firstTouchAt),
      closedAt: iso(h.closedAt),
    };
  }

  // -------------------------------------------------------------------------------------------

  private async withTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.guard(() => this.deps.db.prisma.$transaction(fn, { timeout: 15_000, maxWait: 10_000 }));
  }

  /** Database outages become a typed 503 (nothing was written), not a hang or a 500. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw new UnavailableError('The database is unavailable right now; nothing was written. Please retry in a moment.');
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------

function pastTense(action: HandoffAction): string {
  const map: Record<HandoffAction, string> = {
    accept: 'accepted',
    reject: 'rejected',
    reassign: 'reassigned',
    auto_reassign: 'reassigned',
    complete: 'completed',
    withdraw: 'withdrawn',
    touch: 'first_touch',
    post: 'posted',
    nudge: 'nudged',
    snooze: 'snoozed',
    escalate: 'escalated',
    // A first-touch breach is an escalation too (same event for the platforms: data.kind tells which SLA).
    sla_breach: 'escalated',
  };
  return map[action];
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}

export function nameKey(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** The account's id, created or completed from the request. */
async function upsertAccount(tx: Tx, a: IntakeRequest['account'], now: Date): Promise<number> {
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

/** Serialises round-robin picks per queue across instances (a transaction-scoped advisory lock). */
async function lockedQueueCounts(tx: Tx, queueKey: string): Promise<Map<string, number>> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${queueKey}))`;
  const rows = await tx.routingCursor.findMany({ where: { queueKey } });
  return new Map(rows.map((r) => [r.personId, r.assigned]));
}

async function bumpQueue(tx: Tx, queueKey: string, personId: string): Promise<void> {
  await tx.routingCursor.upsert({
    where: { queueKey_personId: { queueKey, personId } },
    create: { queueKey, personId, assigned: 1 },
    update: { assigned: { increment: 1 } },
  });
}

function hashRequest(req: IntakeRequest): string {
  return createHash('sha256').update(canonicalJson(req)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/** The database is down, dropped the connection or stayed busy past a transaction's wait (see src/errors.ts). */
export function isConnectionError(err: unknown): boolean {
  return isDatabaseUnavailable(err);
}
