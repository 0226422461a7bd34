/**
 * Recurring digests as Agenda jobs: the weekly breach digest for each subscriber at their local
 * day and time (playbook `digest`), and the monthly review for playbook admins on the 1st.
 *
 * Exactly once per subscriber and period: a firing writes its `digest_send` row and an outbox
 * event (`digest.weekly` / `digest.monthly`) in one transaction; a duplicate job, a retry or a
 * second instance hits the row's primary key and does nothing. Platforms deliver from the outbox.
 * Each job's key names its period, so re-arming at every start-up never creates a second job.
 */
import { DateTime } from 'luxon';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Database } from './store/database.js';
import type { Playbook, Person } from './playbook/schema.js';
import type { JobScheduler, RunningJob } from './jobs/scheduler.js';
import type { OutboxConsumer } from './outbox.js';
import { writeEvent, type DigestDue } from './events.js';
import { previousWeek } from './reports/digest.js';

export const WEEKLY_DIGEST_JOB = 'digest.weekly';
export const MONTHLY_REVIEW_JOB = 'digest.monthly';

/** Outbox payload of `digest.weekly` and `digest.monthly`. */
export type { DigestDue } from './events.js';

type DigestJobData = { personId: string; periodFrom: string; periodTo: string };

export interface DigestSchedulerDeps {
  db: Database;
  playbook: Playbook;
  jobs: JobScheduler;
  clock: Clock;
  log: Logger;
  consumers: () => readonly OutboxConsumer[];
  afterCommit?: () => void;
}

export class DigestScheduler {
  constructor(private readonly deps: DigestSchedulerDeps) {}

  /** Registers the job handlers; call before the scheduler starts. */
  register(): void {
    this.deps.jobs.define<DigestJobData>(WEEKLY_DIGEST_JOB, (job) => this.fire('weekly', job));
    this.deps.jobs.define<DigestJobData>(MONTHLY_REVIEW_JOB, (job) => this.fire('monthly', job));
  }

  /** Arms the next digest of every subscriber and the next monthly review of every admin. */
  async armAll(): Promise<void> {
    for (const p of await this.subscribers()) await this.armWeekly(p);
    for (const id of this.deps.playbook.admins) {
      const p = this.person(id);
      if (p?.active) await this.armMonthly(p);
    }
  }

  /** People who get the weekly digest: the playbook's list, overridden by chat subscriptions. */
  async subscribers(): Promise<Person[]> {
    const rows = await this.deps.db.prisma.digestSubscription.findMany();
    const override = new Map(rows.map((r) => [r.personId, r.subscribed]));
    const ids = new Set(this.deps.playbook.digest.subscribers.filter((id) => override.get(id) !== false));
    for (const r of rows) if (r.subscribed) ids.add(r.personId);
    return [...ids].map((id) => this.person(id)).filter((p): p is Person => Boolean(p?.active));
  }

  async setSubscription(personId: string, subscribed: boolean): Promise<{ subscribed: boolean; nextAt: Date | null }> {
    await this.deps.db.prisma.digestSubscription.upsert({ where: { personId }, create: { personId, subscribed }, update: { subscribed } });
    const p = this.person(personId);
    if (!p) return { subscribed, nextAt: null };
    if (subscribed) return { subscribed, nextAt: await this.armWeekly(p) };
    await this.deps.jobs.cancel({ name: WEEKLY_DIGEST_JOB, match: { personId } });
    return { subscribed, nextAt: null };
  }

  async isSubscribed(personId: string): Promise<boolean> {
    return (await this.subscribers()).some((p) => p.id === personId);
  }

  /** The next weekly send time for a person: the playbook's day and time in their own zone. */
  nextWeeklyAt(p: Person, after: Date): Date {
    const { day, time } = this.deps.playbook.digest;
    const [hh, mm] = time.split(':').map(Number);
    const local = DateTime.fromJSDate(after, { zone: p.timeZone });
    let at = local.set({ weekday: day, hour: hh!, minute: mm!, second: 0, millisecond: 0 });
    if (at <= local) at = at.plus({ weeks: 1 });
    return at.toJSDate();
  }

  private async armWeekly(p: Person): Promise<Date> {
    const runAt = this.nextWeeklyAt(p, this.deps.clock.now());
    const period = previousWeek(runAt, p.timeZone);
    await this.deps.jobs.schedule<DigestJobData>({
      name: WEEKLY_DIGEST_JOB,
      key: `digest:weekly:${p.id}:${period.from.toISOString()}`,
      runAt,
      data: { personId: p.id, periodFrom: period.from.toISOString(), periodTo: period.to.toISOString() },
    });
    return runAt;
  }

  private async armMonthly(p: Person): Promise<Date> {
    const zone = this.deps.playbook.organization.timeZone;
    const [hh, mm] = this.deps.playbook.digest.time.split(':').map(Number);
    const local = DateTime.fromJSDate(this.deps.clock.now(), { zone });
    let at = local.startOf('month').set({ hour: hh!, minute: mm! });
    if (at <= local) at = at.plus({ months: 1 });
    const from = at.minus({ months: 1 }).startOf('month');
    await this.deps.jobs.schedule<DigestJobData>({
      name: MONTHLY_REVIEW_JOB,
      key: `digest:monthly:${p.id}:${from.toUTC().toISO()}`,
      runAt: at.toJSDate(),
      data: { personId: p.id, periodFrom: from.toJSDate().toISOString(), periodTo: at.startOf('month').toJSDate().toISOString() },
    });
    return at.toJSDate();
  }

  private async fire(kind: 'weekly' | 'monthly', job: RunningJob<DigestJobData>): Promise<void> {
    const { personId, periodFrom, periodTo } = job.data;
    const now = this.deps.clock.now();
    const sent = await this.deps.db.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO digest_send (person_id, kind, period_start, sent_at) VALUES (${personId}, ${kind}, ${new Date(periodFrom)}, ${now})
        ON CONFLICT DO NOTHING`;
      if (inserted === 0) return false;
      const payload: DigestDue = { personId, kind, periodFrom, periodTo };
      await writeEvent(tx, this.deps.consumers(), { handoffId: null, type: `digest.${kind}`, payload }, now);
      return true;
    });
    if (sent) {
      this.deps.afterCommit?.();
      this.deps.log.info({ personId, kind, periodFrom }, 'digest due; queued for delivery');
    } else {
      this.deps.log.info({ personId, kind, periodFrom }, 'digest already sent for this period; skipped');
    }
    // Arm the following period whether or not this one was a duplicate.
    const p = this.person(personId);
    if (!p?.active) return;
    if (kind === 'weekly' && (await this.isSubscribed(personId))) await this.armWeekly(p);
    if (kind === 'monthly' && this.deps.playbook.admins.includes(personId)) await this.armMonthly(p);
  }

  private person(id: string): Person | undefined {
    return this.deps.playbook.people.find((p) => p.id === id);
  }
}
