/**
 * Handoff KPIs for a period, per transition, per receiving team and overall, with the change from
 * the previous period of the same length. Everything is aggregated in SQL (one GROUPING SETS
 * query per period) over facts fixed on the handoff row when they happen (seconds to accept and
 * to first touch, reassignment count, reject reason), so a week over a million handoffs is an
 * index range scan, never rows loaded into memory.
 */
import type { Database } from '../store/database.js';
import type { Playbook } from '../playbook/schema.js';

export interface KpiFilter {
  from: Date;
  to: Date;
  /** Receiving team id; all teams when absent. */
  team?: string | undefined;
  /** Several receiving teams (a lead's scope); combined with `team` when both are given. */
  teams?: string[] | undefined;
  /** "Now" for open handoffs (waiting time, overdue); defaults to `to`. */
  asOf?: Date;
}

export interface KpiValues {
  volume: number;
  accepted: number;
  /** accepted / volume */
  conversionRate: number | null;
  /** Handoffs whose accept-SLA outcome is known (accepted, or due and not accepted). */
  slaMeasured: number;
  slaMet: number;
  /** slaMet / slaMeasured */
  slaAttainment: number | null;
  acceptWallP50S: number | null;
  acceptWallP90S: number | null;
  acceptBusinessP50S: number | null;
  acceptBusinessP90S: number | null;
  firstTouchWallP50S: number | null;
  firstTouchBusinessP50S: number | null;
  rejected: number;
  rejectionRate: number | null;
  reassigned: number;
  reassignmentRate: number | null;
  completed: number;
  /** Time to value proxy: creation → completed (exit criteria met), median. */
  completeWallP50S: number | null;
  withdrawn: number;
  /** Still awaiting acceptance past the accept deadline. */
  overdueUnaccepted: number;
  /** Total waiting before acceptance: accepted handoffs' wait plus open ones' wait so far. */
  timeLostWallS: number;
  breaches: number;
}

export interface KpiRow extends KpiValues {
  scope: 'overall' | 'transition' | 'team';
  key: string;
  name: string;
  previous: KpiValues | null;
}

export interface BreachRow {
  handoffId: number;
  transition: string;
  team: string;
  kind: string;
  account: string;
  ownerId: string;
  ownerName: string;
  dueAt: string;
  firedAt: string;
  level: number;
  escalatedToId: string | null;
  escalatedToName: string | null;
  /** How late: acceptance (or first touch) time minus due time, or until asOf when still not done. */
  lateS: number;
}

export interface KpiReport {
  period: { from: string; to: string };
  previousPeriod: { from: string; to: string };
  team: string | null;
  overall: KpiRow;
  byTransition: KpiRow[];
  byTeam: KpiRow[];
  topRejectReasons: { transition: string; reasonCode: string; label: string; count: number }[];
  breaches: BreachRow[];
  slowestTransition: { transition: string; name: string; acceptWallP50S: number } | null;
}

interface RawRow {
  g_transition: number;
  g_team: number;
  transition_id: string | null;
  team_id: string | null;
  volume: number;
  accepted: number;
  sla_measured: number;
  sla_met: number;
  accept_wall_p50: number | null;
  accept_wall_p90: number | null;
  accept_business_p50: number | null;
  accept_business_p90: number | null;
  first_touch_wall_p50: number | null;
  first_touch_business_p50: number | null;
  rejected: number;
  reassigned: number;
  completed: number;
  complete_wall_p50: number | null;
  withdrawn: number;
  overdue_unaccepted: number;
  time_lost_wall_s: number;
  breaches: number;
}

const AGGREGATE_SQL = `
WITH h AS (
  SELECT h.transition_id, h.team_id, h.status, h.created_at, h.closed_at, h.accept_wall_s, h.accept_business_s,
         h.first_touch_wall_s, h.first_touch_business_s, h.reassign_count, h.sla_accept_due_at,
         b.breaches, b.accept_breached
  FROM handoff h
  LEFT JOIN LATERAL (
    SELECT count(*)::int AS breaches, bool_or(sb.kind = 'accept') AS accept_breached
    FROM sla_breach sb WHERE sb.handoff_id = h.id
  ) b ON true
  WHERE h.created_at >= $1 AND h.created_at < $2 AND ($3::text[] IS NULL OR h.team_id = ANY($3))
)
SELECT
  GROUPING(transition_id)::int AS g_transition, GROUPING(team_id)::int AS g_team, transition_id, team_id,
  count(*)::int AS volume,
  count(*) FILTER (WHERE accept_wall_s IS NOT NULL)::int AS accepted,
  count(*) FILTER (WHERE accept_wall_s IS NOT NULL OR accept_breached
                   OR (status IN ('routed','posted','reassigned','escalated') AND sla_accept_due_at < $4))::int AS sla_measured,
  count(*) FILTER (WHERE accept_wall_s IS NOT NULL AND NOT coalesce(accept_breached, false)
                   AND created_at + make_interval(secs => accept_wall_s) <= sla_accept_due_at)::int AS sla_met,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_wall_s) AS accept_wall_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY accept_wall_s) AS accept_wall_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_business_s) AS accept_business_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY accept_business_s) AS accept_business_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY first_touch_wall_s) AS first_touch_wall_p50,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY first_touch_business_s) AS first_touch_business_p50,
  count(*) FILTER (WHERE status = 'rejected')::int AS rejected,
  count(*) FILTER (WHERE reassign_count > 0)::int AS reassigned,
  count(*) FILTER (WHERE status = 'completed')::int AS completed,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN status = 'completed' THEN extract(epoch FROM closed_at - created_at) END) AS complete_wall_p50,
  count(*) FILTER (WHERE status = 'withdrawn')::int AS withdrawn,
  count(*) FILTER (WHERE status IN ('routed','posted','reassigned','escalated') AND sla_accept_due_at < $4)::int AS overdue_unaccepted,
  coalesce(sum(CASE WHEN accept_wall_s IS NOT NULL THEN accept_wall_s
                    WHEN status IN ('routed','posted','reassigned','escalated') THEN greatest(0, extract(epoch FROM $4 - created_at))
                    ELSE 0 END), 0)::float8 AS time_lost_wall_s,
  coalesce(sum(breaches), 0)::int AS breaches
FROM h
GROUP BY GROUPING SETS ((transition_id), (team_id), ())`;

export async function computeKpis(db: Database, pb: Playbook, filter: KpiFilter): Promise<KpiReport> {
  const lengthMs = filter.to.getTime() - filter.from.getTime();
  const prevFrom = new Date(filter.from.getTime() - lengthMs);
  const asOf = filter.asOf ?? filter.to;
  const teams = filter.team || filter.teams ? [...(filter.team ? [filter.team] : []), ...(filter.teams ?? [])] : null;
  const team = filter.team ?? (filter.teams?.length === 1 ? filter.teams[0]! : null);
  const [current, previous, reasons, breaches] = await Promise.all([
    db.sql.query<RawRow>(AGGREGATE_SQL, [filter.from, filter.to, teams, asOf]),
    db.sql.query<RawRow>(AGGREGATE_SQL, [prevFrom, filter.from, teams, filter.from]),
    db.sql.query<{ transition_id: string; reject_reason: string; n: number }>(
      `SELECT transition_id, reject_reason, count(*)::int AS n FROM handoff
       WHERE created_at >= $1 AND created_at < $2 AND ($3::text[] IS NULL OR team_id = ANY($3)) AND status = 'rejected' AND reject_reason IS NOT NULL
       GROUP BY transition_id, reject_reason ORDER BY n DESC, transition_id, reject_reason LIMIT 10`,
      [filter.from, filter.to, teams],
    ),
    listBreaches(db, filter.from, filter.to, teams, asOf, 20),
  ]);

  const names = {
    transition: new Map(pb.transitions.map((t) => [t.id, t.name])),
    team: new Map(pb.teams.map((t) => [t.id, t.name])),
  };
  const keyOf = (r: RawRow): { scope: KpiRow['scope']; key: string } =>
    r.g_transition === 0 ? { scope: 'transition', key: r.transition_id ?? '' } : r.g_team === 0 ? { scope: 'team', key: r.team_id ?? '' } : { scope: 'overall', key: 'all' };
  const prevByKey = new Map(previous.map((r) => [`${keyOf(r).scope}:${keyOf(r).key}`, toValues(r)]));
  const rows: KpiRow[] = current.map((r) => {
    const { scope, key } = keyOf(r);
    const name = scope === 'transition' ? names.transition.get(key) ?? key : scope === 'team' ? names.team.get(key) ?? key : 'All handoffs';
    return { scope, key, name, ...toValues(r), previous: prevByKey.get(`${scope}:${key}`) ?? null };
  });
  const overall = rows.find((r) => r.scope === 'overall') ?? { scope: 'overall' as const, key: 'all', name: 'All handoffs', ...emptyValues(), previous: prevByKey.get('overall:all') ?? null };
  const byTransition = rows.filter((r) => r.scope === 'transition').sort((a, b) => order(pb.transitions.map((t) => t.id), a.key, b.key));
  const byTeam = rows.filter((r) => r.scope === 'team').sort((a, b) => order(pb.teams.map((t) => t.id), a.key, b.key));
  const slowest = byTransition.filter((r) => r.acceptWallP50S !== null).sort((a, b) => b.acceptWallP50S! - a.acceptWallP50S!)[0];

  return {
    period: { from: filter.from.toISOString(), to: filter.to.toISOString() },
    previousPeriod: { from: prevFrom.toISOString(), to: filter.from.toISOString() },
    team,
    overall,
    byTransition,
    byTeam,
    topRejectReasons: reasons.map((r) => ({
      transition: r.transition_id,
      reasonCode: r.reject_reason,
      label: pb.transitions.find((t) => t.id === r.transition_id)?.rejectReasons.find((x) => x.code === r.reject_reason)?.label ?? r.reject_reason,
      count: r.n,
    })),
    breaches,
    slowestTransition: slowest ? { transition: slowest.key, name: slowest.name, acceptWallP50S: slowest.acceptWallP50S! } : null,
  };
}

/** Breaches fired in the period, worst (latest acceptance, or still waiting) first. */
export async function listBreaches(db: Database, from: Date, to: Date, teams: string[] | null, asOf: Date, limit: number): Promise<BreachRow[]> {
  const rows = await db.sql.query<{
    handoff_id: number;
    transition_id: string;
    team_id: string;
    kind: string;
    account: string;
    owner_id: string;
    owner_name: string | null;
    due_at: Date;
    fired_at: Date;
    level: number;
    escalated_to_id: string | null;
    escalated_to_name: string | null;
    late_s: number;
  }>(
    `SELECT b.handoff_id, b.transition_id, b.team_id, b.kind, a.name AS account, b.owner_id, p.name AS owner_name,
            b.due_at, b.fired_at, b.level, b.escalated_to_id, e.name AS escalated_to_name,
            extract(epoch FROM coalesce(CASE WHEN b.kind = 'accept' THEN h.accepted_at ELSE h.first_touch_at END, h.closed_at, $4::timestamptz) - b.due_at)::float8 AS late_s
     FROM sla_breach b
     JOIN handoff h ON h.id = b.handoff_id
     JOIN account a ON a.id = h.account_id
     LEFT JOIN person p ON p.id = b.owner_id
     LEFT JOIN person e ON e.id = b.escalated_to_id
     WHERE b.fired_at >= $1 AND b.fired_at < $2 AND ($3::text[] IS NULL OR b.team_id = ANY($3))
     ORDER BY late_s DESC, b.id
     LIMIT $5`,
    [from, to, teams, asOf, limit],
  );
  return rows.map((r) => ({
    handoffId: r.handoff_id,
    transition: r.transition_id,
    team: r.team_id,
    kind: r.kind,
    account: r.account,
    ownerId: r.owner_id,
    ownerName: r.owner_name ?? r.owner_id,
    dueAt: new Date(r.due_at).toISOString(),
    firedAt: new Date(r.fired_at).toISOString(),
    level: r.level,
    escalatedToId: r.escalated_to_id,
    escalatedToName: r.escalated_to_name,
    lateS: Math.max(0, Math.round(Number(r.late_s))),
  }));
}

function toValues(r: RawRow): KpiValues {
  const num = (v: number | string | null) => (v === null ? null : Math.round(Number(v)));
  const rate = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    volume: r.volume,
    accepted: r.accepted,
    conversionRate: rate(r.accepted, r.volume),
    slaMeasured: r.sla_measured,
    slaMet: r.sla_met,
    slaAttainment: rate(r.sla_met, r.sla_measured),
    acceptWallP50S: num(r.accept_wall_p50),
    acceptWallP90S: num(r.accept_wall_p90),
    acceptBusinessP50S: num(r.accept_business_p50),
    acceptBusinessP90S: num(r.accept_business_p90),
    firstTouchWallP50S: num(r.first_touch_wall_p50),
    firstTouchBusinessP50S: num(r.first_touch_business_p50),
    rejected: r.rejected,
    rejectionRate: rate(r.rejected, r.volume),
    reassigned: r.reassigned,
    reassignmentRate: rate(r.reassigned, r.volume),
    completed: r.completed,
    completeWallP50S: num(r.complete_wall_p50),
    withdrawn: r.withdrawn,
    overdueUnaccepted: r.overdue_unaccepted,
    timeLostWallS: Math.round(Number(r.time_lost_wall_s)),
    breaches: r.breaches,
  };
}

function emptyValues(): KpiValues {
  return toValues({
    g_transition: 1, g_team: 1, transition_id: null, team_id: null, volume: 0, accepted: 0, sla_measured: 0, sla_met: 0,
    accept_wall_p50: null, accept_wall_p90: null, accept_business_p50: null, accept_business_p90: null, first_touch_wall_p50: null,
    first_touch_business_p50: null, rejected: 0, reassigned: 0, completed: 0, complete_wall_p50: null, withdrawn: 0, overdue_unaccepted: 0,
    time_lost_wall_s: 0, breaches: 0,
  });
}

function order(ids: string[], a: string, b: string): number {
  return (ids.indexOf(a) + 1 || 1e9) - (ids.indexOf(b) + 1 || 1e9) || a.localeCompare(b);
}

const CSV_COLUMNS: (keyof KpiValues)[] = [
  'volume', 'accepted', 'conversionRate', 'slaMeasured', 'slaMet', 'slaAttainment', 'acceptWallP50S', 'acceptWallP90S', 'acceptBusinessP50S',
  'acceptBusinessP90S', 'firstTouchWallP50S', 'firstTouchBusinessP50S', 'rejected', 'rejectionRate', 'reassigned', 'reassignmentRate',
  'completed', 'completeWallP50S', 'withdrawn', 'overdueUnaccepted', 'timeLostWallS', 'breaches',
];

/** One line per scope; each metric followed by its previous-period value. */
export function kpiCsv(report: KpiReport): string {
  const header = ['scope', 'key', 'name', ...CSV_COLUMNS.flatMap((c) => [c, `${c}Previous`])];
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [header.join(',')];
  for (const r of [report.overall, ...report.byTransition, ...report.byTeam]) {
    lines.push([r.scope, r.key, r.name, ...CSV_COLUMNS.flatMap((c) => [r[c], r.previous?.[c] ?? null])].map(cell).join(','));
  }
  return lines.join('\n') + '\n';
}
