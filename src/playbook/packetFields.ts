/**
 * Packet fields and entry criteria as a transition declares them: their YAML form, the checks
 * that need the whole transition (does a criterion read a field that exists, with a value of the
 * field's kind; do the examples meet the criteria), and the normalised packet fields.
 * Validating a handoff's packet against them at run time is packet.ts.
 */
import * as z from 'zod';
import { describeValue, didYouMean, isRecord, known, literal } from './format.js';
import { evaluateEntryCriteria, fieldValueSchema } from './packet.js';
import { entries, fields, type Path, type Problems } from './problems.js';
import { ACCOUNT_FIELDS, CRITERION_OPS, FIELD_TYPES, TEXT_MAX_CHARS, type CriterionOp, type EntryCriterion, type PacketField } from './schema.js';
import { addProblem, compilePattern, errorText, ID_PATTERN, isoMillis, scalarSchema, strict, text } from './values.js';

export const packetFieldShape = {
  label: text('a label'),
  type: z.enum(FIELD_TYPES),
  required: z.boolean().default(true),
  description: text('a description'),
  values: z.array(text('an option')).optional(),
  maxLength: z
    .number({ error: (iss) => (iss.input === undefined ? undefined : `expected a whole number of characters, got ${describeValue(iss.input)}`) })
    .int({ error: (iss) => `expected a whole number of characters, got ${describeValue(iss.input)}` })
    .min(1, { error: 'must be at least 1' })
    .max(TEXT_MAX_CHARS, { error: `must be at most ${TEXT_MAX_CHARS.toLocaleString('en')} (the most a card or form shows)` })
    .optional(),
  // Presence is enforced separately: zod treats a missing key of an `unknown` schema as fine.
  example: z.unknown(),
};
export const packetFieldSchema = strict(packetFieldShape);

function listOfValues(op: string) {
  return z
    .array(scalarSchema, {
      error: (iss) => (iss.input === undefined ? undefined : `"${op}" needs a list of values like [A, B], got ${describeValue(iss.input)}`),
    })
    .min(1);
}

const comparableSchema = z.union([z.number(), z.string()], {
  error: (iss) => `expected a number or a date like 2026-01-31, got ${describeValue(iss.input)}`,
});

export const criterionSchema = strict({
  field: text('a field such as packet.icp_fit or account.region'),
  equals: scalarSchema.optional(),
  notEquals: scalarSchema.optional(),
  in: listOfValues('in').optional(),
  notIn: listOfValues('notIn').optional(),
  exists: z.boolean().optional(),
  gte: comparableSchema.optional(),
  lte: comparableSchema.optional(),
  gt: comparableSchema.optional(),
  lt: comparableSchema.optional(),
  matches: z.string().optional(),
  message: text('a message').optional(),
}).transform((raw, ctx): EntryCriterion => {
  const ops = CRITERION_OPS.filter((op) => raw[op] !== undefined);
  const op = ops[0];
  if (op === undefined || ops.length > 1) {
    addProblem(
      ctx,
      op === undefined
        ? `say what to check: add one of ${CRITERION_OPS.join(', ')}`
        : `use one check per criterion, found ${ops.join(' and ')}; split it into separate criteria`,
    );
    return z.NEVER;
  }
  const value = raw[op];
  if ((op === 'gte' || op === 'lte' || op === 'gt' || op === 'lt') && typeof value === 'string' && isoMillis(value) === undefined) {
    addProblem(ctx, `"${op}" needs a number or a date like 2026-01-31, got ${describeValue(value)}`, [op]);
    return z.NEVER;
  }
  if (op === 'matches' && typeof value === 'string') {
    try {
      compilePattern(value);
    } catch (err) {
      addProblem(ctx, `not a valid regular expression: ${errorText(err)}`, [op]);
      return z.NEVER;
    }
  }
  return { field: raw.field, op, value, message: raw.message ?? describeCriterion(op, value) };
});

/** Default wording of a criterion, e.g. `must equal "MQL"`, `must be on or after 2026-01-01`. */
export function describeCriterion(op: CriterionOp, value: unknown): string {
  const isDate = typeof value === 'string';
  const list = Array.isArray(value) ? value.map(literal).join(', ') : literal(value);
  switch (op) {
    case 'equals':
      return `must equal ${list}`;
    case 'notEquals':
      return `must not equal ${list}`;
    case 'in':
      return `must be one of ${list}`;
    case 'notIn':
      return `must not be one of ${list}`;
    case 'exists':
      return value === false ? 'must be absent' : 'must be present';
    case 'gte':
      return isDate ? `must be on or after ${String(value)}` : `must be at least ${list}`;
    case 'lte':
      return isDate ? `must be on or before ${String(value)}` : `must be at most ${list}`;
    case 'gt':
      return isDate ? `must be after ${String(value)}` : `must be greater than ${list}`;
    case 'lt':
      return isDate ? `must be before ${String(value)}` : `must be less than ${list}`;
    case 'matches':
      return `must match ${String(value)}`;
  }
}

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

/** `exampleOk` is false when the example is missing or does not fit, so criteria checks on it would only repeat that. */
export type DraftField = PacketField & { exampleOk: boolean };
/** A transition's packet fields as far as they could be read; undefined when the packet is unusable. */
export type DraftPacket = Map<string, DraftField | undefined> | undefined;

/**
 * Packet fields one by one; undefined when the packet itself is unusable. A field that is
 * present but broken maps to undefined, so criteria on it are not also called unknown.
 */
export function checkPacket(problems: Problems, raw: unknown, path: Path): Map<string, DraftField | undefined> | undefined {
  if (raw === undefined || raw === null) {
    problems.add(path, '"packet" is required: list the fields this handoff must carry');
    return undefined;
  }
  const found = entries(problems, raw, path, 'packet field', ID_PATTERN);
  if (!isRecord(raw)) return undefined;
  if (found.length === 0) problems.add(path, 'a handoff packet needs at least one field');
  const packet = new Map<string, DraftField | undefined>();
  for (const [key, rawField] of found) {
    const fieldPath = [...path, key];
    packet.set(key, undefined);
    const f = fields(problems, packetFieldShape, rawField, fieldPath, `packet field "${key}"`);
    if (!f || f.label === undefined || f.type === undefined || f.description === undefined) continue;
    const field: DraftField = {
      key,
      label: f.label,
      type: f.type,
      required: f.required ?? true,
      description: f.description,
      ...(f.values ? { values: f.values } : {}),
      ...(f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
      example: f.example,
      exampleOk: false,
    };
    if (field.maxLength !== undefined && field.type !== 'text') {
      problems.add([...fieldPath, 'maxLength'], `maxLength only applies to text fields; a ${field.type} field's cap comes from its type`);
      delete field.maxLength;
    }
    if (field.type === 'enum') {
      if (!field.values || field.values.length === 0) {
        problems.add([...fieldPath, 'values'], 'an enum field needs values, e.g. values: [A, B, C]');
        continue;
      }
      const duplicate = field.values.find((v, i) => field.values?.indexOf(v) !== i);
      if (duplicate !== undefined) problems.add([...fieldPath, 'values'], `"${duplicate}" is listed twice`);
    } else if (field.values) {
      problems.add([...fieldPath, 'values'], `values only apply to enum fields; this field's type is ${field.type}`);
    }
    packet.set(key, field);
    if (field.example === undefined) {
      problems.add([...fieldPath, 'example'], '"example" is required: it is shown in the API docs and checked against the field type');
      continue;
    }
    const misfit = valueMisfit(field, field.example, 'example');
    if (misfit === undefined) field.exampleOk = true;
    else problems.add([...fieldPath, 'example'], misfit);
  }
  return packet;
}

/** Why a value written in the playbook (an example, a CRM constant) would be refused in this field's packets; undefined when it fits. */
export function valueMisfit(field: PacketField, value: unknown, what: string): string | undefined {
  const result = fieldValueSchema({ ...field, required: true }).safeParse(value);
  return result.success ? undefined : `${what} does not fit this ${field.type} field: ${result.error.issues[0]?.message ?? 'invalid'}`;
}

type FieldKind = PacketField['type'] | 'account';

/** Where a criterion reads from, and what kind of value lives there. */
function criterionKind(problems: Problems, criterion: EntryCriterion, packet: Map<string, DraftField | undefined> | undefined, path: Path): { kind: FieldKind; field?: DraftField } | undefined {
  const match = /^(packet|account)\.([^.]+)$/.exec(criterion.field);
  if (match?.[1] === 'account' && (ACCOUNT_FIELDS as readonly string[]).includes(match[2] ?? '')) return { kind: 'account' };
  if (match?.[1] === 'packet' && match[2] !== undefined) {
    if (!packet) return undefined;
    const field = packet.get(match[2]);
    if (field) return { kind: field.type, field };
    if (packet.has(match[2])) return undefined;
    const keys = [...packet.keys()];
    problems.add([...path, 'field'], `no packet field "${match[2]}" in this transition${didYouMean(match[2], keys) || known('fields', keys)}`);
    return undefined;
  }
  problems.add(
    [...path, 'field'],
    `expected packet.<field> or account.<${ACCOUNT_FIELDS.join('|')}>, got "${criterion.field}"${match?.[1] === 'account' ? didYouMean(match[2] ?? '', ACCOUNT_FIELDS) : ''}`,
  );
  return undefined;
}

/** Reports a criterion that reads a missing field or compares it with the wrong kind of value; true when sound. */
export function checkCriterionField(problems: Problems, criterion: EntryCriterion, packet: Map<string, DraftField | undefined> | undefined, path: Path): boolean {
  const target = criterionKind(problems, criterion, packet, path);
  if (!target) return false;
  const { kind, field } = target;
  const opPath = [...path, criterion.op];
  const subject = field ? `"${field.key}" is ${kind === 'enum' ? 'an' : 'a'} ${kind} field` : `${criterion.field} is text`;
  const report = (at: Path, message: string): false => {
    problems.add(at, message);
    return false;
  };
  switch (criterion.op) {
    case 'exists':
      return true;
    case 'gte':
    case 'lte':
    case 'gt':
    case 'lt':
      if (kind !== 'number' && kind !== 'date') return report(opPath, `"${criterion.op}" compares numbers or dates, but ${subject}`);
      if (kind === 'number' && typeof criterion.value !== 'number') {
        return report(opPath, `expected a number to compare with, got ${describeValue(criterion.value)}`);
      }
      if (kind === 'date' && typeof criterion.value !== 'string') {
        return report(opPath, `expected a date like 2026-01-31 to compare with, got ${describeValue(criterion.value)}`);
      }
      return true;
    case 'matches':
      return kind === 'number' || kind === 'boolean' || kind === 'list' ? report(opPath, `"matches" works on text, but ${subject}`) : true;
    case 'equals':
    case 'notEquals':
    case 'in':
    case 'notIn': {
      if (kind === 'list') return report(opPath, `"${criterion.op}" does not work on a list field; use exists`);
      const values = Array.isArray(criterion.value) ? criterion.value : [criterion.value];
      let sound = true;
      values.forEach((value, i) => {
        const problem = valueMismatch(kind, field, value);
        if (problem) sound = report(Array.isArray(criterion.value) ? [...opPath, i] : opPath, problem);
      });
      return sound;
    }
  }
}

function valueMismatch(kind: FieldKind, field: DraftField | undefined, value: unknown): string | undefined {
  switch (kind) {
    case 'enum':
      return field?.values?.includes(String(value)) && typeof value === 'string'
        ? undefined
        : `${describeValue(value)} is not one of this field's values (${field?.values?.join(', ') ?? ''})`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false for a boolean field, got ${describeValue(value)}`;
    case 'number':
      return typeof value === 'number' ? undefined : `expected a number for a number field, got ${describeValue(value)}`;
    default:
      return typeof value === 'string' ? undefined : `expected text for a ${kind === 'account' ? 'text' : kind} field, got ${describeValue(value)}`;
  }
}

/** The API example is built from the field examples; a handoff built from it must be accepted. */
export function checkExamplesMeetCriteria(problems: Problems, packet: Map<string, DraftField | undefined> | undefined, criteria: (EntryCriterion | undefined)[], path: Path): void {
  if (!packet) return;
  const examples = Object.fromEntries([...packet].map(([key, f]) => [key, f?.example]));
  criteria.forEach((criterion, i) => {
    const field = criterion?.field.startsWith('packet.') ? packet.get(criterion.field.slice('packet.'.length)) : undefined;
    // Unsound criteria and unusable examples are reported already; judging them here would only repeat it.
    if (!criterion || !field?.exampleOk) return;
    if (evaluateEntryCriteria([criterion], { packet: examples, account: { name: 'example' } }).length > 0) {
      problems.add(
        [...path, i],
        `the example of "${field.key}" (${describeValue(field.example)}) does not meet this criterion (${criterion.message}); fix the example or the criterion`,
      );
    }
  });
}

// ---------------------------------------------------------------------------------------
// Build pass
// ---------------------------------------------------------------------------------------

export function buildPacket(packet: Record<string, z.output<typeof packetFieldSchema>>): PacketField[] {
  return Object.entries(packet).map(([key, f]) => ({
    key,
    label: f.label,
    type: f.type,
    required: f.required,
    description: f.description,
    ...(f.type === 'enum' && f.values ? { values: f.values } : {}),
    ...(f.type === 'text' && f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
    example: f.example,
  }));
}
