/**
 * Every query string the HTTP API reads, as zod schemas. Express hands a route whatever the URL
 * held: a repeated parameter arrives as an array (which once reached `String.split` and answered
 * 500), a bracketed one (`owner[]=`, `a[b]=`) under a name no route reads, and `limit=abc` used
 * to be dropped as if it had not been sent. Here each of those is a 400 that names the parameter,
 * and a route receives only typed values it asked for.
 */
import * as z from 'zod';
import { BadQueryError, type ErrorDetail } from '../errors.js';
import { STATUSES } from '../domain/lifecycle.js';
import { describeValue } from '../playbook/format.js';

/** What Express's "simple" query parser (node:querystring) produces. */
export type RawQuery = Record<string, unknown>;

export interface QuerySpec<S extends z.ZodRawShape> {
  /** One schema per parameter, over its single (non-empty) string value. */
  shape: S;
  /** Added to the "given N times" message, e.g. how to ask for several values at once. */
  repeatHint?: Partial<Record<keyof S, string>>;
  /**
   * Parameters the route does not read pass when true. Only for URLs another system builds and
   * may tag with its own parameters (a CRM workflow's webhook URL); Baton's own API refuses them
   * so that a misspelt filter is not silently a list of everything.
   */
  allowUnknown?: boolean;
}

/** Filter values are names and keys; nothing longer is meaningful, and the log stays small. */
const name = z.string().max(200, { error: 'must be at most 200 characters' });

const wholeNumber = (min: number, max: number, what: string) =>
  z.string().transform((raw, ctx) => {
    const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
    ctx.issues.push({ code: 'custom', input: raw, message: `expected ${what}, got ${describeValue(raw)}` });
    return z.NEVER;
  });

/** An ISO date (midnight UTC) or date-time with an offset. */
const isoDate = z.string().transform((raw, ctx) => {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : z.iso.datetime({ offset: true }).safeParse(raw).success ? new Date(raw) : undefined;
  if (d && !Number.isNaN(d.getTime())) return d;
  ctx.issues.push({ code: 'custom', input: raw, message: `expected an ISO date like 2026-11-23 or 2026-11-23T00:00:00Z, got ${describeValue(raw)}` });
  return z.NEVER;
});

const STATUS_WORDS = ['open', 'awaiting', ...STATUSES] as const;
/** `status=open,accepted`: a comma-separated list of statuses, or `open` / `awaiting`. */
const statusList = z.string().transform((raw, ctx) => {
  const wanted = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((s) => !(STATUS_WORDS as readonly string[]).includes(s));
  if (unknown.length === 0 && wanted.length > 0) return wanted;
  ctx.issues.push({ code: 'custom', input: raw, message: `unknown status ${unknown.map((s) => describeValue(s)).join(', ') || describeValue(raw)}; use ${STATUS_WORDS.join(', ')} (comma-separated for several)` });
  return z.NEVER;
});

export const LIST_LIMIT_MAX = 200;

export const handoffListQuery = {
  shape: {
    status: statusList.optional(),
    owner: name.optional(),
    account: name.optional(),
    transition: name.optional(),
    team: name.optional(),
    limit: wholeNumber(1, LIST_LIMIT_MAX, `a whole number from 1 to ${LIST_LIMIT_MAX}`).optional(),
    before: wholeNumber(1, 2 ** 31 - 1, 'a handoff id (a whole number)').optional(),
  },
  repeatHint: { status: 'several statuses: status=open,accepted' },
} satisfies QuerySpec<z.ZodRawShape>;

export const kpiQuery = {
  shape: {
    from: isoDate.optional(),
    to: isoDate.optional(),
    team: name.optional(),
    format: z.enum(['json', 'csv'], { error: (iss) => `must be json or csv, got ${describeValue(iss.input)}` }).optional(),
  },
} satisfies QuerySpec<z.ZodRawShape>;

/** The CRM webhooks read `?transition=`; the rest of the URL is the CRM admin's (and is signed). */
export const webhookQuery = {
  shape: { transition: name.optional() },
  allowUnknown: true,
} satisfies QuerySpec<z.ZodRawShape>;

/**
 * The parameters of `raw` as the spec's schemas read them, or a BadQueryError naming every
 * parameter that is repeated, bracketed, unknown or malformed. An empty value (`?owner=`, as an
 * HTML form sends an empty field) counts as not given.
 */
export function parseQuery<S extends z.ZodRawShape>(spec: QuerySpec<S>, raw: RawQuery): z.output<z.ZodObject<S>> {
  const known = Object.keys(spec.shape);
  const details: ErrorDetail[] = [];
  const single: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const base = key.replace(/\[.*$/, '');
    if (/[[\]]/.test(key)) {
      if (known.includes(base) || !spec.allowUnknown) details.push({ path: key, message: `a parameter written as a list or object is not understood; send ${base || 'name'}=value` });
    } else if (!known.includes(key)) {
      if (!spec.allowUnknown) details.push({ path: key, message: `unknown parameter; this route takes ${known.join(', ')}` });
    } else if (Array.isArray(value)) {
      const hint = spec.repeatHint?.[key as keyof S];
      details.push({ path: key, message: `given ${value.length} times; send it once${hint ? ` (${hint})` : ''}` });
    } else if (typeof value === 'string') {
      if (value !== '') single[key] = value;
    } else {
      details.push({ path: key, message: `could not be read (got ${describeValue(value)})` });
    }
  }
  const parsed = z.object(spec.shape).safeParse(single);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) details.push({ path: issue.path.map(String).join('.'), message: issue.message });
  }
  if (details.length || !parsed.success) {
    throw new BadQueryError(`The query string is not valid: ${details.map((d) => `${d.path} (${d.message})`).join('; ')}.`, details);
  }
  return parsed.data;
}
