/**
 * What a state change does to a handoff, as a pure function: `(handoff, command, now) → { next,
 * audit, events }`. The service decides whether the action is allowed (`decideCommand`, the
 * lifecycle table), picks a reassignment's new owner (it needs the queue's counts), and then
 * writes what `transition` returns in one transaction: the column changes, the audit event and
 * the domain events. The SLA arithmetic (business time) happens here.
 */
import { decide, type Decision, type HandoffAction, type HandoffStatus, type LastChange, type Role } from './lifecycle.js';
import { EVENT_OF_ACTION, type DomainEvent, type HandoffChangedPayload } from '../events.js';
import type { Transition } from '../playbook/schema.js';
import type { BusinessCalendar } from '../sla/businessCalendar.js';
import { addBusinessTime, businessTimeBetween } from '../sla/businessTime.js';

/** The SLA and escalation policy copied onto a handoff when it enters a step. */
export interface PolicySnapshot {
  acceptMs: number;
  firstTouchMs: number;
  nudgesAt: number[];
  escalation: Transition['escalation'];
  calendar: BusinessCalendar;
}

/** The handoff as a transition reads it (a HandoffRow is one). */
export interface HandoffState {
  id: number;
  accountId: number;
  status: string;
  version: number;
  ownerId: string;
  policy: unknown;
  createdAt: Date;
  acceptedAt: Date | null;
  firstTouchAt: Date | null;
  slaAcceptDueAt: Date | null;
  slaFirstTouchDueAt: Date | null;
  timerToken: string | null;
  escalationLevel: number;
  reassignCount: number;
}

/** The columns a change sets; everything else keeps its value. */
export interface HandoffChanges {
  status?: string;
  version?: number;
  updatedAt?: Date;
  ownerId?: string;
  routingReason?: string;
  acceptedAt?: Date | null;
  acceptWallS?: number;
  acceptBusinessS?: number;
  firstTouchAt?: Date;
  firstTouchWallS?: number;
  firstTouchBusinessS?: number;
  slaAcceptDueAt?: Date;
  slaFirstTouchDueAt?: Date | null;
  timerToken?: string | null;
  escalationLevel?: number;
  reassignCount?: number;
  rejectReason?: string | null;
  closedAt?: Date;
}

/** One row of the audit trail (handoff_event). */
export interface AuditEvent {
  handoffId: number;
  version: number;
  type: string;
  actorId: string | null;
  at: Date;
  fromStatus?: string | null;
  toStatus: string;
  ownerId?: string | null;
  reasonCode?: string | null;
  note?: string | null;
  data: Record<string, unknown> | null;
}

export interface CommandCheck {
  action: HandoffAction;
  actorRoles: readonly Role[];
  /** Who can act, for the refusal message (e.g. "Dana Kim (owner)"). */
  whoCanAct: string;
  expectedVersion?: number | undefined;
}

/** Whether the action applies to the handoff as it is; throws a typed refusal (see decide). */
export function decideCommand(h: HandoffState, check: CommandCheck, lastChange: LastChange | null): Decision {
  return decide({
    status: h.status as HandoffStatus,
    version: h.version,
    action: check.action,
    actorRoles: check.actorRoles,
    whoCanAct: check.whoCanAct,
    expectedVersion: check.expectedVersion,
    lastChange,
    firstTouchRecorded: h.firstTouchAt !== null,
  });
}

/** The new owner of a reassignment, and why (picked by the service: it needs the queue's counts). */
export interface ReassignTarget {
  ownerId: string;
  /** Where the owner came from, e.g. "reassigned to Sam Torres" or "next in the Sales queue". */
  reason: string;
  /** named: the person asked for; queue / fallback: picked by Baton (the reason says how). */
  source: 'named' | 'queue' | 'fallback';
}

export interface HandoffCommand {
  action: HandoffAction;
  /** null: Baton itself (SLA timers, delivery). */
  actorId: string | null;
  /** The actor's name, for the routing reason a reassignment writes. */
  actorName?: string | undefined;
  /** What decideCommand returned for this handoff. */
  decision: Decision;
  reasonCode?: string | undefined;
  note?: string | undefined;
  /** Extra facts for the audit event and the event payload (e.g. the SLA step that fired). */
  data?: Record<string, unknown> | undefined;
  /** reassign and auto_reassign only. */
  reassignTo?: ReassignTarget | undefined;
  /** The token of the SLA timers of a phase this change starts (accept, reassign). */
  newTimerToken: string;
  /** The receiving stage (an accept makes the owner the account's owner there); undefined when the transition left the playbook. */
  toStage?: string | undefined;
}

export interface TransitionResult {
  /** Column changes; null for an annotation (nudge, snooze…), which changes no column. */
  next: HandoffChanges | null;
  /** The update applies only to the row still at this version (and status, when given). */
  guard: { version: number; status?: string };
  audit: AuditEvent;
  events: DomainEvent[];
  /** accept: the owner becomes the account's owner at the receiving stage. */
  accountOwner?: { accountId: number; stage: string; personId: string; handoffId: number; since: Date };
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

/**
 * The routing reason after a reassignment: who reassigned it and why, and where a picked owner
 * came from. "reassigned by Dana Kim: out sick this week", "auto-reassigned by Baton: accept SLA
 * missed, escalated twice; next in the Sales queue".
 */
export function reassignedBecause(h: Pick<HandoffState, 'escalationLevel'>, cmd: Pick<HandoffCommand, 'actorId' | 'actorName' | 'note' | 'reasonCode' | 'data'>, target: ReassignTarget): string {
  const picked = target.source === 'named' ? '' : `; ${target.reason}`;
  if (cmd.actorId === null) {
    const kind = cmd.data?.kind === 'first_touch' ? 'first-touch' : 'accept';
    const times = h.escalationLevel === 0 ? '' : `, escalated ${h.escalationLevel === 1 ? 'once' : h.escalationLevel === 2 ? 'twice' : `${h.escalationLevel} times`}`;
    return `auto-reassigned by Baton: ${kind} SLA missed${times}${picked}`;
  }
  const why = cmd.note?.trim() || cmd.reasonCode;
  return `reassigned by ${cmd.actorName ?? cmd.actorId}${why ? `: ${why}` : ''}${picked}`;
}

export function transition(h: HandoffState, cmd: HandoffCommand, now: Date): TransitionResult {
  const { decision, action } = cmd;
  const policy = h.policy as PolicySnapshot;
  const next: HandoffChanges = { status: decision.toStatus, version: decision.nextVersion, updatedAt: now };
  let accountOwner: TransitionResult['accountOwner'];
  const target = action === 'reassign' || action === 'auto_reassign' ? cmd.reassignTo : undefined;
  if ((action === 'reassign' || action === 'auto_reassign') && !target) throw new Error(`${action} needs a reassignment target`);
  switch (action) {
    case 'accept':
      next.acceptedAt = now;
      next.acceptWallS = seconds(now.getTime() - h.createdAt.getTime());
      next.acceptBusinessS = seconds(businessTimeBetween(h.createdAt, now, policy.calendar));
      next.slaFirstTouchDueAt = addBusinessTime(now, policy.firstTouchMs, policy.calendar);
      next.timerToken = cmd.newTimerToken;
      if (cmd.toStage) accountOwner = { accountId: h.accountId, stage: cmd.toStage, personId: h.ownerId, handoffId: h.id, since: now };
      break;
    case 'reject':
    case 'withdraw':
    case 'complete':
      next.closedAt = now;
      next.timerToken = null;
      if (action === 'reject') next.rejectReason = cmd.reasonCode ?? null;
      break;
    case 'touch':
      next.firstTouchAt = now;
      next.firstTouchWallS = seconds(now.getTime() - h.createdAt.getTime());
      next.firstTouchBusinessS = seconds(businessTimeBetween(h.createdAt, now, policy.calendar));
      next.timerToken = null;
      break;
    case 'reassign':
    case 'auto_reassign':
      next.ownerId = target!.ownerId;
      next.routingReason = reassignedBecause(h, cmd, target!);
      next.reassignCount = h.reassignCount + 1;
      next.acceptedAt = null;
      next.escalationLevel = 0;
      if (policy.escalation.restartSlaOnReassign || h.acceptedAt) next.slaAcceptDueAt = addBusinessTime(now, policy.acceptMs, policy.calendar);
      next.slaFirstTouchDueAt = null;
      next.timerToken = cmd.newTimerToken;
      break;
    case 'escalate':
      next.escalationLevel = h.escalationLevel + 1;
      break;
    case 'post':
    case 'nudge':
    case 'snooze':
    case 'sla_breach':
      break;
  }

  const type = EVENT_OF_ACTION[action];
  const ownerId = target?.ownerId ?? h.ownerId;
  const eventData: Record<string, unknown> = { ...(cmd.data ?? {}) };
  if (target) {
    eventData.reason = target.reason;
    eventData.previousOwnerId = h.ownerId;
  }
  const audit: AuditEvent = {
    handoffId: h.id,
    version: decision.nextVersion,
    type: type.slice('handoff.'.length),
    actorId: cmd.actorId,
    at: now,
    fromStatus: decision.fromStatus,
    toStatus: decision.toStatus,
    ownerId,
    reasonCode: cmd.reasonCode ?? null,
    note: cmd.note?.trim() || null,
    data: Object.keys(eventData).length ? eventData : null,
  };
  // Field for field what consumers have always read (and what stored deliveries hold). A cleared
  // first-touch deadline reports the previous one, as it always has: `?? h…` on a null.
  const payload: HandoffChangedPayload = {
    handoffId: h.id,
    version: decision.nextVersion,
    action,
    actorId: cmd.actorId,
    ownerId,
    timerToken: next.timerToken === undefined ? h.timerToken : next.timerToken,
    slaAcceptDueAt: next.slaAcceptDueAt?.toISOString() ?? h.slaAcceptDueAt?.toISOString() ?? null,
    slaFirstTouchDueAt: next.slaFirstTouchDueAt?.toISOString() ?? h.slaFirstTouchDueAt?.toISOString() ?? null,
    ...(cmd.data ? { data: cmd.data } : {}),
  };
  const event = { type, handoffId: h.id, payload } as DomainEvent;
  return {
    next: decision.annotation ? null : next,
    // A change that keeps the version (posting) also checks the status, or a second platform's
    // post racing the first would apply twice. A change that bumps it checks the version only:
    // a post committed meanwhile must not make a person's accept lose.
    guard: decision.nextVersion === h.version ? { version: h.version, status: h.status } : { version: h.version },
    audit,
    events: [event],
    ...(accountOwner ? { accountOwner } : {}),
  };
}
