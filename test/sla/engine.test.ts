/**
 * The SLA engine end to end with real Agenda: Baton on the embedded PGlite, and (with
 * DATABASE_URL) on PostgreSQL with Agenda's postgres backend. SLAs are seconds long on a 24/7
 * calendar, so business time is wall time and nothing sleeps for minutes.
 */
import type { TestBaton } from '../helpers/baton.js';
import { SLA_TIMER_JOB, type FireOutcome } from '../../src/sla/engine.js';
import type { TimerJobData } from '../../src/sla/plan.js';
import { backends, sleep, waitFor, type JobsTestDatabase } from '../jobs/helpers.js';
import { dataOf, intake, ofType, outboxEvents, startSlaBaton } from './helpers.js';

import { jest } from '@jest/globals';

jest.setTimeout(60_000);

for (const backend of backends) {
  describe(`SLA engine on ${backend.name}`, () => {
    let t: JobsTestDatabase;
    let baton: TestBaton;

    beforeAll(async () => {
      t = await backend.open();
      baton = await startSlaBaton(t);
    });
    afterAll(async () => {
      await baton?.stop();
      await t?.drop();
    });

    const events = (id: number) => baton.service.events(id);
    const pendingTimers = (id: number) => baton.jobs.list<TimerJobData>({ name: SLA_TIMER_JOB, match: { handoffId: id } });

    it('a handoff nobody accepts settles: reassigned to the next in the queue once, then to the fallback owner, who keeps it', async () => {
      const h = await intake(baton, 'fast');
      const other = h.ownerId === 'cat' ? 'dan' : 'cat';
      const twice = await waitFor(async () => {
        const e = await events(h.id);
        return ofType(e, 'reassigned').length >= 2 ? e : undefined;
      }, 30_000);
      expect(ofType(twice, 'reassigned').map((e) => e.owner?.id)).toEqual([other, 'bob']);
      const view = await baton.service.get(h.id, { events: false });
      expect(view.owner.id).toBe('bob');
      expect(view.routingReason).toContain('fallback owner: reassigned before, so the queue had its turn');
      // The fallback owner's phase still escalates, but its reassign step moves nothing: wait past it.
      const reassignAt = new Date(view.slaAcceptDueAt!).getTime() + 3000;
      await sleep(Math.max(0, reassignAt - Date.now()) + 1500);
      const after = await events(h.id);
      expect(ofType(after, 'reassigned')).toHaveLength(2);
      expect(ofType(after, 'escalated').length).toBeGreaterThan(ofType(twice, 'escalated').length);
      expect((await baton.service.get(h.id, { events: false })).owner.id).toBe('bob');
      await baton.service.act(h.id, { action: 'withdraw', actor: 'ann', note: 'done testing' });
    });

    it('nudges at 50% and 80%, escalates at the breach and up the chain, then reassigns to the next in the queue', async () => {
      const h = await intake(baton, 'fast');
      const other = h.ownerId === 'cat' ? 'dan' : 'cat';
      const view0 = await baton.service.get(h.id, { events: false });
      const dueAt = new Date(view0.slaAcceptDueAt!);
      expect(dueAt.getTime() - h.createdAt.getTime()).toBe(3000);

      const all = await waitFor(async () => {
        const e = await events(h.id);
        return ofType(e, 'reassigned').length >= 1 ? e : undefined;
      }, 15_000);
      const at = (e: { at: string }) => new Date(e.at).getTime() - h.createdAt.getTime();

      const nudges = ofType(all, 'nudged');
      expect(nudges.map((e) => dataOf(e).point)).toEqual([0.5, 0.8]);
      expect(nudges.map((e) => e.actor)).toEqual([null, null]);
      // Each fired at its point of the 3s window, not early, and within a second of it.
      expect(at(nudges[0]!)).toBeGreaterThanOrEqual(1500);
      expect(at(nudges[0]!)).toBeLessThan(2500);
      expect(at(nudges[1]!)).toBeGreaterThanOrEqual(2400);
      // Reminders are annotations: they never make an open card stale.
      expect(nudges.map((e) => e.version)).toEqual([1, 1]);

      const escalations = ofType(all, 'escalated');
      expect(escalations.map((e) => dataOf(e).level)).toEqual([1, 2]);
      expect(at(escalations[0]!)).toBeGreaterThanOrEqual(3000);
      expect(escalations[0]!.toStatus).toBe('escalated');
      expect(dataOf(escalations[0]!)).toMatchObject({
        sla: 'escalation',
        kind: 'accept',
        step: 'accept:escalate:1',
        breach: true,
        dueAt: dueAt.toISOString(),
        target: 'owner_lead',
        escalatedTo: { id: 'bob', name: 'Bob Lead', email: 'bob@test.example', slackUserId: 'U0BOB0001', teamsUserId: '29:bob' },
        teamId: 'beta',
        nextEscalationAt: new Date(dueAt.getTime() + 1000).toISOString(),
        reassignAt: new Date(dueAt.getTime() + 3000).toISOString(),
      });
      expect(dataOf(escalations[1]!)).toMatchObject({ level: 2, target: 'function_head', escalatedTo: { id: 'hana' }, nextEscalationAt: null });

      const [reassigned] = ofType(all, 'reassigned');
      expect(reassigned!.actor).toBeNull();
      expect(reassigned!.owner?.id).toBe(other);
      expect(at(reassigned!)).toBeGreaterThanOrEqual(6000);
      expect(dataOf(reassigned!)).toMatchObject({ sla: 'auto_reassign', breach: true, previousOwnerId: h.ownerId, reason: 'next in the Beta queue' });

      // Every breach step is on record for the digest: handoff, step, due at, fired at, who was told.
      const breaches = await baton.db.prisma.slaBreach.findMany({ where: { handoffId: h.id }, orderBy: { level: 'asc' } });
      expect(breaches.map((b) => [b.kind, b.level, b.ownerId, b.escalatedToId, b.dueAt.toISOString(), b.transitionId, b.teamId])).toEqual([
        ['accept', 1, h.ownerId, 'bob', dueAt.toISOString(), 'fast', 'beta'],
        ['accept', 2, h.ownerId, 'hana', dueAt.toISOString(), 'fast', 'beta'],
      ]);
      expect(breaches[0]!.firedAt.getTime()).toBeGreaterThanOrEqual(dueAt.getTime());

      // What the platforms get: the outbox events carry the same data.
      const outbox = await outboxEvents(baton, h.id);
      const nudged = outbox.filter((e) => e.type === 'handoff.nudged');
      expect(nudged[0]!.payload).toMatchObject({ handoffId: h.id, action: 'nudge', actorId: null, ownerId: h.ownerId, data: { sla: 'nudge', kind: 'accept', point: 0.5, dueAt: dueAt.toISOString(), snoozedUntil: null } });
      expect((nudged[0]!.payload.data as { businessMsLeft: number }).businessMsLeft).toBeGreaterThan(0);
      expect(outbox.filter((e) => e.type === 'handoff.escalated').map((e) => (e.payload.data as { level: number }).level)).toEqual([1, 2]);

      // The new owner gets a fresh accept SLA with new timers; the old phase's timers are gone.
      const view = await baton.service.get(h.id, { events: false });
      expect(view.owner.id).toBe(other);
      expect(view.escalationLevel).toBe(0);
      expect(view.routingReason).toBe('auto-reassigned by Baton: accept SLA missed, escalated twice; next in the Beta queue');
      const newToken = (await baton.db.prisma.handoff.findUniqueOrThrow({ where: { id: h.id } })).timerToken;
      const pending = await waitFor(async () => {
        const p = await pendingTimers(h.id);
        return p.length === 5 && p.every((j) => j.data.token === newToken) ? p : undefined;
      });
      expect(pending.map((j) => j.data.step)).toEqual(['accept:nudge:0.5', 'accept:nudge:0.8', 'accept:escalate:1', 'accept:escalate:2', 'accept:reassign']);

      // Withdrawing cancels everything.
      await baton.service.act(h.id, { action: 'withdraw', actor: 'ann', note: 'done testing' });
      await waitFor(async () => (await pendingTimers(h.id)).length === 0);
    });

    it('cancels the accept timers on accept (no nudge after accept) and starts the first-touch SLA; touch ends it', async () => {
      const h = await intake(baton, 'fast');
      await waitFor(async () => (await pendingTimers(h.id)).length === 5);
      await baton.service.act(h.id, { action: 'accept', actor: h.ownerId });
      const firstTouch = await waitFor(async () => {
        const p = await pendingTimers(h.id);
        return p.length === 4 && p.every((j) => j.data.kind === 'first_touch') ? p : undefined;
      });
      expect(firstTouch.map((j) => j.data.step)).toEqual(['first_touch:nudge:0.5', 'first_touch:nudge:0.8', 'first_touch:escalate:1', 'first_touch:escalate:2']);
      // Past the old accept nudge (1.5s) and into the first-touch one.
      const withNudge = await waitFor(async () => {
        const e = await events(h.id);
        return ofType(e, 'nudged').length >= 1 ? e : undefined;
      });
      expect(ofType(withNudge, 'nudged').map((e) => dataOf(e).kind)).toEqual(['first_touch']);
      await baton.service.act(h.id, { action: 'touch', actor: h.ownerId });
      await waitFor(async () => (await pendingTimers(h.id)).length === 0);
      await sleep(2500); // past the first-touch deadline
      const after = await events(h.id);
      expect(ofType(after, 'escalated')).toHaveLength(0);
      expect(ofType(after, 'nudged').every((e) => dataOf(e).kind === 'first_touch')).toBe(true);
      expect(await baton.db.prisma.slaBreach.count({ where: { handoffId: h.id } })).toBe(0);
    });

    it('records a first-touch breach on an accepted handoff without taking it away from its owner', async () => {
      const h = await intake(baton, 'touchy');
      await baton.service.act(h.id, { action: 'accept', actor: h.ownerId });
      const all = await waitFor(async () => {
        const e = await events(h.id);
        return ofType(e, 'escalated').length >= 2 ? e : undefined;
      });
      const [first, second] = ofType(all, 'escalated');
      expect(first).toMatchObject({ fromStatus: 'accepted', toStatus: 'accepted', actor: null });
      expect(dataOf(first!)).toMatchObject({ sla: 'escalation', kind: 'first_touch', level: 1, target: 'team_lead', escalatedTo: { id: 'bob' }, reassignAt: null });
      expect(dataOf(second!)).toMatchObject({ kind: 'first_touch', level: 2, escalatedTo: { id: 'hana' } });
      const view = await baton.service.get(h.id, { events: false });
      expect(view.status).toBe('accepted');
      expect(view.owner.id).toBe(h.ownerId);
      const breaches = await baton.db.prisma.slaBreach.findMany({ where: { handoffId: h.id }, orderBy: { level: 'asc' } });
      expect(breaches.map((b) => [b.kind, b.level, b.escalatedToId, b.dueAt.toISOString()])).toEqual([
        ['first_touch', 1, 'bob', view.slaFirstTouchDueAt],
        ['first_touch', 2, 'hana', view.slaFirstTouchDueAt],
      ]);
      const outbox = await outboxEvents(baton, h.id);
      expect(outbox.filter((e) => e.type === 'handoff.escalated').map((e) => e.payload.action)).toEqual(['sla_breach', 'sla_breach']);
      await baton.service.act(h.id, { action: 'complete', actor: h.ownerId });
      await waitFor(async () => (await pendingTimers(h.id)).length === 0);
    });

    it('a snooze postpones the next nudge to its end (collapsing missed ones), but never moves the breach', async () => {
      const h = await intake(baton, 'snoozy');
      const dueAt = new Date((await baton.service.get(h.id, { events: false })).slaAcceptDueAt!);
      await baton.service.act(h.id, { action: 'snooze', actor: h.ownerId, reasonCode: '4s' });
      const snoozedAt = new Date(ofType(await events(h.id), 'snoozed')[0]!.at).getTime();
      const all = await waitFor(async () => {
        const e = await events(h.id);
        return ofType(e, 'escalated').length >= 1 ? e : undefined;
      }, 15_000);
      const nudges = ofType(all, 'nudged');
      // The 25% nudge (1.5s) and the 50% one (3s) both fell inside the snooze: one reminder at its end.
      expect(nudges).toHaveLength(1);
      expect(dataOf(nudges[0]!)).toMatchObject({ point: 0.5, snoozedUntil: new Date(snoozedAt + 4000).toISOString() });
      expect(new Date(nudges[0]!.at).getTime()).toBeGreaterThanOrEqual(snoozedAt + 4000);
      const [breach] = ofType(all, 'escalated');
      expect(dataOf(breach!).dueAt).toBe(dueAt.toISOString());
      expect(new Date(breach!.at).getTime()).toBeGreaterThanOrEqual(dueAt.getTime());
      expect(new Date(breach!.at).getTime()).toBeLessThan(dueAt.getTime() + 1500);
      expect((await baton.service.get(h.id, { events: false })).slaAcceptDueAt).toBe(dueAt.toISOString());
      await baton.service.act(h.id, { action: 'withdraw', actor: 'ann' });
    });

    it('a snooze that outlasts the deadline silences the nudges; the breach still comes on time', async () => {
      const h = await intake(baton, 'snoozy');
      const dueAt = new Date((await baton.service.get(h.id, { events: false })).slaAcceptDueAt!);
      await baton.service.act(h.id, { action: 'snooze', actor: h.ownerId, reasonCode: '1h' });
      const all = await waitFor(async () => {
        const e = await events(h.id);
        return ofType(e, 'escalated').length >= 1 ? e : undefined;
      }, 15_000);
      expect(ofType(all, 'nudged')).toHaveLength(0);
      expect(new Date(ofType(all, 'escalated')[0]!.at).getTime()).toBeLessThan(dueAt.getTime() + 1500);
      await baton.service.act(h.id, { action: 'withdraw', actor: 'ann' });
    });

    it('fires a step once in effect, however many times its job runs (duplicates, retries, races)', async () => {
      const h = await intake(baton, 'slow');
      const [nudge] = await waitFor(async () => {
        const p = await pendingTimers(h.id);
        return p.length === 5 ? p : undefined;
      });
      expect(nudge!.data.step).toBe('accept:nudge:0.5');
      // The 50% point is two hours away; fire its job by hand, five times at once.
      const early = await baton.sla.fire({ key: nudge!.key, data: nudge!.data });
      expect(early).toBe('fired');
      const outcomes: FireOutcome[] = await Promise.all(Array.from({ length: 5 }, () => baton.sla.fire({ key: nudge!.key, data: nudge!.data })));
      expect(outcomes).toEqual(Array(5).fill('already_fired'));
      // A duplicate job row for the same step (another key), due now, run by Agenda itself.
      await baton.jobs.schedule({ name: SLA_TIMER_JOB, key: `${nudge!.key}:duplicate`, runAt: new Date(), data: nudge!.data });
      await waitFor(async () => !(await baton.jobs.list({ keys: [`${nudge!.key}:duplicate`] })).length);
      expect(ofType(await events(h.id), 'nudged')).toHaveLength(1);
      expect(await baton.db.prisma.slaFiring.count({ where: { handoffId: h.id } })).toBe(1);

      // Concurrent escalation jobs of one level: one escalation, one breach row, version bumped once.
      const pending = await pendingTimers(h.id);
      const level1 = pending.find((j) => j.data.step === 'accept:escalate:1')!;
      const level2 = pending.find((j) => j.data.step === 'accept:escalate:2')!;
      // Level 2 may not overtake level 1: its job asks to be retried.
      await expect(baton.sla.fire({ key: level2.key, data: level2.data })).rejects.toThrow(/waits for the previous step/);
      const results = await Promise.all(Array.from({ length: 4 }, () => baton.sla.fire({ key: level1.key, data: level1.data })));
      expect(results.filter((r) => r === 'fired')).toHaveLength(1);
      expect(results.filter((r) => r !== 'fired').every((r) => r === 'already_fired')).toBe(true);
      const view = await baton.service.get(h.id, { events: false });
      expect(view.status).toBe('escalated');
      expect(view.escalationLevel).toBe(1);
      expect(await baton.db.prisma.slaBreach.count({ where: { handoffId: h.id } })).toBe(1);
      expect(await baton.sla.fire({ key: level2.key, data: level2.data })).toBe('fired');
      expect((await baton.service.get(h.id, { events: false })).escalationLevel).toBe(2);

      // After accept, the old phase's jobs are stale: running one does nothing.
      await baton.service.act(h.id, { action: 'accept', actor: h.ownerId });
      const reassign = pending.find((j) => j.data.step === 'accept:reassign')!;
      expect(await baton.sla.fire({ key: reassign.key, data: reassign.data })).toBe('stale');
      expect((await baton.service.get(h.id, { events: false })).owner.id).toBe(h.ownerId);
      await baton.service.act(h.id, { action: 'withdraw', actor: 'ann' });
    });

    it('re-delivered and out-of-order events never revive old timers', async () => {
      const h = await intake(baton, 'slow');
      await waitFor(async () => (await pendingTimers(h.id)).length === 5);
      await baton.service.act(h.id, { action: 'accept', actor: h.ownerId });
      await waitFor(async () => {
        const p = await pendingTimers(h.id);
        return p.length === 4 && p.every((j) => j.data.kind === 'first_touch');
      });
      // Replay the routed event (as a crashed delivery would be): the accept phase stays cancelled.
      const routed = (await baton.db.prisma.outboxEvent.findFirstOrThrow({ where: { handoffId: h.id, type: 'handoff.routed' } }));
      await baton.sla.handle({ id: String(routed.id), handoffId: h.id, type: routed.type, payload: routed.payload as Record<string, unknown>, createdAt: routed.createdAt });
      const pending = await pendingTimers(h.id);
      expect(pending.map((j) => j.data.step)).toEqual(['first_touch:nudge:0.5', 'first_touch:nudge:0.8', 'first_touch:escalate:1', 'first_touch:escalate:2']);
      // Replaying the accepted event arms nothing twice.
      const accepted = await baton.db.prisma.outboxEvent.findFirstOrThrow({ where: { handoffId: h.id, type: 'handoff.accepted' } });
      await baton.sla.handle({ id: String(accepted.id), handoffId: h.id, type: accepted.type, payload: accepted.payload as Record<string, unknown>, createdAt: accepted.createdAt });
      expect(await pendingTimers(h.id)).toHaveLength(4);
      await baton.service.act(h.id, { action: 'withdraw', actor: 'ann' });
      await waitFor(async () => (await pendingTimers(h.id)).length === 0);
    });
  });
}
