/**
 * The weekly digest for one leader: the previous week of their scope (the teams they lead or
 * head; the whole organisation for admins and people who lead no team), headline numbers with the
 * change from the week before, the worst breaches, top rejection reasons, the slowest transition,
 * and an 8-week series per transition for the chart. Pure data; blocks/ renders it per platform.
 */
import { DateTime } from 'luxon';
import type { Database } from '../store/database.js';
import type { Person, Playbook } from '../playbook/schema.js';
import type { PersonRef } from '../domain/view.js';
import { computeKpis, type BreachRow, type KpiReport, type KpiValues } from './kpis.js';

export interface Metric {
  value: number | null;
  previous: number | null;
  /** value − previous, null when either is unknown. */
  change: number | null;
  /** Whether a rise is good news (SLA attainment) or bad (breaches); renderers pick the arrow colour. */
  higherIsBetter: boolean;
}

export interface DigestSeries {
  /** Week starts (yyyy-MM-dd, in the subscriber's zone), oldest first. */
  weeks: string[];
  transitions: { id: string; name: string; breaches: number[]; slaAttainment: (number | null)[] }[];
  /** All transitions of the scope together. */
  overall: { breaches: number[]; slaAttainment: (number | null)[] };
}

export interface DigestView {
  kind: 'weekly';
  subscriber: PersonRef;
  timeZone: string;
  scope: { teamIds: string[] | null; label: string };
  period: { from: string; to: string };
  headline: {
    volume: Metric;
    slaAttainment: Metric;
    acceptP50S: Metric;
    breaches: Metric;
    rejectionRate: Metric;
    reassignmentRate: Metric;
  };
  worstBreaches: BreachRow[];
  topRejectReasons: KpiReport['topRejectReasons'];
  slowestTransition: KpiReport['slowestTransition'];
  series: DigestSeries;
  /** Base URL for links to handoffs, when configured. */
  publicUrl: string | null;
}

/** The teams a person's digest covers: those they lead or head; null = the whole organisation. */
export function digestScope(pb: Playbook, person: Person): { teamIds: string[] | null; label: string } {
  if (pb.admins.includes(person.id)) return { teamIds: null, label: pb.organization.name };
  const teams = pb.teams.filter((t) => t.leadId === person.id || t.headId === person.id);
  if (!teams.length) return { teamIds: null, label: pb.organization.name };
  return { teamIds: teams.map((t) => t.id), label: teams.map((t) => t.name).join(', ') };
}

/** The week before `now` in `zone`: Monday 00:00 to Monday 00:00 local time. */
export function previousWeek(now: Date, zone: string): { from: Date; to: Date } {
  const thisMonday = DateTime.fromJSDate(now, { zone }).startOf('week');
  return { from: thisMonday.minus({ weeks: 1 }).toJSDate(), to: thisMonday.toJSDate() };
}

export async function buildDigest(
  db: Database,
  pb: Playbook,
  person: Person,
  period: { from: Date; to: Date },
  opts: { publicUrl?: string | undefined; asOf?: Date } = {},
): Promise<DigestView> {
  const scope = digestScope(pb, person);
  const report = await computeKpis(db, pb, { from: period.from, to: period.to, teams: scope.teamIds ?? undefined, asOf: opts.asOf ?? period.to });
  const o = report.overall;
  const metric = (pick: (v: KpiValues) => number | null, higherIsBetter: boolean): Metric => {
    const value = pick(o);
    const previous = o.previous ? pick(o.previous) : null;
    return { value, previous, change: value !== null && previous !== null ? value - previous : null, higherIsBetter };
  };
  return {
    kind: 'weekly',
    subscriber: { id: person.id, name: person.name, email: person.email, slackUserId: person.slackUserId, teamsUserId: person.teamsUserId, timeZone: person.timeZone },
    timeZone: person.timeZone,
    scope,
    period: report.period,
    headline: {
      volume: metric((v) => v.volume, true),
      slaAttainment: metric((v) => v.slaAttainment, true),
      acceptP50S: metric((v) => v.acceptWallP50S, false),
      breaches: metric((v) => v.breaches, false),
      rejectionRate: metric((v) => v.rejectionRate, false),
      reassignmentRate: metric((v) => v.reassignmentRate, false),
    },
    worstBreaches: report.breaches.slice(0, 5),
    topRejectReasons: report.topRejectReasons.slice(0, 3),
    slowestTransition: report.slowestTransition,
    series: await weeklySeries(db, pb, scope.teamIds, period.to, person.timeZone, 8),
    publicUrl: opts.publicUrl ?? null,
  };
}

/** Breaches and SLA attainment per transition for the `weeks` weeks ending at `end`. */
export async function weeklySeries(db: Database, pb: Playbook, teamIds: string[] | null, end: Date, zone: string, weeks: number): Promise<DigestSeries> {
  const endLocal = DateTime.fromJSDate(end, { zone });
  const starts = Array.from({ length: weeks }, (_, i) => endLocal.minus({ weeks: weeks - i }));
  const from = starts[0]!.toJSDate();
  // Bucket boundaries are passed in, so DST changes inside the window cannot shift a bucket.
  const bounds = [...starts.map((s) => s.toJSDate()), end];
  const [sla, breaches] = await Promise.all([
    db.sql.query<{ transition_id: string; w: number; measured: number; met: number }>(
      `SELECT h.transition_id, width_bucket(extract(epoch FROM h.created_at), $4::float8[]) - 1 AS w,
              count(*) FILTER (WHERE h.accept_wall_s IS NOT NULL OR h.status IN ('routed','posted','reassigned','escalated') AND h.sla_accept_due_at < $2)::int AS measured,
              count(*) FILTER (WHERE h.accept_wall_s IS NOT NULL AND h.created_at + make_interval(secs => h.accept_wall_s) <= h.sla_accept_due_at
                               AND NOT EXISTS (SELECT 1 FROM sla_breach b WHERE b.handoff_id = h.id AND b.kind = 'accept'))::int AS met
       FROM handoff h
       WHERE h.created_at >= $1 AND h.created_at < $2 AND ($3::text[] IS NULL OR h.team_id = ANY($3))
       GROUP BY 1, 2`,
      [from, end, teamIds, bounds.map((d) => d.getTime() / 1000)],
    ),
    db.sql.query<{ transition_id: string; w: number; n: number }>(
      `SELECT b.transition_id, width_bucket(extract(epoch FROM b.fired_at), $4::float8[]) - 1 AS w, count(*)::int AS n
       FROM sla_breach b
       WHERE b.fired_at >= $1 AND b.fired_at < $2 AND ($3::text[] IS NULL OR b.team_id = ANY($3))
       GROUP BY 1, 2`,
      [from, end, teamIds, bounds.map((d) => d.getTime() / 1000)],
    ),
  ]);
  const transitions = pb.transitions
    .filter((t) => !teamIds || teamIds.includes(t.toTeamId))
    .map((t) => {
      const breachesPerWeek = starts.map((_, w) => breaches.find((r) => r.transition_id === t.id && Number(r.w) === w)?.n ?? 0);
      const attainment = starts.map((_, w) => {
        const r = sla.find((x) => x.transition_id === t.id && Number(x.w) === w);
        return r && r.measured > 0 ? r.met / r.measured : null;
      });
      return { id: t.id, name: t.name, breaches: breachesPerWeek, slaAttainment: attainment };
    });
  const overall = {
    breaches: starts.map((_, w) => breaches.filter((r) => Number(r.w) === w).reduce((n, r) => n + r.n, 0)),
    slaAttainment: starts.map((_, w) => {
      const rows = sla.filter((r) => Number(r.w) === w);
      const measured = rows.reduce((n, r) => n + r.measured, 0);
      return measured > 0 ? rows.reduce((n, r) => n + r.met, 0) / measured : null;
    }),
  };
  return { weeks: starts.map((s) => s.toISODate()!), transitions, overall };
}
