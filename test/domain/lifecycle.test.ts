import { ConflictError, ForbiddenError, InvalidError } from '../../src/errors.js';
import { decide, LIFECYCLE, STATUSES, validateActionArgs, type HandoffAction, type HandoffStatus } from '../../src/domain/lifecycle.js';

const last = { action: 'accepted', by: { id: 'dana', name: 'Dana Kim' }, at: new Date('2026-11-27T14:03:00Z') };
const base = { version: 3, actorRoles: ['owner'] as const, whoCanAct: 'Dana Kim (owner)', lastChange: last };

describe('lifecycle table', () => {
  // The whole table, spelled out: a change to the lifecycle must change this test on purpose.
  const expected: Record<HandoffAction, Partial<Record<HandoffStatus, HandoffStatus>>> = {
    accept: { routed: 'accepted', posted: 'accepted', reassigned: 'accepted', escalated: 'accepted' },
    reject: { routed: 'rejected', posted: 'rejected', reassigned: 'rejected', escalated: 'rejected' },
    reassign: { routed: 'reassigned', posted: 'reassigned', reassigned: 'reassigned', escalated: 'reassigned', accepted: 'reassigned' },
    complete: { accepted: 'completed' },
    touch: { accepted: 'accepted' },
    withdraw: { routed: 'withdrawn', posted: 'withdrawn', reassigned: 'withdrawn', escalated: 'withdrawn', accepted: 'withdrawn' },
    post: { routed: 'posted' },
    escalate: { routed: 'escalated', posted: 'escalated', reassigned: 'escalated', escalated: 'escalated' },
    auto_reassign: { routed: 'reassigned', posted: 'reassigned', reassigned: 'reassigned', escalated: 'reassigned' },
    nudge: { routed: 'routed', posted: 'posted', reassigned: 'reassigned', escalated: 'escalated', accepted: 'accepted' },
    sla_breach: { accepted: 'accepted' },
    snooze: { routed: 'routed', posted: 'posted', reassigned: 'reassigned', escalated: 'escalated', accepted: 'accepted' },
  };
  for (const action of Object.keys(LIFECYCLE) as HandoffAction[]) {
    for (const status of STATUSES) {
      const next = expected[action][status];
      const roles = [...LIFECYCLE[action].roles];
      it(`${action} from ${status} → ${next ?? 'refused'}`, () => {
        const run = () => decide({ ...base, status, action, actorRoles: roles });
        const annotation = LIFECYCLE[action].annotation === true;
        // Annotations and posting keep the version (an open card stays clickable); the rest bump it.
        const keeps = annotation || action === 'post';
        if (next) expect(run()).toEqual({ fromStatus: status, toStatus: next, nextVersion: keeps ? 3 : 4, annotation });
        else expect(run).toThrow(ConflictError);
      });
    }
  }
});

describe('decide', () => {
  it('refuses a second accept naming who accepted and when', () => {
    try {
      decide({ ...base, status: 'accepted', action: 'accept' });
      throw new Error('expected a conflict');
    } catch (e) {
      expect(e).toBeInstanceOf(ConflictError);
      const c = e as ConflictError;
      expect(c.code).toBe('already_accepted');
      expect(c.userMessage).toBe("This handoff was already accepted by Dana Kim at 2026-11-27 14:03 UTC, so it can't be accepted now.");
      expect(c.by).toEqual({ id: 'dana', name: 'Dana Kim' });
      expect(c.at).toEqual(last.at);
    }
  });

  it('refuses someone without a role and says who can act', () => {
    const run = () => decide({ ...base, status: 'posted', action: 'accept', actorRoles: ['sender'], whoCanAct: 'Dana Kim (owner), Lee Park (their lead), a playbook admin' });
    expect(run).toThrow(ForbiddenError);
    expect(run).toThrow("You can't accept this handoff — Dana Kim (owner), Lee Park (their lead), a playbook admin can.");
  });

  it('checks authorization before state, so a stranger learns nothing about the state', () => {
    expect(() => decide({ ...base, status: 'accepted', action: 'accept', actorRoles: [] })).toThrow(ForbiddenError);
  });

  it('refuses a stale click (expectedVersion behind) with who changed it', () => {
    const run = () => decide({ ...base, status: 'reassigned', action: 'accept', expectedVersion: 2, lastChange: { action: 'reassigned', by: { id: 'lee', name: 'Lee Park' }, at: last.at } });
    expect(run).toThrow(/changed since you saw it: reassigned by Lee Park at 2026-11-27 14:03 UTC/);
  });

  it('lets only the sender side withdraw', () => {
    expect(() => decide({ ...base, status: 'posted', action: 'withdraw', actorRoles: ['owner'] })).toThrow(ForbiddenError);
    expect(decide({ ...base, status: 'posted', action: 'withdraw', actorRoles: ['sender'] }).toStatus).toBe('withdrawn');
  });

  it('records a first touch only once', () => {
    expect(() => decide({ ...base, status: 'accepted', action: 'touch', firstTouchRecorded: true })).toThrow('The first touch was already recorded for this handoff.');
  });
});

describe('validateActionArgs', () => {
  const reasons = [{ code: 'not_icp', label: 'Not ICP' }, { code: 'duplicate', label: 'Duplicate' }];
  it('requires a reason from the taxonomy and a note to reject', () => {
    try {
      validateActionArgs('reject', { reasonCode: 'nope' }, reasons);
      throw new Error('expected invalid');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidError);
      expect((e as InvalidError).details).toEqual([
        { path: 'reasonCode', message: '"nope" is not a reject reason for this transition; use one of not_icp, duplicate' },
        { path: 'note', message: 'a note is required when rejecting (what is missing or wrong)' },
      ]);
    }
  });
  it('requires a target and a reason to reassign', () => {
    expect(() => validateActionArgs('reassign', {}, reasons)).toThrow(InvalidError);
    expect(() => validateActionArgs('reassign', { to: 'queue', note: 'on leave' }, reasons)).not.toThrow();
  });
});
