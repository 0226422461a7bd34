import { z } from 'zod';
import { MalformedError } from './errors.js';

/**
 * zod runs a string's or list's length checks (`.min`, `.max`) on any value that has a `length`
 * property, even after the type check failed. A JSON object such as
 * `{"length": {"toString": {}}}` in place of text therefore makes the comparison throw a
 * TypeError inside `safeParse`, which would surface as a 500 instead of a refusal (the reliability
 * fuzz found it with `reasonCode`). Every schema that reads a request goes through here.
 *
 * The result has zod's shape, so callers keep turning issues into error details as before; when
 * the parse throws, the issues name the objects that carry such a `length`.
 */
export function safeParseUntrusted<S extends z.ZodType>(schema: S, input: unknown, params?: z.core.ParseContext<z.core.$ZodIssue>): z.ZodSafeParseResult<z.output<S>> {
  try {
    return schema.safeParse(input, params) as z.ZodSafeParseResult<z.output<S>>;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    const paths = objectsWithForeignLength(input);
    const issues: z.core.$ZodIssue[] = (paths.length ? paths : [[]]).map((path) => ({
      code: 'custom',
      path,
      input: undefined,
      message: paths.length ? 'expected text or a list, got an object with a "length" field' : `could not be read (${err.message})`,
    }));
    return { success: false, error: new z.ZodError(issues) } as z.ZodSafeParseResult<z.output<S>>;
  }
}

/** Paths (as zod path arrays) of plain objects whose own `length` is not a number; first 8 levels, at most 20. */
export function objectsWithForeignLength(value: unknown): (string | number)[][] {
  const MAX_DEPTH = 8;
  const out: (string | number)[][] = [];
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length && out.length < 20) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object' || path.length >= MAX_DEPTH) continue;
    if (Array.isArray(v)) {
      for (let i = Math.min(v.length, 1000) - 1; i >= 0; i--) stack.push([v[i], [...path, i]]);
      continue;
    }
    if (Object.hasOwn(v, 'length') && typeof (v as { length: unknown }).length === 'object') out.push(path);
    for (const [k, x] of Object.entries(v)) stack.push([x, [...path, k]]);
  }
  return out;
}

/**
 * How deep a request body's JSON may nest. No playbook field, CRM payload or platform activity
 * needs more than a dozen levels; a body nested thousands deep only costs the parser, the
 * validators (which recurse) and the error formatting, and one such body answered 500.
 */
export const JSON_DEPTH_LIMIT = 32;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether `text` (JSON, as bytes or a string) opens more than `limit` arrays or objects inside
 * one another. A raw scan, so that it runs before JSON.parse builds anything: brackets inside
 * strings do not count (escapes honoured), and nothing else about the syntax is checked — the
 * parser that runs next still refuses what is not JSON. Every byte of interest is ASCII, and in
 * UTF-8 no byte of a multi-byte character is below 0x80, so bytes can be scanned as they came.
 */
export function jsonNestedDeeperThan(text: string | Uint8Array, limit: number = JSON_DEPTH_LIMIT): boolean {
  const at: (i: number) => number = typeof text === 'string' ? (i) => text.charCodeAt(i) : (i) => text[i]!;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

/** The refusal for a body that nests too deep; the same words on every route that reads JSON. */
export function tooDeepError(limit: number = JSON_DEPTH_LIMIT): MalformedError {
  return new MalformedError(`The request body nests JSON deeper than ${limit} levels; Baton reads at most ${limit}.`);
}

/**
 * For express.json's `verify` option, which sees the raw body before it is parsed: throws the
 * 400 refusal for a body nested deeper than JSON_DEPTH_LIMIT. (body-parser passes the thrown
 * error on unchanged apart from a `status` and `type`, so the error handler still sees ours.)
 */
export function refuseDeepJson(_req: unknown, _res: unknown, body: Uint8Array): void {
  if (jsonNestedDeeperThan(body)) throw tooDeepError();
}
