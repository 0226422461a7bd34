/**
 * The SLA engine: turns handoff events into Agenda timers, and due timers into nudges,
 * escalations and automatic reassignments.
 *
 * Arming: an outbox consumer named "sla". A state change never schedules jobs itself (on
 * PostgreSQL Agenda has its own pool, so a job could not join the change's transaction); it
 * records a new timer token in the handoff row, and this consumer arms the phase's timers from the
 * event afterwards. Events may come late, twice or out of order: only the handoff's current token
 * is ever armed, and every job with another token is cancelled (src/sla/plan.ts decideTimers).
 *
 * Firing: a due job re-reads the handoff and does nothing if its token is stale or its phase is
 * over. Its effect goes through HandoffService.apply, and in the same transaction it writes its
 * row in the `sla_firing` ledger (primary key handoff + token + step). A duplicate job, a retry,
 * a second instance or a re-run after a crash finds the row, its transaction rolls back, and the
 * effect happened exactly once.
 *
 * What platforms get (outbox event `data`): see SlaNudgeData, SlaEscalationData, SlaReassignData.
 */
import { FALLBACK_TARGET } from '../handoffs/reassign.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/database.js';
import type { OutboxConsumer, OutboxEvent, Tx } from '../outbox.js';
import { HANDOFF_EVENT_TYPES, type HandoffEventType } from '../events.js';
import { HandoffRepository, type TimerStateRow } from '../store/handoffRepository.js';
import type { HandoffRow, HandoffService, PolicySnapshot } from '../handoffs.js';
import type { HandoffStatus } from '../domain/lifecycle.js';
import { ConflictError } from '../errors.js';
import { RetryAfterError } from '../retry.js';
import type { JobScheduler, RunningJob } from '../jobs/scheduler.js';
import { businessTimeBetween } from './businessTime.js';
import { chainStep, escalationRole, resolveEscalationTarget, type EscalationRole } from './escalation.js';
import type { SlaEscalationData, SlaNudgeData, SlaReassignData } from './eventData.js';
import { decideFiring, decideTimers, planPhase, snoozeDurationMs, type FiringDecision, type HandoffSnapshot, type SlaKind, type TimerJobData } from './plan.js';

/** The one Agenda job name for SLA timers: one queue, so overdue timers fire oldest first. */
export const SLA_TIMER_JOB = 'sla.timer';

// What the outbox events carry in `payload.data` lives in ./eventData.ts (re-exported here).
export type { SlaEscalationData, SlaEventData, SlaNudgeData, SlaReassignData } from './eventData.js';

export type FireOutcome = 'fired' | 'deferred' | 'no_target' | Extract<FiringDecision, { do: 'skip' }>['reason'];

class AlreadyFiredError extends Error {}
class StaleTimerError extends Error {}

export interface SlaEngineDeps {
  service: HandoffService;
  db: Database;
  jobs: JobScheduler;
  clock: Clock;
  log: Logger;
}

export function timerKey(handoffId: number, token: string, step: string): string {
  return `sla:${handoffId}:${token}:${step}`;
}

type SnapshotRow = TimerStateRow;

/** Every handoff event but `posted`, which keeps the timer token and arms nothing: the timers armed at routing stand. */
export const SLA_EVENTS: readonly HandoffEventType[] = HANDOFF_EVENT_TYPES.filter((t) => t !== 'handoff.posted');

export class SlaEngine implements OutboxConsumer {
  readonly name = 'sla';
  readonly subscribes = SLA_EVENTS;
  private readonly repo: HandoffRepository;

  constructor(private readonly deps: SlaEngineDeps) {
    this.repo = new HandoffRepository(deps.db.prisma);
  }

  /** Registers the timer job's handler; call before the scheduler starts. */
  register(): void {
    this.deps.jobs.define<TimerJobData>(SLA_TIMER_JOB, async (job) => {
      await this.fire(job);
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Arming (outbox consumer)

  async handle(event: OutboxEvent): Promise<void> {
    if (event.handoffId === null) return;
    const row = await this.load(event.handoffId);
    if (!row) return;
    const h = toSnapshot(row);
    const token = typeof event.payload.timerToken === 'string' ? event.payload.timerToken : null;
    const decision = decideTimers(h, { type: event.type, timerToken: token, at: event.createdAt });

    const pending = await this.deps.jobs.list<TimerJobData>({ name: SLA_TIMER_JOB, match: { handoffId: h.id } });
    const stale = pending.filter((j) => j.data.token !== decision.keepToken).map((j) => j.key);
    if (stale.length) await this.deps.jobs.cancel({ name: SLA_TIMER_JOB, keys: stale });

    if (!decision.arm.length || !decision.startedAt || !decision.dueAt || !h.timerToken) return;
    const armToken = h.timerToken;
    const startedAt = decision.startedAt.toISOString();
    const dueAt = decision.dueAt.toISOString();
    const requests = decision.arm.map((t) => ({
      name: SLA_TIMER_JOB,
      key: timerKey(h.id, armToken, t.step),
      runAt: t.at,
      data: { handoffId: h.id, token: armToken, kind: t.kind, step: t.step, startedAt, dueAt, snoozedUntil: null } satisfies TimerJobData as TimerJobData,
    }));
    // Insert-only: a redelivered event must not move a timer (or revive one a snooze deferred).
    const { jobs } = this.deps;
    if (jobs.scheduleMany) await jobs.scheduleMany(requests);
    else for (const r of requests) await jobs.schedule(r);
    this.deps.log.debug({ handoffId: h.id, event: event.type, armed: decision.arm.map((t) => `${t.step}@${t.at.toISOString()}`), cancelled: stale.length }, 'sla: timers armed');
  }

  // -----------------------------------------------------------------------------------------------
  // Firing (job handler)

  async fire(job: Pick<RunningJob<TimerJobData>, 'key' | 'data'>): Promise<FireOutcome> {
    const t = job.data;
    // A concurrent state change makes apply() lose its version race: decide again on fresh data.
    for (let round = 0; round < 3; round++) {
      const row = await this.load(t.handoffId);
      if (!row) return 'stale';
      const h = toSnapshot(row);
      const now = this.deps.clock.now();
      const firedRows = await this.deps.db.prisma.slaFiring.findMany({ where: { handoffId: h.id, timerToken: t.token }, select: { step: true } });
      const fired = new Set(firedRows.map((r) => r.step));
      const snoozedUntil = t.step.includes(':nudge:') ? await this.snoozedUntil(h.id, new Date(t.startedAt)) : null;
      const d = decideFiring(h, t, now, { fired, snoozedUntil });
      switch (d.do) {
        case 'skip':
          this.deps.log.debug({ handoffId: h.id, step: t.step, reason: d.reason }, 'sla: timer skipped');
          return d.reason;
        case 'defer':
          await this.deps.jobs.schedule({
            name: SLA_TIMER_JOB,
            key: `${job.key}:snoozed:${d.until.getTime()}`,
            runAt: d.until,
            data: { ...t, snoozedUntil: d.until.toISOString() },
          });
          this.deps.log.info({ handoffId: h.id, step: t.step, until: d.until.toISOString() }, 'sla: nudge postponed by a snooze');
          return 'deferred';
        case 'wait':
          throw new RetryAfterError(`escalation ${t.step} waits for the previous step of handoff #${h.id}`, 1000);
        default:
          try {
            await this.effect(row, h, t, d, now);
            return 'fired';
          } catch (err) {
            if (err instanceof AlreadyFiredError) return 'already_fired';
            if (err instanceof StaleTimerError) return 'stale';
            if (err instanceof ConflictError && err.code === 'no_reassign_target') {
              this.deps.log.warn({ handoffId: h.id, step: t.step }, 'sla: nobody to reassign to (the fallback owner already owns it)');
              return 'no_target';
            }
            if (err instanceof ConflictError) continue;
            throw err;
          }
      }
    }
    throw new RetryAfterError(`handoff #${t.handoffId} kept changing while its timer ${t.step} fired`, 500);
  }

  private async effect(row: SnapshotRow, h: HandoffSnapshot, t: TimerJobData, d: Exclude<FiringDecision, { do: 'skip' | 'defer' | 'wait' }>, now: Date): Promise<void> {
    const { service } = this.deps;
    const cal = h.policy.calendar;
    if (d.do === 'nudge') {
      const data: SlaNudgeData = {
        sla: 'nudge',
        kind: d.kind,
        step: t.step,
        point: d.point,
        dueAt: d.dueAt.toISOString(),
        businessMsLeft: businessTimeBetween(now, d.dueAt, cal),
        snoozedUntil: t.snoozedUntil,
      };
      await service.apply(h.id, 'nudge', null, { data: { ...data }, inTransaction: this.record(t, now) });
      this.deps.log.info({ handoffId: h.id, step: t.step, ownerId: row.ownerId }, 'sla: owner nudged');
      return;
    }

    const businessMsOverdue = businessTimeBetween(d.dueAt, now, cal);
    if (d.do === 'reassign') {
      // Baton reassigns on its own twice at most: the first time to the next in the queue, after
      // that to the fallback owner, who then keeps it (escalations go on; no more moves). So a
      // handoff nobody accepts settles instead of going round the queue for ever.
      const fallback = service.transition(row.transitionId)?.fallbackOwnerId;
      const again = row.reassignCount > 0;
      if (again && fallback === row.ownerId) {
        this.deps.log.info({ handoffId: h.id, step: t.step, ownerId: row.ownerId }, 'sla: stays with its fallback owner (reassigned before)');
        return;
      }
      const data: SlaReassignData = { sla: 'auto_reassign', kind: 'accept', step: t.step, breach: true, dueAt: d.dueAt.toISOString(), businessMsOverdue };
      const view = await service.apply(h.id, 'auto_reassign', null, { to: again ? FALLBACK_TARGET : 'queue', data: { ...data }, inTransaction: this.record(t, now) });
      this.deps.log.info({ handoffId: h.id, from: row.ownerId, to: view.owner.id }, 'sla: reassigned after the breach');
      return;
    }

    const step = chainStep(h.policy.escalation.chain, d.level);
    const person = step ? resolveEscalationTarget(step, { ownerId: row.ownerId, teamId: row.teamId }, service.directory) : null;
    const plan = planPhase(d.kind, new Date(t.startedAt), d.dueAt, h.policy);
    const next = plan.find((p) => p.detail.type === 'escalate' && p.detail.level === d.level + 1);
    const reassign = plan.find((p) => p.detail.type === 'reassign');
    const data: SlaEscalationData = {
      sla: 'escalation',
      kind: d.kind,
      step: t.step,
      level: d.level,
      breach: true,
      dueAt: d.dueAt.toISOString(),
      businessMsOverdue,
      target: step ? escalationRole(step) : null,
      escalatedTo: person ? service.personRefById(person.id) : null,
      teamId: row.teamId,
      nextEscalationAt: next ? next.at.toISOString() : null,
      reassignAt: reassign ? reassign.at.toISOString() : null,
    };
    const breach: Prisma.SlaBreachCreateManyInput = {
      handoffId: h.id,
      transitionId: row.transitionId,
      teamId: row.teamId,
      kind: d.kind,
      ownerId: row.ownerId,
      dueAt: d.dueAt,
      firedAt: now,
      level: d.level,
      escalatedToId: person?.id ?? null,
    };
    // An accept breach changes the status (escalated); a first-touch breach leaves the handoff
    // accepted with its owner and is recorded as an annotation (see src/domain/lifecycle.ts).
    const action = d.kind === 'accept' ? 'escalate' : 'sla_breach';
    await service.apply(h.id, action, null, { data: { ...data }, inTransaction: this.record(t, now, breach) });
    this.deps.log.info({ handoffId: h.id, step: t.step, escalatedTo: person?.id ?? null }, 'sla: breach escalated');
  }

  /**
   * The exactly-once guard, inside apply()'s transaction: lock the row and re-check the token (a
   * user may have accepted since we decided), then claim the step in the ledger. Throwing rolls
   * the whole change back.
   */
  private record(t: TimerJobData, now: Date, breach?: Prisma.SlaBreachCreateManyInput): (tx: Tx, h: HandoffRow) => Promise<void> {
    return async (tx) => {
      if ((await this.repo.lockTimerToken(tx, t.handoffId)) !== t.token) throw new StaleTimerError();
      const { count } = await tx.slaFiring.createMany({ data: [{ handoffId: t.handoffId, timerToken: t.token, step: t.step, firedAt: now }], skipDuplicates: true });
      if (count === 0) throw new AlreadyFiredError();
      // Same deadline, same level: already on record (e.g. a reassignment that kept the deadline).
      if (breach) await tx.slaBreach.createMany({ data: [breach], skipDuplicates: true });
    };
  }

  /** End of the latest snooze taken during this phase (snoozes of an earlier owner do not count). */
  private async snoozedUntil(handoffId: number, phaseStartedAt: Date): Promise<Date | null> {
    const e = await this.repo.latestEvent(handoffId, 'snoozed', phaseStartedAt);
    return e ? new Date(e.at.getTime() + snoozeDurationMs({ data: e.data, reasonCode: e.reasonCode })) : null;
  }

  private load(id: number): Promise<SnapshotRow | null> {
    return this.repo.timerState(id);
  }
}

function toSnapshot(r: SnapshotRow): HandoffSnapshot {
  return {
    id: r.id,
    status: r.status as HandoffStatus,
    timerToken: r.timerToken,
    slaAcceptDueAt: r.slaAcceptDueAt,
    slaFirstTouchDueAt: r.slaFirstTouchDueAt,
    firstTouchAt: r.firstTouchAt,
    policy: r.policy as unknown as PolicySnapshot,
  };
}
