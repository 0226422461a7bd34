/**
 * Handoff packets: the zod schema each transition's packet must satisfy, its JSON Schema for
 * API callers, validation with messages a sender can act on, entry criteria, and the example
 * request shown in the API docs.
 */
import * as z from 'zod';
import type { ErrorDetail } from '../errors.js';
import { describeValue, isRecord } from './format.js';
import { TEXT_MAX_CHARS, type EntryCriterion, type PacketField, type Person, type Playbook, type Transition } from './schema.js';
import { compilePattern, isoMillis } from './values.js';
import { safeParseUntrusted } from '../untrusted.js';

/**
 * Every packet field's length cap, from its type. A packet is stored, rendered on cards and
 * copied into every event and delivery, so no value may be unbounded (a 900 KB url was accepted).
 * url: the longest URL browsers and CRMs reliably keep; email: RFC 5321's path limit; text: a
 * default a playbook may raise per field (`maxLength`) up to textMaxChars.
 */
export const PACKET_LIMITS = {
  stringChars: 500,
  textChars: 4_000,
  textMaxChars: TEXT_MAX_CHARS,
  urlChars: 2_048,
  emailChars: 254,
  listEntries: 100,
  listEntryChars: 500,
} as const;

/** The most characters a value of this field may have (text: the playbook's maxLength, if set). */
export function fieldMaxChars(field: PacketField): number | undefined {
  switch (field.type) {
    case 'string':
      return PACKET_LIMITS.stringChars;
    case 'text':
      return field.maxLength ?? PACKET_LIMITS.textChars;
    case 'url':
      return PACKET_LIMITS.urlChars;
    case 'email':
      return PACKET_LIMITS.emailChars;
    default:
      return undefined;
  }
}

type ErrorMap = (iss: z.core.$ZodRawIssue) => string | undefined;

const EXPECTED: Record<PacketField['type'], string> = {
  string: 'text',
  text: 'text',
  number: 'a number',
  boolean: 'true or false',
  enum: 'one of the listed values',
  date: 'a date like 2026-03-31 or a date-time like 2026-03-31T14:00:00Z',
  url: 'an http(s) URL like https://example.com/page',
  email: 'an email address',
  list: 'a list of text entries',
};

/**
 * One error map per field so every message can name the field by its label; the path
 * alone (`packet.icp_fit`) means little to the marketer reading a refused handoff.
 */
function fieldErrors(field: PacketField): ErrorMap {
  const expected = field.type === 'enum' ? `one of ${(field.values ?? []).join(', ')}` : EXPECTED[field.type];
  return (iss) => {
    if (iss.input === undefined || iss.input === null) {
      return field.required ? `required field "${field.label}" is missing` : `"${field.label}" has no value`;
    }
    switch (iss.code) {
      case 'too_small':
        if (iss.origin === 'array') return `required field "${field.label}" needs at least one entry`;
        return field.required ? `required field "${field.label}" is empty` : `"${field.label}" is empty; leave it out instead`;
      case 'too_big':
        return iss.origin === 'array'
          ? `"${field.label}" has ${Array.isArray(iss.input) ? iss.input.length : 'too many'} entries; at most ${Number(iss.maximum)} are allowed`
          : `"${field.label}" is ${typeof iss.input === 'string' ? iss.input.length : 'too many'} characters long; at most ${Number(iss.maximum)} are allowed`;
      default:
        return `expected ${expected}, got ${describeValue(iss.input)}`;
    }
  };
}

const listEntryErrors: ErrorMap = (iss) => {
  switch (iss.code) {
    case 'too_small':
      return 'entries must not be empty';
    case 'too_big':
      return `each entry must be at most ${PACKET_LIMITS.listEntryChars} characters`;
    default:
      return `expected text, got ${describeValue(iss.input)}`;
  }
};

/** The schema of one field's value, without optionality (the packet object adds that). */
export function fieldValueSchema(field: PacketField): z.ZodType {
  const error = fieldErrors(field);
  switch (field.type) {
    case 'string':
    case 'text':
      return z.string({ error }).trim().min(1).max(fieldMaxChars(field)!);
    case 'number':
      return z.number({ error });
    case 'boolean':
      return z.boolean({ error });
    case 'enum': {
      const [first, ...rest] = field.values ?? [];
      // The loader refuses enum fields without values; this only guards hand-built transitions.
      if (first === undefined) throw new Error(`enum field "${field.key}" has no values`);
      return z.enum([first, ...rest], { error });
    }
    case 'date':
      return z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error });
    // The length first, and alone when it fails: the format check of 900 KB says nothing more.
    case 'url':
      return z.string({ error }).max(PACKET_LIMITS.urlChars, { abort: true }).check(z.url({ protocol: /^https?$/, hostname: z.regexes.domain, error }));
    case 'email':
      return z.string({ error }).max(PACKET_LIMITS.emailChars, { abort: true }).check(z.email({ error }));
    case 'list':
      return z
        .array(z.string({ error: listEntryErrors }).trim().min(1).max(PACKET_LIMITS.listEntryChars), { error })
        .min(field.required ? 1 : 0)
        .max(PACKET_LIMITS.listEntries);
  }
}

/** A field's full schema as it appears in the packet object: documented, optional when not required. */
export function fieldSchema(field: PacketField): z.ZodType {
  const documented = fieldValueSchema(field).describe(field.description).meta({ title: field.label, examples: [field.example] });
  return field.required ? documented : documented.optional();
}

function unknownFieldsMessage(keys: readonly string[], t: Transition): string {
  const names = keys.map((k) => `"${k}"`).join(', ');
  return `unknown field${keys.length === 1 ? '' : 's'} ${names} (this transition's fields are: ${t.packet.map((f) => f.key).join(', ')})`;
}

const schemaCache = new WeakMap<Transition, z.ZodObject>();

export function packetSchema(t: Transition): z.ZodObject {
  const cached = schemaCache.get(t);
  if (cached) return cached;
  const shape = Object.fromEntries(t.packet.map((f) => [f.key, fieldSchema(f)]));
  const schema = z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? unknownFieldsMessage(iss.keys, t)
        : `the packet must be an object with this transition's fields, got ${describeValue(iss.input)}`,
  });
  schemaCache.set(t, schema);
  return schema;
}

export interface PacketJsonSchema {
  type: 'object';
  properties: Record<string, unknown>;
  required: string[];
  [keyword: string]: unknown;
}

export function packetJsonSchema(t: Transition): PacketJsonSchema {
  // "input": the schema documents what a caller sends, not what Baton stores after trimming.
  const { type: _type, properties, required, ...rest } = z.toJSONSchema(packetSchema(t), { io: 'input' });
  return {
    ...rest,
    type: 'object',
    properties: { ...properties },
    // JSON Schema omits an empty "required"; API clients iterate it, so always send an array.
    required: Array.isArray(required) ? [...required] : [],
  };
}

export type PacketValidation = { ok: true; packet: Record<string, unknown> } | { ok: false; details: ErrorDetail[] };

/**
 * CRMs send null, "" or [] for fields nobody filled in. For an optional field that is simply
 * "not given"; for a required one it is reported as missing or empty, not as a type error.
 */
function withoutBlanks(t: Transition, packet: Record<string, unknown>): Record<string, unknown> {
  const fields = new Map(t.packet.map((f) => [f.key, f]));
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(packet)) {
    const field = fields.get(key);
    const blank =
      value === null ||
      (typeof value === 'string' && value.trim() === '' && field?.required === false) ||
      (Array.isArray(value) && value.length === 0 && field?.required === false);
    if (!(blank && field)) kept[key] = value;
  }
  return kept;
}

export function validatePacket(t: Transition, packet: unknown): PacketValidation {
  const input = isRecord(packet) ? withoutBlanks(t, packet) : packet;
  const result = safeParseUntrusted(packetSchema(t), input);
  if (result.success) return { ok: true, packet: result.data };
  const details = result.error.issues.flatMap((issue): ErrorDetail[] => {
    // One detail per unknown key, so a form or card can flag each of them.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: `packet.${key}`, message: unknownFieldsMessage([key], t) }));
    }
    return [{ path: ['packet', ...issue.path.map(String)].join('.'), message: issue.message }];
  });
  return { ok: false, details };
}

// ---------------------------------------------------------------------------------------
// Entry criteria (also used by routing rules)
// ---------------------------------------------------------------------------------------

export interface CriteriaSubject {
  packet: Record<string, unknown>;
  account: { name: string; domain?: string | null; crmId?: string | null; segment?: string | null; region?: string | null };
}

export function criterionValue(field: string, subject: CriteriaSubject): unknown {
  const dot = field.indexOf('.');
  const scope = field.slice(0, dot);
  const key = field.slice(dot + 1);
  if (scope === 'packet') return Object.hasOwn(subject.packet, key) ? subject.packet[key] : undefined;
  if (scope === 'account' && Object.hasOwn(subject.account, key)) {
    return subject.account[key as keyof CriteriaSubject['account']];
  }
  return undefined;
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** CRM values differ in case and padding ("EMEA", "emea "); a rule author means the same region. */
function same(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'string' && typeof expected === 'string') {
    return actual.trim().toLowerCase() === expected.trim().toLowerCase();
  }
  return actual === expected;
}

function comparable(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return isoMillis(value.trim());
  return undefined;
}

function compare(actual: unknown, expected: unknown, test: (a: number, b: number) => boolean): boolean {
  const a = comparable(actual);
  const b = comparable(expected);
  return a !== undefined && b !== undefined && test(a, b);
}

export function criterionHolds(criterion: EntryCriterion, subject: CriteriaSubject): boolean {
  const actual = criterionValue(criterion.field, subject);
  const present = isPresent(actual);
  const options = Array.isArray(criterion.value) ? criterion.value : [criterion.value];
  switch (criterion.op) {
    case 'exists':
      return present === (criterion.value !== false);
    case 'equals':
      return present && same(actual, criterion.value);
    case 'notEquals':
      return !present || !same(actual, criterion.value);
    case 'in':
      return present && options.some((option) => same(actual, option));
    case 'notIn':
      return !present || !options.some((option) => same(actual, option));
    case 'gte':
      return compare(actual, criterion.value, (a, b) => a >= b);
    case 'lte':
      return compare(actual, criterion.value, (a, b) => a <= b);
    case 'gt':
      return compare(actual, criterion.value, (a, b) => a > b);
    case 'lt':
      return compare(actual, criterion.value, (a, b) => a < b);
    case 'matches':
      return typeof actual === 'string' && compilePattern(String(criterion.value)).test(actual);
  }
}

/** Every unmet criterion, each naming the rule and the value actually sent. Empty when all hold. */
export function evaluateEntryCriteria(criteria: EntryCriterion[], subject: CriteriaSubject): ErrorDetail[] {
  return criteria
    .filter((criterion) => !criterionHolds(criterion, subject))
    .map((criterion) => ({
      path: criterion.field,
      message: `entry criterion not met: ${criterion.message} (got ${describeValue(criterionValue(criterion.field, subject))})`,
    }));
}

// ---------------------------------------------------------------------------------------
// API example
// ---------------------------------------------------------------------------------------

export interface ExampleRequest {
  transition: string;
  account: { name: string; domain: string; crmId: string };
  from: string;
  packet: Record<string, unknown>;
}

export const EXAMPLE_ACCOUNT = { name: 'Acme Logistics', domain: 'acme-logistics.example', crmId: '0015g00000AcmeLGX' } as const;

/** A request that would be accepted as-is: the loader checks every example against its field and the entry criteria. */
export function exampleRequest(t: Transition, pb: Playbook): ExampleRequest {
  // Prefer someone around and with the fewest reports: handoffs are sent by the people doing the work.
  const reports = (id: string) => pb.people.filter((p) => p.managerId === id).length;
  const rank = (p: Person) => (p.awayUntil === null ? 0 : 1_000) + reports(p.id);
  const members = pb.people.filter((p) => p.teamId === t.fromTeamId && p.active);
  const sender = [...members].sort((a, b) => rank(a) - rank(b))[0] ?? pb.people.find((p) => p.active);
  return {
    transition: t.id,
    account: { ...EXAMPLE_ACCOUNT },
    from: sender?.email ?? '',
    packet: Object.fromEntries(t.packet.map((f) => [f.key, f.example])),
  };
}
