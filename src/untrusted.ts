import { z } from 'zod';

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
