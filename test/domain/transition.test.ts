/**
 * The transition as a pure function: (handoff, command, now) → column changes, audit event and
 * domain events, with the SLA arithmetic on the team's business calendar. No database.
 */
import { ConflictError, ForbiddenError } from '../../src/errors.js';
import { decideCommand, reassignedBecause, transition, type HandoffCommand, type HandoffState, type PolicySnapshot } from '../../src/domain/transition.js';
import type { HandoffAction, Role } from '../../src/domain/lifecycle.js';
import type { BusinessCalendar } from '../../src/sla/businessCalendar.js';
import { parseBusinessHours } from '../../src/sla/businessTime.js';

const MIN = 60_000;
const H = 60 * MIN;
const office = parseBusinessHours('09:00-17:00');
const berlin: BusinessCalendar = { timeZone: 'Europe/Berlin', weekly: { 1: office, 2: office, 3: office, 4: office, 5: office, 6: [], 7: [] }, holidays: [] };
const policy: PolicySnapshot = {
  acceptMs: 4 * H,
  firstTouchMs: 8 * H,
  nudgesAt: [0.5],
  calendar: berlin,
  escalation: { chain: ['owner_lead'], repeatEveryMs: H, reassignAfterMs: 2 * H, restartSlaOnReassign: false },
};

// Monday 2026-11-23, 09:00 in Berlin (08:00 UTC).
const created = new Date('2026-11-23T08:00:00.000Z');

function handoff(h: Partial<HandoffState> = {}): HandoffState {
  return {
    id: 7,
    accountId: 3,
    status: 'posted',
    version: 1,
    ownerId: 'dana',
    policy,
    createdAt: created,
    acceptedAt: null,
    firstTouchAt: null,
    slaAcceptDueAt: new Date('2026-11-23T12:00:00.000Z'),
    slaFirstTouchDueAt: null,
    timerToken: 'tok-1',
    escalationLevel: 0,
    reassignCount: 0,
    ...h,
  };
}

function command(h: HandoffState, action: HandoffAction, extra: Partial<HandoffCommand> = {}, roles: Role[] = ['owner']): HandoffCommand {
  const decision = decideCommand(h, { action, actorRoles: roles, whoCanAct: 'Dana Kim (owner)' }, null);
  return { action, actorId: roles.includes('system') ? null : 'dana', decision, newTimerToken: 'tok-2', toStage: 'onboarding', ...extra };
}

describe('transition', () => {
  it('accept: accepted at now, wall and business seconds since creation, first-touch deadline in business time, a new timer token, the owner owns the account at the stage', () => {
    const h = handoff();
    // Monday 16:00 Berlin: 7 business hours after creation; first touch due 8 business hours later = Tuesday 16:00.
    const now = new Date('2026-11-23T15:00:00.000Z');
    const r = transition(h, command(h, 'accept'), now);
    expect(r.next).toEqual({
      status: 'accepted',
      version: 2,
      updatedAt: now,
      acceptedAt: now,
      acceptWallS: 7 * 3600,
      acceptBusinessS: 7 * 3600,
      slaFirstTouchDueAt: new Date('2026-11-24T15:00:00.000Z'),
      timerToken: 'tok-2',
    });
    expect(r.guard).toEqual({ version: 1 });
    expect(r.accountOwner).toEqual({ accountId: 3, stage: 'onboarding', personId: 'dana', handoffId: 7, since: now });
    expect(r.audit).toMatchObject({ handoffId: 7, version: 2, type: 'accepted', actorId: 'dana', fromStatus: 'posted', toStatus: 'accepted', ownerId: 'dana', data: null });
    expect(r.events).toEqual([
      {
        type: 'handoff.accepted',
        handoffId: 7,
        payload: {
          handoffId: 7,
          version: 2,
          action: 'accept',
          actorId: 'dana',
          ownerId: 'dana',
          timerToken: 'tok-2',
          slaAcceptDueAt: '2026-11-23T12:00:00.000Z',
          slaFirstTouchDueAt: '2026-11-24T15:00:00.000Z',
        },
      },
    ]);
  });

  it('business seconds leave out the night and the weekend; wall seconds do not', () => {
    const h = handoff();
    // Created Monday 09:00 Berlin; accepted Tuesday 10:00 Berlin: 25 wall hours, 9 business hours.
    const now = new Date('2026-11-24T09:00:00.000Z');
    const r = transition(h, command(h, 'accept'), now);
    expect(r.next).toMatchObject({ acceptWallS: 25 * 3600, acceptBusinessS: 9 * 3600 });
  });

  it('reject: closed, the timers stopped, the reason kept; note trimmed in the audit', () => {
    const h = handoff();
    const now = new Date('2026-11-23T09:00:00.000Z');
    const r = transition(h, command(h, 'reject', { reasonCode: 'missing_info', note: '  no budget owner  ' }), now);
    expect(r.next).toEqual({ status: 'rejected', version: 2, updatedAt: now, closedAt: now, timerToken: null, rejectReason: 'missing_info' });
    expect(r.audit).toMatchObject({ type: 'rejected', reasonCode: 'missing_info', note: 'no budget owner' });
    expect(r.events[0]).toMatchObject({ type: 'handoff.rejected', payload: { timerToken: null, action: 'reject' } });
  });

  it('touch: first touch recorded without a status change, timers stopped', () => {
    const h = handoff({ status: 'accepted', version: 2, acceptedAt: created, slaFirstTouchDueAt: new Date('2026-11-24T08:00:00.000Z') });
    const now = new Date('2026-11-23T10:00:00.000Z');
    const r = transition(h, command(h, 'touch'), now);
    expect(r.next).toEqual({ status: 'accepted', version: 3, updatedAt: now, firstTouchAt: now, firstTouchWallS: 2 * 3600, firstTouchBusinessS: 2 * 3600, timerToken: null });
    expect(r.events[0]).toMatchObject({ type: 'handoff.first_touch' });
  });

  it('reassign: the new owner, one more reassignment, not accepted, escalation reset, a new token; the deadline kept unless the policy restarts it', () => {
    const h = handoff({ status: 'escalated', escalationLevel: 1, reassignCount: 1 });
    const now = new Date('2026-11-23T13:00:00.000Z');
    const r = transition(h, command(h, 'reassign', { reassignTo: { ownerId: 'sam', reason: 'reassigned to Sam Torres', source: 'named' }, actorName: 'Dana Kim', note: 'out sick this week' }), now);
    expect(r.next).toEqual({
      status: 'reassigned',
      version: 2,
      updatedAt: now,
      ownerId: 'sam',
      routingReason: 'reassigned by Dana Kim: out sick this week',
      reassignCount: 2,
      acceptedAt: null,
      escalationLevel: 0,
      slaFirstTouchDueAt: null,
      timerToken: 'tok-2',
    });
    expect(r.audit).toMatchObject({ type: 'reassigned', ownerId: 'sam', data: { reason: 'reassigned to Sam Torres', previousOwnerId: 'dana' } });
    expect(r.events[0]).toMatchObject({ type: 'handoff.reassigned', payload: { ownerId: 'sam', slaAcceptDueAt: '2026-11-23T12:00:00.000Z' } });
  });

  it('reassign restarts the accept SLA in business time when the policy says so, or when it had been accepted', () => {
    const restart = handoff({ policy: { ...policy, escalation: { ...policy.escalation, restartSlaOnReassign: true } } });
    // Monday 16:00 Berlin + 4 business hours = Tuesday 12:00 Berlin.
    const now = new Date('2026-11-23T15:00:00.000Z');
    const target = { reassignTo: { ownerId: 'sam', reason: 'next in the Sales queue', source: 'queue' as const } };
    expect(transition(restart, command(restart, 'reassign', target), now).next?.slaAcceptDueAt).toEqual(new Date('2026-11-24T11:00:00.000Z'));
    const accepted = handoff({ status: 'accepted', acceptedAt: created });
    expect(transition(accepted, command(accepted, 'reassign', target), now).next?.slaAcceptDueAt).toEqual(new Date('2026-11-24T11:00:00.000Z'));
  });

  it('auto_reassign by Baton writes a handoff.reassigned event with the SLA facts', () => {
    const h = handoff({ status: 'escalated' });
    const now = new Date('2026-11-23T14:00:00.000Z');
    const data = { sla: 'auto_reassign', kind: 'accept', step: 'accept:reassign', breach: true, dueAt: '2026-11-23T12:00:00.000Z', businessMsOverdue: 2 * H };
    const r = transition(h, command(h, 'auto_reassign', { data, reassignTo: { ownerId: 'sam', reason: 'next in the Sales queue', source: 'queue' } }, ['system']), now);
    expect(r.audit).toMatchObject({ type: 'reassigned', actorId: null, data: { ...data, reason: 'next in the Sales queue', previousOwnerId: 'dana' } });
    expect(r.events[0]).toMatchObject({ type: 'handoff.reassigned', payload: { action: 'auto_reassign', actorId: null, data } });
  });

  it('a reassignment\'s routing reason says who reassigned it and why, and where a picked owner came from', () => {
    const queue = { ownerId: 'sam', reason: 'next in the Sales queue', source: 'queue' as const };
    const fallback = { ownerId: 'lee', reason: 'fallback owner: nobody else in the queue is available', source: 'fallback' as const };
    const person = { actorId: 'dana', actorName: 'Dana Kim' };
    expect(reassignedBecause(handoff(), { ...person, note: ' out sick this week ' }, { ...queue, source: 'named' })).toBe('reassigned by Dana Kim: out sick this week');
    expect(reassignedBecause(handoff(), { ...person, reasonCode: 'territory' }, queue)).toBe('reassigned by Dana Kim: territory; next in the Sales queue');
    expect(reassignedBecause(handoff(), { ...person, note: 'away' }, fallback)).toBe('reassigned by Dana Kim: away; fallback owner: nobody else in the queue is available');
    const baton = { actorId: null, data: { sla: 'auto_reassign', kind: 'accept' } };
    expect(reassignedBecause(handoff({ escalationLevel: 2 }), baton, queue)).toBe('auto-reassigned by Baton: accept SLA missed, escalated twice; next in the Sales queue');
    expect(reassignedBecause(handoff({ escalationLevel: 1 }), baton, queue)).toBe('auto-reassigned by Baton: accept SLA missed, escalated once; next in the Sales queue');
    expect(reassignedBecause(handoff({ escalationLevel: 0 }), baton, fallback)).toBe('auto-reassigned by Baton: accept SLA missed; fallback owner: nobody else in the queue is available');
  });

  it('escalate raises the level; a first-touch breach is an annotation on the accepted handoff, written as handoff.escalated', () => {
    const h = handoff();
    const now = new Date('2026-11-23T12:00:00.000Z');
    expect(transition(h, command(h, 'escalate', {}, ['system']), now).next).toEqual({ status: 'escalated', version: 2, updatedAt: now, escalationLevel: 1 });
    const accepted = handoff({ status: 'accepted', version: 2 });
    const breach = transition(accepted, command(accepted, 'sla_breach', { data: { level: 1, kind: 'first_touch' } }, ['system']), now);
    expect(breach.next).toBeNull();
    expect(breach.audit).toMatchObject({ type: 'escalated', version: 2, fromStatus: 'accepted', toStatus: 'accepted' });
    expect(breach.events[0]).toMatchObject({ type: 'handoff.escalated', payload: { version: 2, data: { level: 1, kind: 'first_touch' } } });
  });

  it('nudge and snooze are annotations: no column changes, the version kept', () => {
    const h = handoff();
    const now = new Date('2026-11-23T10:00:00.000Z');
    for (const [action, roles] of [['nudge', ['system']], ['snooze', ['owner']]] as const) {
      const r = transition(h, command(h, action, {}, [...roles]), now);
      expect(r.next).toBeNull();
      expect(r.audit.version).toBe(1);
      expect(r.events[0]!.payload).toMatchObject({ version: 1, timerToken: 'tok-1' });
    }
  });

  it('post keeps the version, so its guard checks the status as well', () => {
    const h = handoff({ status: 'routed' });
    const now = new Date('2026-11-23T08:00:01.000Z');
    const r = transition(h, command(h, 'post', { data: { platform: 'slack' } }, ['system']), now);
    expect(r.next).toEqual({ status: 'posted', version: 1, updatedAt: now });
    expect(r.guard).toEqual({ version: 1, status: 'routed' });
    expect(r.events[0]).toMatchObject({ type: 'handoff.posted', payload: { data: { platform: 'slack' } } });
  });

  it('withdraw and complete close the handoff', () => {
    const now = new Date('2026-11-23T10:00:00.000Z');
    const open = handoff();
    expect(transition(open, command(open, 'withdraw', {}, ['sender']), now).next).toEqual({ status: 'withdrawn', version: 2, updatedAt: now, closedAt: now, timerToken: null });
    const accepted = handoff({ status: 'accepted', version: 2 });
    expect(transition(accepted, command(accepted, 'complete'), now).events[0]).toMatchObject({ type: 'handoff.completed', payload: { version: 3 } });
  });

  it('refusals come from the lifecycle table before any change is computed', () => {
    const h = handoff({ status: 'completed' });
    expect(() => decideCommand(h, { action: 'accept', actorRoles: ['owner'], whoCanAct: 'Dana Kim (owner)' }, null)).toThrow(ConflictError);
    expect(() => decideCommand(handoff(), { action: 'accept', actorRoles: ['sender'], whoCanAct: 'Dana Kim (owner)' }, null)).toThrow(ForbiddenError);
  });

  it('a reassignment without a target is a programming error, not a silent no-op', () => {
    const h = handoff();
    expect(() => transition(h, command(h, 'reassign'), new Date())).toThrow(/needs a reassignment target/);
  });
});
