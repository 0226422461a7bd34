/**
 * SLA timer planning and firing decisions, as pure functions of the handoff's snapshot, the event
 * and the time. The engine (src/sla/engine.ts) does the I/O around them.
 *
 * A phase is the time one owner has for one SLA: `accept` (from routing or reassignment until
 * accepted) or `first_touch` (from acceptance until the first touch). Each phase has its own
 * timer token (src/handoffs.ts issues a new one whenever timers must be re-armed), and its timers:
 *   nudge at each policy point (fraction of the phase's business-time window),
 *   escalate level 1 at the deadline (the breach), level 2… every `repeatEveryMs` of business
 *   time after it, one per step of the escalation chain,
 *   auto-reassign `reassignAfterMs` of business time after the deadline (accept phase only:
 *   an accepted handoff has an owner who is working on it).
 */
import { AWAITING_ACCEPT, type HandoffStatus } from '../domain/lifecycle.js';
import type { PolicySnapshot } from '../domain/transition.js';
import { addBusinessTime, businessTimeBetween, parseDuration } from './businessTime.js';

import type { SlaKind } from './eventData.js';
export type { SlaKind } from './eventData.js';

export type SlaStep =
  | { type: 'nudge'; point: number }
  | { type: 'escalate'; level: number }
  | { type: 'reassign' };

export interface PlannedTimer {
  /** Stable id of the step within its phase, e.g. "accept:nudge:0.5", "first_touch:escalate:2". */
  step: string;
  kind: SlaKind;
  at: Date;
  detail: SlaStep;
}

/** The facts of a handoff that timers depend on (a row of the handoff table, trimmed). */
export interface HandoffSnapshot {
  id: number;
  status: HandoffStatus;
  timerToken: string | null;
  slaAcceptDueAt: Date | null;
  slaFirstTouchDueAt: Date | null;
  firstTouchAt: Date | null;
  policy: PolicySnapshot;
}

/** What a timer job carries: enough to recompute its phase's plan without the event. */
export type TimerJobData = {
  handoffId: number;
  token: string;
  kind: SlaKind;
  step: string;
  /** ISO: when the phase's clock started (the event that armed it). */
  startedAt: string;
  /** ISO: the phase's deadline. */
  dueAt: string;
  /** On a nudge re-armed after a snooze: ISO of the end of the snooze; else null. */
  snoozedUntil: string | null;
};

export function stepId(kind: SlaKind, step: SlaStep): string {
  if (step.type === 'nudge') return `${kind}:nudge:${step.point}`;
  if (step.type === 'escalate') return `${kind}:escalate:${step.level}`;
  return `${kind}:reassign`;
}

export function parseStepId(id: string): { kind: SlaKind; step: SlaStep } | undefined {
  const m = /^(accept|first_touch):(?:(nudge):(0?\.\d+|[01])|(escalate):(\d+)|(reassign))$/.exec(id);
  if (!m) return undefined;
  const kind = m[1] as SlaKind;
  if (m[2]) return { kind, step: { type: 'nudge', point: Number(m[3]) } };
  if (m[4]) return { kind, step: { type: 'escalate', level: Number(m[5]) } };
  return { kind, step: { type: 'reassign' } };
}

/** Number of escalation steps (at least one: a breach is always recorded, even with nobody to tell). */
export function escalationLevels(policy: PolicySnapshot): number {
  return Math.max(1, policy.escalation.chain.length);
}

/** Every timer of one phase, in time order. */
export function planPhase(kind: SlaKind, startedAt: Date, dueAt: Date, policy: PolicySnapshot): PlannedTimer[] {
  const cal = policy.calendar;
  const timers: PlannedTimer[] = [];
  const add = (at: Date, detail: SlaStep) => timers.push({ step: stepId(kind, detail), kind, at, detail });

  // Nudges split the window this owner actually has: the whole SLA after routing, accepting or a
  // restarted reassignment; what is left of it after a reassignment that keeps the deadline.
  const window = businessTimeBetween(startedAt, dueAt, cal);
  if (window > 0) {
    for (const point of policy.nudgesAt) {
      const at = addBusinessTime(startedAt, Math.round(point * window), cal);
      if (at < dueAt) add(at, { type: 'nudge', point });
    }
  }

  const reassignAt = kind === 'accept' && policy.escalation.reassignAfterMs !== null ? addBusinessTime(dueAt, policy.escalation.reassignAfterMs, cal) : null;
  for (let level = 1; level <= escalationLevels(policy); level++) {
    const at = level === 1 ? dueAt : addBusinessTime(dueAt, (level - 1) * policy.escalation.repeatEveryMs, cal);
    // After the reassignment a new owner has a new phase; later steps of this one are moot.
    if (level > 1 && reassignAt && at >= reassignAt) break;
    add(at, { type: 'escalate', level });
  }
  if (reassignAt) add(reassignAt, { type: 'reassign' });
  return timers.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** The phase a handoff is in now, or null when no SLA clock runs (closed, first touch done). */
export function currentPhase(h: HandoffSnapshot): { kind: SlaKind; dueAt: Date } | null {
  if (h.timerToken === null) return null;
  if (AWAITING_ACCEPT.includes(h.status) && h.slaAcceptDueAt) return { kind: 'accept', dueAt: h.slaAcceptDueAt };
  if (h.status === 'accepted' && !h.firstTouchAt && h.slaFirstTouchDueAt) return { kind: 'first_touch', dueAt: h.slaFirstTouchDueAt };
  return null;
}

/** The events that start a phase with a new token (see src/handoffs.ts). */
const ARMING_EVENTS = new Set(['handoff.routed', 'handoff.reassigned', 'handoff.accepted']);

export interface TimerEvent {
  type: string;
  timerToken: string | null;
  /** When the state change happened: the phase's clock starts here. */
  at: Date;
}

export interface TimerDecision {
  /** Jobs of this handoff carrying any other token are stale: cancel them. */
  keepToken: string | null;
  /** Timers to arm (if a job with the same key exists already, it is left alone). */
  arm: PlannedTimer[];
  startedAt: Date | null;
  dueAt: Date | null;
}

/**
 * (handoff as it is now, event, now) → timers. Events may arrive late, twice or out of order: an
 * event whose token is no longer the handoff's arms nothing, and cancelling is always "every job
 * of another token than the current one", so replaying any event in any order converges.
 */
export function decideTimers(h: HandoffSnapshot, event: TimerEvent): TimerDecision {
  const none: TimerDecision = { keepToken: h.timerToken, arm: [], startedAt: null, dueAt: null };
  if (!ARMING_EVENTS.has(event.type) || event.timerToken === null || event.timerToken !== h.timerToken) return none;
  const phase = currentPhase(h);
  if (!phase) return none;
  return { keepToken: h.timerToken, arm: planPhase(phase.kind, event.at, phase.dueAt, h.policy), startedAt: event.at, dueAt: phase.dueAt };
}

// -------------------------------------------------------------------------------------------------
// Firing

export type FiringDecision =
  | { do: 'skip'; reason: 'stale' | 'already_fired' | 'superseded' | 'deadline_passed' | 'snoozed_past_deadline' | 'unknown_step' }
  | { do: 'defer'; until: Date; reason: 'snoozed' }
  | { do: 'wait'; reason: 'previous_step_pending' }
  | { do: 'nudge'; kind: SlaKind; point: number; dueAt: Date }
  | { do: 'escalate'; kind: SlaKind; level: number; dueAt: Date }
  | { do: 'reassign'; dueAt: Date };

export interface FiringContext {
  /** Steps of this token already recorded in the sla_firing ledger. */
  fired: ReadonlySet<string>;
  /** End of the latest snooze taken during this phase, if any. */
  snoozedUntil: Date | null;
}

/** Whether a due timer should act, and how. Re-evaluated on every run (and every retry). */
export function decideFiring(h: HandoffSnapshot, timer: TimerJobData, now: Date, ctx: FiringContext): FiringDecision {
  const parsed = parseStepId(timer.step);
  if (!parsed) return { do: 'skip', reason: 'unknown_step' };
  const phase = currentPhase(h);
  if (h.timerToken !== timer.token || !phase || phase.kind !== parsed.kind) return { do: 'skip', reason: 'stale' };
  if (ctx.fired.has(timer.step)) return { do: 'skip', reason: 'already_fired' };
  const dueAt = phase.dueAt;
  const { step } = parsed;

  if (step.type === 'nudge') {
    // A nudge is a reminder before the deadline; once it passed, the breach speaks instead.
    if (now >= dueAt) return { do: 'skip', reason: 'deadline_passed' };
    // After downtime or a snooze several nudges can be due at once: only the latest one is sent
    // (whether it already went out or is about to, an earlier reminder is stale).
    const plan = planPhase(parsed.kind, new Date(timer.startedAt), dueAt, h.policy);
    const laterDue = plan.some((t) => t.detail.type === 'nudge' && t.detail.point > step.point && t.at <= now);
    if (laterDue) return { do: 'skip', reason: 'superseded' };
    if (ctx.snoozedUntil && ctx.snoozedUntil > now) {
      // A snooze postpones reminders, never the deadline.
      return ctx.snoozedUntil < dueAt ? { do: 'defer', until: ctx.snoozedUntil, reason: 'snoozed' } : { do: 'skip', reason: 'snoozed_past_deadline' };
    }
    return { do: 'nudge', kind: parsed.kind, point: step.point, dueAt };
  }

  if (step.type === 'escalate') {
    // Levels climb one at a time; if the previous one has not fired yet (jobs run concurrently),
    // try again shortly rather than skip a person in the chain.
    if (step.level > 1 && !ctx.fired.has(stepId(parsed.kind, { type: 'escalate', level: step.level - 1 }))) {
      return { do: 'wait', reason: 'previous_step_pending' };
    }
    return { do: 'escalate', kind: parsed.kind, level: step.level, dueAt };
  }

  return parsed.kind === 'accept' ? { do: 'reassign', dueAt } : { do: 'skip', reason: 'stale' };
}

// -------------------------------------------------------------------------------------------------
// Snooze

export const DEFAULT_SNOOZE_MS = 60 * 60_000;
export const MAX_SNOOZE_MS = 7 * 24 * 60 * 60_000;

/**
 * How long a snooze lasts (wall-clock time; "remind me in an hour"), from the snooze event:
 * `data.minutes` (a positive number, when the caller used service.apply), else `reasonCode` as a
 * duration ("30m", "1h", "2h 30m" — what the Snooze buttons send through service.act and the HTTP
 * API), else one hour. Clamped to 1 second … 7 days.
 */
export function snoozeDurationMs(e: { data: unknown; reasonCode: string | null }): number {
  const data = e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {};
  let ms: number | undefined;
  if (typeof data.minutes === 'number' && Number.isFinite(data.minutes) && data.minutes > 0) ms = data.minutes * 60_000;
  else if (e.reasonCode) {
    try {
      ms = parseDuration(e.reasonCode);
    } catch {
      ms = undefined;
    }
  }
  return Math.min(MAX_SNOOZE_MS, Math.max(1000, ms ?? DEFAULT_SNOOZE_MS));
}
