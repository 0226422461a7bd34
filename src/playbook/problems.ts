/**
 * Collecting playbook problems with their YAML positions, and the lenient parsing helpers of the
 * check pass: each section, entity and key is parsed on its own, so one mistake does not hide
 * the others and RevOps fixes them all in one round trip.
 */
import * as z from 'zod';
import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type YAMLError } from 'yaml';
import { PlaybookError, type ErrorDetail } from '../errors.js';
import { closest, describeValue, isRecord } from './format.js';
import { safeParseUntrusted } from '../untrusted.js';
import { PERSON_ID_PATTERN, REQUIRED_MESSAGE, rawErrorMap } from './values.js';

export type Path = (string | number)[];
export type Shape = Record<string, z.ZodType>;
export type Parsed<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

/** Where file-level problems (syntax, empty file, unreadable file) are reported. */
export const FILE_PATH = '(file)';

interface Located {
  detail: ErrorDetail;
  offset: number;
}

export class Problems {
  private readonly found: Located[] = [];
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  get count(): number {
    return this.found.length;
  }

  add(path: Path, message: string): void {
    const offset = this.locate(path);
    const where = offset === undefined ? '' : `(${this.position(offset)}) `;
    this.found.push({ detail: { path: path.length ? path.join('.') : FILE_PATH, message: `${where}${message}` }, offset: offset ?? -1 });
  }

  syntax(err: YAMLError, text: string): void {
    const offset = err.pos[0];
    let message = err.message.split('\n')[0] ?? err.message;
    if (err.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(text.slice(offset))?.[0].trim().replace(/^["']|["']$/g, '');
      message = `duplicate key "${key ?? ''}": each id or key may appear only once in its section`;
    }
    this.found.push({ detail: { path: FILE_PATH, message: `(${this.position(offset)}) ${message}` }, offset });
  }

  zod(issues: readonly z.core.$ZodIssue[], base: Path): void {
    for (const issue of issues) {
      const path = [...base, ...issue.path.map((seg) => (typeof seg === 'number' ? seg : String(seg)))];
      if (issue.code === 'unrecognized_keys') {
        const allowed = issue.message.startsWith('allowed keys: ') ? issue.message.slice('allowed keys: '.length).split(', ') : [];
        for (const key of issue.keys) this.add([...path, key], unknownKeyMessage(key, allowed));
      } else if (issue.message === REQUIRED_MESSAGE) {
        const key = String(path.at(-1) ?? 'value');
        this.add(path, path.length === 1 ? `required section "${key}" is missing` : `"${key}" is required`);
      } else {
        this.add(path, issue.message);
      }
    }
  }

  error(source: string): PlaybookError {
    // File order reads best; problems without a position (missing sections) come first.
    const sorted = [...this.found].sort((a, b) => a.offset - b.offset);
    return new PlaybookError(source, sorted.map((p) => p.detail));
  }

  private position(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `line ${line}, column ${col}`;
  }

  /**
   * Offset of the deepest node on `path` that exists: the key itself for mapping entries
   * (its value may be empty), the item for list entries. A missing key points at its parent.
   */
  private locate(path: Path): number | undefined {
    let node: unknown = this.doc.contents;
    let offset: number | undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        if (isNode(pair.key)) offset = pair.key.range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (!isNode(item)) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else {
        break;
      }
    }
    return offset;
  }
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const hint = closest(key, allowed);
  if (hint !== undefined) return `unknown key "${key}"; did you mean "${hint}"?`;
  return allowed.length ? `unknown key "${key}" (allowed keys: ${allowed.join(', ')})` : `unknown key "${key}"`;
}

// ---------------------------------------------------------------------------------------
// Lenient parsing helpers for the check pass
// ---------------------------------------------------------------------------------------

export function part<T extends z.ZodType>(problems: Problems, schema: T, raw: unknown, path: Path): z.output<T> | undefined {
  const result = safeParseUntrusted(schema, raw, { error: rawErrorMap });
  if (result.success) return result.data;
  problems.zod(result.error.issues, path);
  return undefined;
}

/** Parses each key of a mapping on its own, so a bad value hides nothing else in the entity. */
export function fields<S extends Shape>(
  problems: Problems,
  shape: S,
  raw: unknown,
  path: Path,
  what: string,
  checkedElsewhere: readonly string[] = [],
): Parsed<S> | undefined {
  if (!isRecord(raw)) {
    problems.add(path, raw === null || raw === undefined ? `${what} has no settings` : `expected the settings of ${what}, got ${describeValue(raw)}`);
    return undefined;
  }
  const allowed = Object.keys(shape);
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(shape, key) && !checkedElsewhere.includes(key)) {
      problems.add([...path, key], unknownKeyMessage(key, [...allowed, ...checkedElsewhere]));
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of allowed) {
    const schema = shape[key];
    if (schema === undefined) continue;
    const value = part(problems, schema, raw[key], [...path, key]);
    if (value !== undefined) out[key] = value;
  }
  return out as Parsed<S>;
}

/** The entries of a mapping keyed by id, checking each id's spelling. */
export function entries(problems: Problems, raw: unknown, path: Path, what: string, pattern: RegExp): [string, unknown][] {
  if (raw === undefined || raw === null) return [];
  if (!isRecord(raw)) {
    problems.add(path, `expected ${what}s keyed by id, got ${describeValue(raw)}`);
    return [];
  }
  for (const id of Object.keys(raw)) {
    if (!pattern.test(id)) {
      const rule = pattern === PERSON_ID_PATTERN ? 'lower-case letters, digits, dots, dashes and underscores' : 'lower-case letters, digits and underscores';
      problems.add([...path, id], `"${id}" is not a valid ${what} id: use ${rule}, starting with a letter`);
    }
  }
  return Object.entries(raw);
}

export function items(problems: Problems, raw: unknown, path: Path): unknown[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.add(path, `expected a list, got ${describeValue(raw)}`);
    return [];
  }
  return raw;
}
