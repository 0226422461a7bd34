/**
 * What the SLA engine's outbox events carry in `payload.data`: a contract with bots/ and blocks/,
 * and with deliveries already stored (keep fields; add only optional ones).
 */
import type { PersonRef } from '../domain/view.js';
import type { EscalationRole } from './escalation.js';

/** Which SLA a timer or event is about: accepting the handoff, or the first touch after. */
export type SlaKind = 'accept' | 'first_touch';

/** `handoff.nudged`: DM the owner that time is running out; offer Snooze. */
export interface SlaNudgeData {
  sla: 'nudge';
  kind: SlaKind;
  /** e.g. "accept:nudge:0.8". */
  step: string;
  /** Fraction of the owner's window that has passed, e.g. 0.5 or 0.8. */
  point: number;
  /** ISO deadline of this SLA (a snooze never moves it). */
  dueAt: string;
  /** Business time left until dueAt (the team's working hours), in ms. */
  businessMsLeft: number;
  /** ISO end of the snooze this nudge waited for; null when it was not snoozed. */
  snoozedUntil: string | null;
}

/** `handoff.escalated`: the SLA was breached; tell `escalatedTo` (post in the team channel). */
export interface SlaEscalationData {
  sla: 'escalation';
  kind: SlaKind;
  /** e.g. "accept:escalate:1". */
  step: string;
  /** 1 = the breach itself, 2… = further steps up the chain while nobody acts. */
  level: number;
  breach: true;
  dueAt: string;
  /** Business time since dueAt, in ms. */
  businessMsOverdue: number;
  /** The chain step that was applied; null when the chain is empty. */
  target: EscalationRole | null;
  /** Who is told; null when nobody fits (the breach is still recorded). */
  escalatedTo: PersonRef | null;
  /** The receiving team (its channel is where the escalation is posted). */
  teamId: string;
  /** ISO time of the next escalation step if nobody acts; null at the end of the chain. */
  nextEscalationAt: string | null;
  /** ISO time of the automatic reassignment (accept SLA with reassignAfter); else null. */
  reassignAt: string | null;
}

/** `handoff.reassigned` with actorId null: reassigned by Baton after the breach's grace period. */
export interface SlaReassignData {
  sla: 'auto_reassign';
  kind: 'accept';
  step: string;
  breach: true;
  dueAt: string;
  businessMsOverdue: number;
}

export type SlaEventData = SlaNudgeData | SlaEscalationData | SlaReassignData;
