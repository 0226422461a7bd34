/**
 * Small wording helpers shared by the playbook loader and packet validation. Messages end up
 * in front of RevOps (playbook errors) and API callers (packet errors), so values are shown
 * the way they would type them, never as `[object Object]`.
 */

const MAX_SHOWN_CHARS = 60;

/** A value as a person would recognise it in a message: strings quoted, long ones cut. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    const cut = value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value;
    return JSON.stringify(cut);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const shown = JSON.stringify(value);
    return shown.length <= MAX_SHOWN_CHARS ? shown : `a list of ${value.length} items`;
  }
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** A literal for rule wording: `"MQL"`, `true`, `25`. */
export function literal(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Closest candidate by edit distance, for "did you mean" hints on typos in ids and keys. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Beyond a third of the word the "suggestion" is a guess, and a wrong hint costs more than none.
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(needle.length / 3)) ? best : undefined;
}

export function didYouMean(input: string, candidates: Iterable<string>): string {
  const hint = closest(input, candidates);
  return hint === undefined ? '' : `; did you mean "${hint}"?`;
}

/** The ids a reference could have named, e.g. ` (teams: sdr, ae)`; empty when there are none. */
export function known(what: string, ids: Iterable<string>): string {
  const list = [...ids];
  return list.length ? ` (${what}: ${list.join(', ')})` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
