/**
 * The monthly review for playbook admins — the input to "update criteria, templates and
 * training": failures grouped by transition and reason, the packet fields most often named in
 * rejection notes, and breaches by step. SQL aggregates only.
 */
import type { Database } from '../store/database.js';
import type { Playbook } from '../playbook/schema.js';

export interface MonthlyReview {
  period: { from: string; to: string };
  failures: { transition: string; transitionName: string; outcome: 'rejected' | 'withdrawn'; reasonCode: string | null; reasonLabel: string | null; count: number }[];
  fieldsNamedInRejections: { transition: string; field: string; label: string; count: number }[];
  breachesByStep: { transition: string; transitionName: string; kind: string; level: number; count: number; medianLateS: number | null }[];
}

export async function monthlyReview(db: Database, pb: Playbook, from: Date, to: Date): Promise<MonthlyReview> {
  const tName = (id: string) => pb.transitions.find((t) => t.id === id)?.name ?? id;
  // Field keys and labels per transition, matched case-insensitively against rejection notes.
  const fields = pb.transitions.flatMap((t) => t.packet.map((f) => ({ t: t.id, key: f.key, label: f.label })));
  const [failures, named, breaches] = await Promise.all([
    db.sql.query<{ transition_id: string; status: 'rejected' | 'withdrawn'; reject_reason: string | null; n: number }>(
      `SELECT transition_id, status, reject_reason, count(*)::int AS n FROM handoff
       WHERE closed_at >= $1 AND closed_at < $2 AND status IN ('rejected', 'withdrawn')
       GROUP BY transition_id, status, reject_reason ORDER BY n DESC, transition_id`,
      [from, to],
    ),
    fields.length
      ? db.sql.query<{ transition_id: string; key: string; label: string; n: number }>(
          `WITH f AS (SELECT * FROM unnest($3::text[], $4::text[], $5::text[]) AS f(transition_id, key, label))
           SELECT f.transition_id, f.key, f.label, count(*)::int AS n
           FROM handoff_event e JOIN handoff h ON h.id = e.handoff_id JOIN f ON f.transition_id = h.transition_id
           WHERE e.type = 'rejected' AND e.at >= $1 AND e.at < $2 AND e.note IS NOT NULL
             AND (position(lower(f.label) IN lower(e.note)) > 0 OR position(lower(f.key) IN lower(e.note)) > 0)
           GROUP BY f.transition_id, f.key, f.label ORDER BY n DESC, f.transition_id, f.key LIMIT 15`,
          [from, to, fields.map((f) => f.t), fields.map((f) => f.key), fields.map((f) => f.label)],
        )
      : Promise.resolve([]),
    db.sql.query<{ transition_id: string; kind: string; level: number; n: number; late: number | null }>(
      `SELECT b.transition_id, b.kind, b.level, count(*)::int AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(CASE WHEN b.kind = 'accept' THEN h.accepted_at ELSE h.first_touch_at END, h.closed_at, $2::timestamptz) - b.due_at)) AS late
       FROM sla_breach b JOIN handoff h ON h.id = b.handoff_id
       WHERE b.fired_at >= $1 AND b.fired_at < $2
       GROUP BY b.transition_id, b.kind, b.level ORDER BY n DESC, b.transition_id, b.kind, b.level`,
      [from, to],
    ),
  ]);
  return {
    period: { from: from.toISOString(), to: to.toISOString() },
    failures: failures.map((f) => ({
      transition: f.transition_id,
      transitionName: tName(f.transition_id),
      outcome: f.status,
      reasonCode: f.reject_reason,
      reasonLabel: f.reject_reason ? pb.transitions.find((t) => t.id === f.transition_id)?.rejectReasons.find((r) => r.code === f.reject_reason)?.label ?? f.reject_reason : null,
      count: f.n,
    })),
    fieldsNamedInRejections: named.map((n) => ({ transition: n.transition_id, field: n.key, label: n.label, count: n.n })),
    breachesByStep: breaches.map((b) => ({
      transition: b.transition_id,
      transitionName: tName(b.transition_id),
      kind: b.kind,
      level: b.level,
      count: b.n,
      medianLateS: b.late === null ? null : Math.max(0, Math.round(Number(b.late))),
    })),
  };
}
