/**
 * What both platforms' cards read the same way: the SLA engine's nudge/escalation event data, and
 * a packet value as plain text. Pure functions, no platform syntax (each builder escapes for its own).
 */

/** What the SLA engine puts in `data` of nudge/escalation events; read defensively (any field may be absent). */
export interface SlaEventData {
  kind?: string;
  point?: string;
  dueAt?: string;
  level?: number;
  escalatedTo?: { id: string; name: string };
}

export function readSlaData(data: unknown): SlaEventData {
  if (typeof data !== 'object' || data === null) return {};
  const d = data as Record<string, unknown>;
  const out: SlaEventData = {};
  if (typeof d.kind === 'string') out.kind = d.kind;
  if (typeof d.point === 'string' || typeof d.point === 'number') out.point = String(d.point);
  if (typeof d.dueAt === 'string' && !Number.isNaN(Date.parse(d.dueAt))) out.dueAt = d.dueAt;
  if (typeof d.level === 'number' && Number.isFinite(d.level)) out.level = d.level;
  const to = d.escalatedTo;
  if (typeof to === 'object' && to !== null) {
    const t = to as Record<string, unknown>;
    if (typeof t.id === 'string') out.escalatedTo = { id: t.id, name: typeof t.name === 'string' ? t.name : t.id };
  }
  return out;
}

/** A packet value that is not a list, as text: booleans Yes/No, anything that is not text as JSON. */
export function scalarText(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}
