/**
 * What both platforms' cards read the same way: the SLA engine's nudge/escalation event data, and
 * the packet as entries of plain text (the one packet presenter: Slack's card and Full packet
 * modal and Teams' cards all list it through `packetEntries`). Pure functions, no platform syntax:
 * each builder only escapes for its own.
 */
import type { HandoffView } from '../src/domain/view.js';
import type { FieldType, Transition } from '../src/playbook/schema.js';

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

export interface PacketEntry {
  key: string;
  /** The playbook field's label; the key for a value the transition does not define. */
  label: string;
  /** The field's type in the playbook; undefined for a key it does not define. */
  type: FieldType | undefined;
  /** A list value: one item per entry of it. */
  list: boolean;
  /** Long values (text and list fields, any list, text over 120 characters, objects) get room of their own; short ones can share a grid. */
  long: boolean;
  /** Unescaped display text, one per list item (one in all for anything else). */
  items: string[];
  /** Unescaped display text of the whole value: list items as "• " lines. */
  text: string;
}

/** A value with nothing to show: absent, null, blank text, or a list of only such values. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v.trim() === '';
  return Array.isArray(v) && v.every(isEmpty);
}

function isLong(v: unknown): boolean {
  return Array.isArray(v) || (typeof v === 'string' && v.length > 120) || (typeof v === 'object' && v !== null);
}

/**
 * The packet in the playbook's field order, then any keys the transition does not define (labelled
 * by their key), as display text. Empty values (and empty list items) are left out; booleans read
 * Yes/No; anything that is not text is shown as JSON.
 */
export function packetEntries(view: Pick<HandoffView, 'packet'>, transition: Pick<Transition, 'packet'> | undefined): PacketEntry[] {
  const out: PacketEntry[] = [];
  const seen = new Set<string>();
  for (const f of transition?.packet ?? []) {
    seen.add(f.key);
    const v = view.packet[f.key];
    if (!isEmpty(v)) out.push(entry(f.key, f.label, f.type, v));
  }
  for (const [key, v] of Object.entries(view.packet)) {
    if (!seen.has(key) && !isEmpty(v)) out.push(entry(key, key, undefined, v));
  }
  return out;
}

function entry(key: string, label: string, type: FieldType | undefined, v: unknown): PacketEntry {
  const long = type === 'text' || type === 'list' || isLong(v);
  if (Array.isArray(v)) {
    const items = v.filter((x) => !isEmpty(x)).map(scalarText);
    return { key, label, type, list: true, long, items, text: items.map((i) => `• ${i}`).join('\n') };
  }
  const text = scalarText(v);
  return { key, label, type, list: false, long, items: [text], text };
}
