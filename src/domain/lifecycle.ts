/**
 * The handoff lifecycle as data: one table of `status × action → next status` and who may take
 * each action. `decide` is pure; src/handoffs.ts applies its result (row update, audit event,
 * outbox event) in one transaction. No status is assigned anywhere else.
 */
import { ConflictError, ForbiddenError, InvalidError } from '../errors.js';

export const STATUSES = [
  'routed', // owner resolved, card not yet delivered anywhere
  'posted', // card delivered to at least one platform
  'reassigned', // a new owner must accept
  'escalated', // accept SLA breached; escalated along the chain
  'accepted',
  'rejected',
  'completed',
  'withdrawn',
] as const;
export type HandoffStatus = (typeof STATUSES)[number];

/** Statuses in which the current owner still has to accept. */
export const AWAITING_ACCEPT: readonly HandoffStatus[] = ['routed', 'posted', 'reassigned', 'escalated'];
export const OPEN_STATUSES: readonly HandoffStatus[] = [...AWAITING_ACCEPT, 'accepted'];
export const CLOSED_STATUSES: readonly HandoffStatus[] = ['rejected', 'completed', 'withdrawn'];

export const USER_ACTIONS = ['accept', 'reject', 'reassign', 'complete', 'withdraw', 'touch', 'snooze'] as const;
export type UserAction = (typeof USER_ACTIONS)[number];
export const SYSTEM_ACTIONS = ['post', 'escalate', 'auto_reassign', 'nudge', 'sla_breach'] as const;
export type SystemAction = (typeof SYSTEM_ACTIONS)[number];
export type HandoffAction = UserAction | SystemAction;

/** Who may take an action, relative to the handoff. */
export type Role = 'owner' | 'owner_lead' | 'admin' | 'sender' | 'sender_lead' | 'system';

interface Rule {
  from: readonly HandoffStatus[];
  /** null: the status does not change (e.g. recording a first touch). */
  to: HandoffStatus | null;
  roles: readonly Role[];
  /** Past tense for messages: "already accepted by …". */
  verb: string;
  /**
   * An annotation is recorded (audit + outbox) but changes neither status nor version, so a
   * reminder never makes someone's open card stale.
   */
  annotation?: true;
  /**
   * Changes the status but not the version. Posting is bookkeeping: the card a person already sees
   * shows the same thing before and after it, so its buttons (which carry the version) must stay
   * valid, and no card has to be redrawn.
   */
  keepsVersion?: true;
}

export const LIFECYCLE: Record<HandoffAction, Rule> = {
  accept: { from: AWAITING_ACCEPT, to: 'accepted', roles: ['owner', 'owner_lead', 'admin'], verb: 'accepted' },
  reject: { from: AWAITING_ACCEPT, to: 'rejected', roles: ['owner', 'owner_lead', 'admin'], verb: 'rejected' },
  reassign: { from: OPEN_STATUSES, to: 'reassigned', roles: ['owner', 'owner_lead', 'admin'], verb: 'reassigned' },
  complete: { from: ['accepted'], to: 'completed', roles: ['owner', 'owner_lead', 'admin'], verb: 'completed' },
  touch: { from: ['accepted'], to: null, roles: ['owner', 'owner_lead', 'admin'], verb: 'touched' },
  withdraw: { from: OPEN_STATUSES, to: 'withdrawn', roles: ['sender', 'sender_lead', 'admin'], verb: 'withdrawn' },
  post: { from: ['routed'], to: 'posted', roles: ['system'], verb: 'posted', keepsVersion: true },
  escalate: { from: AWAITING_ACCEPT, to: 'escalated', roles: ['system'], verb: 'escalated' },
  auto_reassign: { from: AWAITING_ACCEPT, to: 'reassigned', roles: ['system'], verb: 'reassigned' },
  nudge: { from: OPEN_STATUSES, to: null, roles: ['system'], verb: 'nudged', annotation: true },
  // The first-touch SLA breached: recorded and escalated along the chain, but the owner keeps it
  // and it stays accepted (escalate/auto_reassign are for handoffs nobody has accepted yet).
  sla_breach: { from: ['accepted'], to: null, roles: ['system'], verb: 'flagged as breached', annotation: true },
  snooze: { from: OPEN_STATUSES, to: null, roles: ['owner', 'owner_lead', 'admin'], verb: 'snoozed', annotation: true },
};

export interface LastChange {
  action: string;
  by: { id: string; name: string } | null;
  at: Date;
}

export interface DecisionInput {
  status: HandoffStatus;
  version: number;
  action: HandoffAction;
  /** Roles the actor holds on this handoff (computed by the caller from the playbook). */
  actorRoles: readonly Role[];
  /** Who can act, for the refusal message (e.g. "Dana Kim (owner)"). */
  whoCanAct: string;
  expectedVersion?: number | undefined;
  /** The change that produced the current version, so a loser learns who won and when. */
  lastChange: LastChange | null;
  firstTouchRecorded?: boolean;
}

export interface Decision {
  fromStatus: HandoffStatus;
  toStatus: HandoffStatus;
  nextVersion: number;
  annotation: boolean;
}

/**
 * Whether holding `roles` lets one take `action`: the table's one authorization question, asked by
 * `decide` when a change is applied and by the policy (src/domain/policy.ts) when a surface asks.
 */
export function rolesAllow(action: HandoffAction, roles: readonly Role[]): boolean {
  return LIFECYCLE[action].roles.some((r) => roles.includes(r));
}

/** Decides whether an action applies; throws a typed error that says why not. */
export function decide(input: DecisionInput): Decision {
  const rule = LIFECYCLE[input.action];
  if (!rolesAllow(input.action, input.actorRoles)) throw forbidden(input.action, input.whoCanAct);
  if (input.expectedVersion !== undefined && input.expectedVersion !== input.version && input.lastChange) {
    throw staleConflict(input.lastChange);
  }
  if (!rule.from.includes(input.status)) {
    if (input.lastChange && input.status !== 'routed') {
      throw new ConflictError(
        `This handoff was already ${statusLabel(input.status)}${describeChange(input.lastChange)}, so it can't be ${rule.verb} now.`,
        input.lastChange.by ?? undefined,
        input.lastChange.at,
        `already_${input.status}`,
      );
    }
    throw new ConflictError(`A handoff that is ${statusLabel(input.status)} can't be ${rule.verb}.`, undefined, undefined, 'invalid_state');
  }
  if (input.action === 'touch' && input.firstTouchRecorded) {
    throw new ConflictError('The first touch was already recorded for this handoff.', input.lastChange?.by ?? undefined, input.lastChange?.at, 'already_touched');
  }
  const annotation = rule.annotation === true;
  return { fromStatus: input.status, toStatus: rule.to ?? input.status, nextVersion: annotation || rule.keepsVersion ? input.version : input.version + 1, annotation };
}

/** The refusal of an action to someone whose roles do not allow it; names who can. */
export function forbidden(action: HandoffAction, whoCanAct: string): ForbiddenError {
  return new ForbiddenError(`You can't ${actionLabel(action)} this handoff — ${whoCanAct} can.`, whoCanAct);
}

function staleConflict(last: LastChange): ConflictError {
  return new ConflictError(
    `This handoff changed since you saw it: ${last.action}${describeChange(last)}. Refresh and try again.`,
    last.by ?? undefined,
    last.at,
    'stale_version',
  );
}

function describeChange(last: LastChange): string {
  return `${last.by ? ` by ${last.by.name}` : ' by Baton'} at ${utcMinute(last.at)}`;
}

/**
 * How the core's refusals write a time ("2026-12-06 03:40 UTC"). A surface that can show the time
 * in the reader's own zone replaces exactly this text (Slack: a date token; see blocks/slack).
 */
export function utcMinute(at: Date): string {
  return `${at.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

export function actionLabel(action: HandoffAction): string {
  return action === 'touch' ? 'record a first touch on' : action.replace('_', ' ');
}

export function statusLabel(status: HandoffStatus): string {
  return status;
}

export function isUserAction(a: string): a is UserAction {
  return (USER_ACTIONS as readonly string[]).includes(a);
}

/** Which action to reject with when validating free-form input (reason required, target required). */
export function validateActionArgs(action: UserAction, args: { reasonCode?: string | undefined; note?: string | undefined; to?: string | undefined }, rejectReasons: readonly { code: string; label: string }[]): void {
  const details: { path: string; message: string }[] = [];
  if (action === 'reject') {
    if (!args.reasonCode) details.push({ path: 'reasonCode', message: `a reason is required; one of ${rejectReasons.map((r) => r.code).join(', ')}` });
    else if (!rejectReasons.some((r) => r.code === args.reasonCode))
      details.push({ path: 'reasonCode', message: `"${args.reasonCode}" is not a reject reason for this transition; use one of ${rejectReasons.map((r) => r.code).join(', ')}` });
    if (!args.note?.trim()) details.push({ path: 'note', message: 'a note is required when rejecting (what is missing or wrong)' });
  }
  if (action === 'reassign') {
    if (!args.to) details.push({ path: 'to', message: 'say who takes it over: a person\'s email or id, or "queue" for the next person in the queue' });
    if (!args.note?.trim() && !args.reasonCode) details.push({ path: 'note', message: 'a reason is required when reassigning' });
  }
  if (details.length) throw new InvalidError(`The ${action} request is incomplete.`, details);
}
