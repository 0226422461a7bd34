/**
 * Timer planning and firing decisions: pure functions of (handoff snapshot, event/timer, now).
 */
import type { BusinessCalendar } from '../../src/sla/businessCalendar.js';
import { parseBusinessHours } from '../../src/sla/businessTime.js';
import type { PolicySnapshot } from '../../src/handoffs.js';
import {
  DEFAULT_SNOOZE_MS,
  decideFiring,
  decideTimers,
  parseStepId,
  planPhase,
  snoozeDurationMs,
  stepId,
  type HandoffSnapshot,
  type TimerJobData,
} from '../../src/sla/plan.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

const allDay = parseBusinessHours('00:00-24:00');
const around: BusinessCalendar = { timeZone: 'UTC', weekly: { 1: allDay, 2: allDay, 3: allDay, 4: allDay, 5: allDay, 6: allDay, 7: allDay }, holidays: [] };
const office = parseBusinessHours('09:00-17:00');
const berlin: BusinessCalendar = { timeZone: 'Europe/Berlin', weekly: { 1: office, 2: office, 3: office, 4: office, 5: office, 6: [], 7: [] }, holidays: [] };

function policy(p: Partial<Omit<PolicySnapshot, 'escalation'>> & { escalation?: Partial<PolicySnapshot['escalation']> } = {}): PolicySnapshot {
  return {
    acceptMs: p.acceptMs ?? 10 * S,
    firstTouchMs: p.firstTouchMs ?? 20 * S,
    nudgesAt: p.nudgesAt ?? [0.5, 0.8],
    calendar: p.calendar ?? around,
    escalation: { chain: ['owner_lead', 'function_head'], repeatEveryMs: 5 * S, reassignAfterMs: 12 * S, restartSlaOnReassign: true, ...p.escalation },
  };
}

const t0 = new Date('2026-11-23T10:00:00.000Z');
const plus = (ms: number, from = t0) => new Date(from.getTime() + ms);
const iso = (d: Date) => d.toISOString();
const summary = (timers: { step: string; at: Date }[]) => timers.map((t) => [t.step, iso(t.at)]);

function handoff(h: Partial<HandoffSnapshot> = {}): HandoffSnapshot {
  return {
    id: 1,
    status: 'posted',
    timerToken: 'tok-1',
    slaAcceptDueAt: plus(10 * S),
    slaFirstTouchDueAt: null,
    firstTouchAt: null,
    policy: policy(),
    ...h,
  };
}

describe('planPhase', () => {
  it('plans nudges at the policy points, the breach, one escalation per chain step and the reassignment (24/7 calendar)', () => {
    expect(summary(planPhase('accept', t0, plus(10 * S), policy()))).toEqual([
      ['accept:nudge:0.5', iso(plus(5 * S))],
      ['accept:nudge:0.8', iso(plus(8 * S))],
      ['accept:escalate:1', iso(plus(10 * S))],
      ['accept:escalate:2', iso(plus(15 * S))],
      ['accept:reassign', iso(plus(22 * S))],
    ]);
  });

  it('counts nudges and repeats in the team\'s business hours (Friday afternoon in Berlin)', () => {
    // Fri 2026-11-20 16:00 CET, 2h SLA: due Monday 10:00 CET.
    const start = new Date('2026-11-20T15:00:00Z');
    const p = policy({ calendar: berlin, acceptMs: 2 * H, escalation: { repeatEveryMs: 1 * H, reassignAfterMs: null } });
    expect(summary(planPhase('accept', start, new Date('2026-11-23T09:00:00Z'), p))).toEqual([
      ['accept:nudge:0.5', '2026-11-20T16:00:00.000Z'], // 1h in: Friday 17:00, closing time
      ['accept:nudge:0.8', '2026-11-23T08:36:00.000Z'], // 96 min in: Monday 09:36
      ['accept:escalate:1', '2026-11-23T09:00:00.000Z'],
      ['accept:escalate:2', '2026-11-23T10:00:00.000Z'],
    ]);
  });

  it('drops escalation steps that would come after the automatic reassignment', () => {
    const p = policy({ escalation: { chain: ['owner_lead', 'team_lead', 'function_head'], repeatEveryMs: 2 * H, reassignAfterMs: 3 * H } });
    expect(summary(planPhase('accept', t0, plus(1 * H), p)).map(([s]) => s)).toEqual([
      'accept:nudge:0.5',
      'accept:nudge:0.8',
      'accept:escalate:1',
      'accept:escalate:2',
      'accept:reassign',
    ]);
  });

  it('never reassigns automatically in the first-touch phase (the owner accepted and keeps it)', () => {
    const steps = planPhase('first_touch', t0, plus(20 * S), policy()).map((t) => t.step);
    expect(steps).toEqual(['first_touch:nudge:0.5', 'first_touch:nudge:0.8', 'first_touch:escalate:1', 'first_touch:escalate:2']);
  });

  it('splits what is left of the window after a reassignment that keeps the deadline', () => {
    const timers = planPhase('accept', plus(6 * S), plus(10 * S), policy({ escalation: { reassignAfterMs: null } }));
    expect(summary(timers).slice(0, 2)).toEqual([
      ['accept:nudge:0.5', iso(plus(8 * S))],
      ['accept:nudge:0.8', iso(plus(9.2 * S))],
    ]);
  });

  it('has no nudges when the deadline has already passed, but still the breach', () => {
    const steps = planPhase('accept', plus(30 * S), plus(10 * S), policy({ escalation: { reassignAfterMs: null } })).map((t) => t.step);
    expect(steps).toEqual(['accept:escalate:1', 'accept:escalate:2']);
  });

  it('records a breach even with an empty escalation chain', () => {
    const steps = planPhase('accept', t0, plus(10 * S), policy({ nudgesAt: [], escalation: { chain: [], reassignAfterMs: null } })).map((t) => t.step);
    expect(steps).toEqual(['accept:escalate:1']);
  });
});

describe('decideTimers (handoff snapshot, event) → timers', () => {
  it('arms the accept phase from the routed event, its clock starting at the event', () => {
    const d = decideTimers(handoff({ status: 'routed' }), { type: 'handoff.routed', timerToken: 'tok-1', at: t0 });
    expect(d.keepToken).toBe('tok-1');
    expect(d.startedAt).toEqual(t0);
    expect(d.dueAt).toEqual(plus(10 * S));
    expect(d.arm.map((t) => t.step)).toEqual(['accept:nudge:0.5', 'accept:nudge:0.8', 'accept:escalate:1', 'accept:escalate:2', 'accept:reassign']);
  });

  it('arms the first-touch phase on accept', () => {
    const h = handoff({ status: 'accepted', timerToken: 'tok-2', slaFirstTouchDueAt: plus(20 * S) });
    const d = decideTimers(h, { type: 'handoff.accepted', timerToken: 'tok-2', at: t0 });
    expect(d.arm.map((t) => t.step)).toEqual(['first_touch:nudge:0.5', 'first_touch:nudge:0.8', 'first_touch:escalate:1', 'first_touch:escalate:2']);
    expect(d.arm[0]!.at).toEqual(plus(10 * S));
  });

  it('arms nothing for an event whose token is no longer the handoff\'s (late or replayed), and keeps only the current token', () => {
    const h = handoff({ status: 'accepted', timerToken: 'tok-2', slaFirstTouchDueAt: plus(20 * S) });
    const d = decideTimers(h, { type: 'handoff.routed', timerToken: 'tok-1', at: t0 });
    expect(d).toEqual({ keepToken: 'tok-2', arm: [], startedAt: null, dueAt: null });
  });

  it('cancels everything once the handoff is closed or first-touched (no token left)', () => {
    const closed = decideTimers(handoff({ status: 'completed', timerToken: null }), { type: 'handoff.completed', timerToken: null, at: t0 });
    expect(closed).toEqual({ keepToken: null, arm: [], startedAt: null, dueAt: null });
    const touched = decideTimers(handoff({ status: 'accepted', timerToken: null, firstTouchAt: t0 }), { type: 'handoff.first_touch', timerToken: null, at: t0 });
    expect(touched.keepToken).toBeNull();
  });

  it('arms nothing for events that keep the token (posted, nudged, escalated, snoozed)', () => {
    for (const type of ['handoff.posted', 'handoff.nudged', 'handoff.escalated', 'handoff.snoozed']) {
      expect(decideTimers(handoff(), { type, timerToken: 'tok-1', at: t0 }).arm).toEqual([]);
    }
  });
});

describe('decideFiring (handoff snapshot, timer, now) → effect', () => {
  const timer = (step: string, extra: Partial<TimerJobData> = {}): TimerJobData => ({
    handoffId: 1,
    token: 'tok-1',
    kind: step.startsWith('first_touch') ? 'first_touch' : 'accept',
    step,
    startedAt: iso(t0),
    dueAt: iso(plus(10 * S)),
    snoozedUntil: null,
    ...extra,
  });
  const ctx = (fired: string[] = [], snoozedUntil: Date | null = null) => ({ fired: new Set(fired), snoozedUntil });

  it('nudges at a nudge point', () => {
    expect(decideFiring(handoff(), timer('accept:nudge:0.5'), plus(5 * S), ctx())).toEqual({ do: 'nudge', kind: 'accept', point: 0.5, dueAt: plus(10 * S) });
  });

  it('does nothing for a stale token, or once the phase is over (accepted, closed)', () => {
    expect(decideFiring(handoff({ timerToken: 'tok-2' }), timer('accept:nudge:0.5'), plus(5 * S), ctx())).toEqual({ do: 'skip', reason: 'stale' });
    const accepted = handoff({ status: 'accepted', slaFirstTouchDueAt: plus(30 * S) });
    expect(decideFiring(accepted, timer('accept:escalate:1'), plus(10 * S), ctx())).toEqual({ do: 'skip', reason: 'stale' });
    expect(decideFiring(handoff({ status: 'withdrawn', timerToken: null }), timer('accept:escalate:1'), plus(10 * S), ctx())).toEqual({ do: 'skip', reason: 'stale' });
  });

  it('does nothing for a step already in the ledger', () => {
    expect(decideFiring(handoff(), timer('accept:escalate:1'), plus(10 * S), ctx(['accept:escalate:1']))).toEqual({ do: 'skip', reason: 'already_fired' });
  });

  it('sends only the latest of several nudges that are due at once (after downtime)', () => {
    expect(decideFiring(handoff(), timer('accept:nudge:0.5'), plus(9 * S), ctx())).toEqual({ do: 'skip', reason: 'superseded' });
    expect(decideFiring(handoff(), timer('accept:nudge:0.8'), plus(9 * S), ctx()).do).toBe('nudge');
    // Also when the later one went out first (jobs run concurrently).
    expect(decideFiring(handoff(), timer('accept:nudge:0.5'), plus(9 * S), ctx(['accept:nudge:0.8']))).toEqual({ do: 'skip', reason: 'superseded' });
  });

  it('drops a nudge once the deadline has passed (the breach speaks instead)', () => {
    expect(decideFiring(handoff(), timer('accept:nudge:0.8'), plus(11 * S), ctx())).toEqual({ do: 'skip', reason: 'deadline_passed' });
  });

  it('postpones a nudge to the end of a snooze, but never past the deadline', () => {
    expect(decideFiring(handoff(), timer('accept:nudge:0.5'), plus(5 * S), ctx([], plus(7 * S)))).toEqual({ do: 'defer', until: plus(7 * S), reason: 'snoozed' });
    expect(decideFiring(handoff(), timer('accept:nudge:0.5'), plus(5 * S), ctx([], plus(12 * S)))).toEqual({ do: 'skip', reason: 'snoozed_past_deadline' });
    // A snooze that is over no longer holds anything back.
    expect(decideFiring(handoff(), timer('accept:nudge:0.5'), plus(5 * S), ctx([], plus(4 * S))).do).toBe('nudge');
  });

  it('never lets a snooze touch the breach or the escalations', () => {
    expect(decideFiring(handoff(), timer('accept:escalate:1'), plus(10 * S), ctx([], plus(60 * S)))).toEqual({ do: 'escalate', kind: 'accept', level: 1, dueAt: plus(10 * S) });
  });

  it('climbs the chain one level at a time: level 2 waits for level 1', () => {
    expect(decideFiring(handoff(), timer('accept:escalate:2'), plus(15 * S), ctx())).toEqual({ do: 'wait', reason: 'previous_step_pending' });
    expect(decideFiring(handoff(), timer('accept:escalate:2'), plus(15 * S), ctx(['accept:escalate:1'])).do).toBe('escalate');
  });

  it('reassigns in the accept phase', () => {
    expect(decideFiring(handoff({ status: 'escalated' }), timer('accept:reassign'), plus(22 * S), ctx())).toEqual({ do: 'reassign', dueAt: plus(10 * S) });
  });

  it('escalates a first-touch breach of an accepted handoff', () => {
    const h = handoff({ status: 'accepted', slaFirstTouchDueAt: plus(20 * S) });
    expect(decideFiring(h, timer('first_touch:escalate:1', { dueAt: iso(plus(20 * S)) }), plus(20 * S), ctx())).toEqual({ do: 'escalate', kind: 'first_touch', level: 1, dueAt: plus(20 * S) });
  });

  it('skips a step id it does not know', () => {
    expect(decideFiring(handoff(), timer('accept:explode'), plus(1 * S), ctx())).toEqual({ do: 'skip', reason: 'unknown_step' });
  });
});

describe('step ids', () => {
  it('round-trip', () => {
    for (const step of [{ type: 'nudge', point: 0.5 }, { type: 'nudge', point: 0.85 }, { type: 'escalate', level: 3 }, { type: 'reassign' }] as const) {
      expect(parseStepId(stepId('accept', step))).toEqual({ kind: 'accept', step });
    }
    expect(parseStepId('first_touch:escalate:1')).toEqual({ kind: 'first_touch', step: { type: 'escalate', level: 1 } });
  });
});

describe('snoozeDurationMs', () => {
  it('takes data.minutes, else the reason code as a duration, else one hour', () => {
    expect(snoozeDurationMs({ data: { minutes: 15 }, reasonCode: '2h' })).toBe(15 * MIN);
    expect(snoozeDurationMs({ data: null, reasonCode: '30m' })).toBe(30 * MIN);
    expect(snoozeDurationMs({ data: null, reasonCode: '2h 30m' })).toBe(150 * MIN);
    expect(snoozeDurationMs({ data: null, reasonCode: 'later' })).toBe(DEFAULT_SNOOZE_MS);
    expect(snoozeDurationMs({ data: null, reasonCode: null })).toBe(DEFAULT_SNOOZE_MS);
  });
  it('is at least a second and at most a week', () => {
    expect(snoozeDurationMs({ data: { minutes: 0.001 }, reasonCode: null })).toBe(S);
    expect(snoozeDurationMs({ data: null, reasonCode: '5s' })).toBe(5 * S);
    expect(snoozeDurationMs({ data: { minutes: 60 * 24 * 30 }, reasonCode: null })).toBe(7 * 24 * H);
  });
});
