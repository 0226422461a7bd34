/**
 * Single values of the playbook file, shared by every section: id spellings, dates, durations,
 * time zones and regular expressions, the zod building blocks that read them, and the error map
 * that words zod's problems for a RevOps editor.
 *
 * The zod schemas check everything that can be judged from one value on its own. Checks that
 * need the whole file (does this person exist, is this packet field defined) live with each
 * section's check functions and run from load.ts.
 */
import * as z from 'zod';
import { DateTime, IANAZone } from 'luxon';
import { parseDuration } from '../sla/businessTime.js';
import { describeValue } from './format.js';

/** Ids of stages, teams, transitions, packet fields and reject reasons: they appear in URLs, API keys and Slack action ids. */
export const ID_PATTERN = /^[a-z][a-z0-9_]*$/;
/** Person ids may also use dots and dashes, so "dana.whitfield" works; never "@", which marks an email. */
export const PERSON_ID_PATTERN = /^[a-z][a-z0-9_.-]*$/;

const LOCAL_DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function isLocalDate(value: string): boolean {
  return LOCAL_DATE_PATTERN.test(value) && DateTime.fromFormat(value, 'yyyy-MM-dd', { zone: 'utc' }).isValid;
}

/** Epoch ms of an ISO date (UTC midnight) or date-time; undefined when not one. */
export function isoMillis(value: string): number | undefined {
  if (LOCAL_DATE_PATTERN.test(value)) {
    const date = DateTime.fromFormat(value, 'yyyy-MM-dd', { zone: 'utc' });
    return date.isValid ? date.toMillis() : undefined;
  }
  if (!value.includes('T')) return undefined;
  const dateTime = DateTime.fromISO(value, { zone: 'utc' });
  return dateTime.isValid ? dateTime.toMillis() : undefined;
}

export function localDateProblem(value: string): string | undefined {
  if (isLocalDate(value)) return undefined;
  return LOCAL_DATE_PATTERN.test(value)
    ? `"${value}" is not a real calendar date`
    : `expected a date like 2026-12-25, got ${describeValue(value)}`;
}

/** `/pattern/flags` lets editors ask for case-insensitive matching; a bare string is the pattern itself. */
export function compilePattern(source: string): RegExp {
  const slashed = /^\/(.*)\/([dgimsuvy]*)$/s.exec(source);
  return slashed ? new RegExp(slashed[1] ?? '', slashed[2]) : new RegExp(source);
}

/** Marks "key absent" issues so Problems can word them with the key's name. */
export const REQUIRED_MESSAGE = '\u0000required';

const NOUNS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value lines)',
  record: 'a mapping (key: value lines)',
};

/**
 * Per-parse error map for the raw schemas: zod's defaults ("Invalid input: expected string,
 * received number") read like a stack trace to a RevOps editor.
 */
export const rawErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return REQUIRED_MESSAGE;
      return `expected ${NOUNS[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'string') return 'must not be empty';
      if (iss.origin === 'array' || iss.origin === 'set') return `needs at least ${min} ${min === 1 ? 'entry' : 'entries'}`;
      return `must be ${iss.inclusive ? 'at least' : 'greater than'} ${min}, got ${describeValue(iss.input)}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'string') return `must be at most ${max} characters`;
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at most ${max} entries`;
      return `must be ${iss.inclusive ? 'at most' : 'less than'} ${max}, got ${describeValue(iss.input)}`;
    }
    case 'invalid_value':
      return `expected one of ${iss.values.map(String).join(', ')}, got ${describeValue(iss.input)}`;
    case 'invalid_format':
      if (iss.format === 'email') return `expected an email address, got ${describeValue(iss.input)}`;
      if (iss.format === 'guid' || iss.format === 'uuid') return `expected an id like "6f1c2a9e-3b7d-4c55-9a0e-2d8b51f0c4aa", got ${describeValue(iss.input)}`;
      return `expected ${iss.format}, got ${describeValue(iss.input)}`;
    default:
      return undefined;
  }
};

/** Strict objects name the keys they accept, so a typo ("firstTuch") can be pointed at. */
export function strict<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `allowed keys: ${Object.keys(shape).join(', ')}` : undefined),
  });
}

export function text(noun: string) {
  return z
    .string({
      error: (iss) =>
        iss.code === 'invalid_type' && iss.input !== undefined ? `expected ${noun}, got ${describeValue(iss.input)}` : undefined,
    })
    .trim()
    .min(1);
}

export function matching(pattern: RegExp, hint: string) {
  return z.string({ error: (iss) => (iss.input === undefined ? undefined : `${hint}, got ${describeValue(iss.input)}`) }).trim().regex(pattern);
}

export function addProblem(ctx: z.core.$RefinementCtx, message: string, path?: PropertyKey[]): void {
  ctx.addIssue({ code: 'custom', message, ...(path ? { path } : {}) });
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs a parser whose errors are worded for the editor (durations, business hours), reporting its error as the value's problem. */
export function parseOrReport<T>(parse: (spec: string) => T, spec: string, ctx: z.core.$RefinementCtx): T {
  try {
    return parse(spec);
  } catch (err) {
    addProblem(ctx, errorText(err));
    return z.NEVER;
  }
}

/** One value a criterion compares with or a CRM mapping sets: text, a number, true or false. */
export const scalarSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: (iss) => `expected a single value (text, number, true or false), got ${describeValue(iss.input)}`,
});

export const idRefSchema = text('an id');
export const personRefSchema = text('a person id or email');

export const durationSchema = z
  .string({
    error: (iss) =>
      iss.input === undefined ? undefined : `expected a duration like "4h" or "30m", got ${describeValue(iss.input)}`,
  })
  .transform((spec, ctx) => parseOrReport(parseDuration, spec, ctx));

export const timeZoneSchema = z
  .string({ error: (iss) => (iss.input === undefined ? undefined : `expected a time zone like "Europe/London", got ${describeValue(iss.input)}`) })
  .trim()
  .refine((zone) => IANAZone.isValidZone(zone), {
    error: (iss) => `unknown time zone ${describeValue(iss.input)}; use an IANA name such as "America/New_York" or "Europe/London"`,
  });

export const localDateSchema = z
  .string({ error: (iss) => (iss.input === undefined ? undefined : `expected a date like 2026-12-25, got ${describeValue(iss.input)}`) })
  .trim()
  .superRefine((value, ctx) => {
    const problem = localDateProblem(value);
    if (problem) addProblem(ctx, problem);
  });
