/**
 * What handoff commands accept, parsed at the edge: the intake and action request bodies, and the
 * check that every string in a request can be stored (PostgreSQL refuses NUL and lone surrogates).
 * Errors are InvalidError with one detail per offending path, worded for the person who sent it.
 */
import { z } from 'zod';
import { InvalidError, type ErrorDetail } from '../errors.js';
import { USER_ACTIONS } from '../domain/lifecycle.js';
import { safeParseUntrusted } from '../untrusted.js';

const domainPattern = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const shortText = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const intakeSchema = z
  .object({
    transition: shortText(100),
    account: z
      .object({
        name: shortText(200),
        crmId: shortText(100).optional(),
        domain: z
          .string()
          .trim()
          .toLowerCase()
          .regex(domainPattern, 'must be a domain name like "acme.com"')
          .optional(),
        segment: shortText(100).optional(),
        region: shortText(100).optional(),
      })
      .strict(),
    from: shortText(320),
    to: shortText(320).optional(),
    packet: z.record(z.string(), z.unknown()),
    /** The CRM record that triggered this handoff; retries with the same id return the same handoff. */
    externalId: shortText(200).optional(),
  })
  .strict();
export type IntakeRequest = z.infer<typeof intakeSchema>;

export const actionSchema = z
  .object({
    action: z.enum(USER_ACTIONS, { message: `must be one of ${USER_ACTIONS.join(', ')}` }),
    actor: shortText(320),
    reasonCode: shortText(100).optional(),
    note: z.string().trim().max(3000, 'must be at most 3000 characters').optional(),
    to: shortText(320).optional(),
    /** The version the actor saw; a stale click is refused instead of applied to something else. */
    expectedVersion: z.number().int().positive().optional(),
  })
  .strict();
export type ActionRequest = z.infer<typeof actionSchema>;

/** Turns zod issues into our error details, with dotted paths. */
export function zodDetails(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    if (i.code === 'invalid_type' && /received undefined/.test(i.message)) message = 'is required';
    return { path: path || '(body)', message };
  });
}

export function parseWith<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const unstorable = unstorableText(body);
  if (unstorable.length) throw new InvalidError(`The ${what} is invalid: ${unstorable.map((d) => `${d.path} ${d.message}`).join('; ')}.`, unstorable, 'invalid_text');
  const r = safeParseUntrusted(schema, body);
  if (!r.success) throw new InvalidError(`The ${what} is invalid: ${zodDetails(r.error).map((d) => `${d.path} ${d.message}`).join('; ')}.`, zodDetails(r.error));
  return r.data;
}

const NUL = /\u0000/;
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(s: string): string | undefined {
  if (NUL.test(s)) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (UNPAIRED_SURROGATE.test(s)) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

/**
 * PostgreSQL stores neither NUL in text or jsonb nor an unpaired surrogate: such a value would
 * fail inside the transaction as a 500. Found in a request (keys too), it is refused as invalid
 * input with its path; at most 20 places are reported. Only the first levels are walked: nothing
 * Baton accepts nests deeper, and the schemas refuse deeper structures themselves (a body may
 * nest a hundred thousand levels).
 */
export function unstorableText(value: unknown, root = ''): ErrorDetail[] {
  const MAX_DEPTH = 8;
  const out: ErrorDetail[] = [];
  const stack: [unknown, string, number][] = [[value, root, 0]];
  while (stack.length && out.length < 20) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) out.push({ path: path || '(body)', message: problem });
    } else if (depth < MAX_DEPTH && Array.isArray(v)) {
      for (let i = Math.min(v.length, 1000) - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`, depth + 1]);
    } else if (depth < MAX_DEPTH && v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const keyProblem = textProblem(k);
        if (keyProblem) out.push({ path: path || '(body)', message: `a field name ${keyProblem}` });
        else stack.push([x, path ? `${path}.${k}` : k, depth + 1]);
      }
    }
  }
  return out;
}

/** Query filters reach SQL as parameters; a NUL there is an error in PostgreSQL, so refuse it here. */
export function assertStorableFilter(filter: Record<string, unknown>): void {
  const details = unstorableText(filter);
  if (details.length) throw new InvalidError(`The query is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}.`, details, 'invalid_text');
}
