/**
 * The playbook in two forms:
 *  - the raw YAML form RevOps edits (zod schemas below; maps keyed by id, durations as "4h",
 *    hours as "09:00-17:00", people referenced by id or email), and
 *  - the normalised form the rest of Baton consumes (the exported interfaces): ids resolved,
 *    durations in ms, calendars ready for business-time arithmetic, every default applied.
 *
 * The zod schemas check everything that can be judged from one value on its own (formats,
 * durations, time zones, dates, regexes). Checks that need the whole file (does this person
 * exist, is this packet field defined) live in load.ts.
 */
import * as z from 'zod';
import { DateTime, IANAZone } from 'luxon';
import { parseBusinessHours, parseDuration } from '../sla/businessTime.js';
import type { BusinessCalendar, IsoWeekday, MinuteRange } from '../sla/businessCalendar.js';
import { describeValue, literal } from './format.js';

// ---------------------------------------------------------------------------------------
// Normalised form
// ---------------------------------------------------------------------------------------

export const FIELD_TYPES = ['string', 'text', 'number', 'boolean', 'enum', 'date', 'url', 'email', 'list'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface PacketField {
  key: string;
  label: string;
  type: FieldType;
  required: boolean;
  description: string;
  /** Only for `enum`. */
  values?: string[];
  /** Only for `text`: its length cap when not the default (PACKET_LIMITS.textChars), at most TEXT_MAX_CHARS. */
  maxLength?: number;
  /** Shown in the API example; checked against the field's own type when the playbook loads. */
  example: unknown;
}

export const CRITERION_OPS = ['equals', 'notEquals', 'in', 'notIn', 'exists', 'gte', 'lte', 'gt', 'lt', 'matches'] as const;
export type CriterionOp = (typeof CRITERION_OPS)[number];

/** The account attributes a criterion may test besides packet fields. */
export const ACCOUNT_FIELDS = ['name', 'domain', 'crmId', 'segment', 'region'] as const;
export type AccountField = (typeof ACCOUNT_FIELDS)[number];

export interface EntryCriterion {
  /** `packet.<key>` or `account.<name|domain|crmId|segment|region>`. */
  field: string;
  op: CriterionOp;
  value?: unknown;
  /** Human wording of the rule, e.g. `must equal "MQL"`; defaulted from op and value. */
  message: string;
}

export interface Team {
  id: string;
  name: string;
  stage: string;
  calendar: BusinessCalendar;
  leadId: string;
  /** Head of function (the last escalation step); defaults to the lead. */
  headId: string;
  channels: { slack?: string; teams?: string };
}

/** One platform account of a person, beyond the three id fields (src/personHandles.ts). */
export interface PlaybookHandle {
  platform: 'slack' | 'teams' | 'aad';
  /** Slack team id or Microsoft 365 tenant id; absent: any workspace. */
  workspace?: string;
  id: string;
}

export interface Person {
  id: string;
  name: string;
  /** Lower-cased, so lookups from Slack/Teams profiles and the API compare reliably. */
  email: string;
  teamId: string;
  managerId: string | null;
  slackUserId: string | null;
  teamsUserId: string | null;
  aadObjectId: string | null;
  /** More accounts of the same person: another Slack workspace's id, a guest id in a partner's tenant. */
  handles?: PlaybookHandle[];
  /** Defaults to the team's time zone. */
  timeZone: string;
  /** yyyy-MM-dd; routing skips the person until this date. */
  awayUntil: string | null;
  active: boolean;
}

export interface QueueMember {
  personId: string;
  /** Positive integer; a weight of 2 receives twice as many handoffs as a weight of 1. */
  weight: number;
}

export interface RoutingRule {
  name: string;
  /** All must hold. */
  when: EntryCriterion[];
  assignTo?: string;
  queue?: QueueMember[];
}

export const ESCALATION_KEYWORDS = ['owner_lead', 'team_lead', 'function_head'] as const;
export type EscalationTarget = (typeof ESCALATION_KEYWORDS)[number] | { personId: string };

export interface Transition {
  id: string;
  /** e.g. "Marketing → SDR". */
  name: string;
  description: string;
  fromStage: string;
  toStage: string;
  fromTeamId: string;
  toTeamId: string;
  packet: PacketField[];
  entryCriteria: EntryCriterion[];
  /** Business time of the receiving team. */
  sla: { acceptMs: number; firstTouchMs: number };
  /** Fractions of the SLA in (0, 1), ascending. */
  nudgesAt: number[];
  escalation: {
    chain: EscalationTarget[];
    /** Business time between one escalation step and the next. */
    repeatEveryMs: number;
    /** After a breach, reassign automatically after this much business time; null = never. */
    reassignAfterMs: number | null;
    restartSlaOnReassign: boolean;
  };
  routing: { rules: RoutingRule[]; queue: QueueMember[] };
  fallbackOwnerId: string;
  rejectReasons: { code: string; label: string }[];
}

export interface Playbook {
  organization: { name: string; timeZone: string; emailDomains: string[] };
  admins: string[];
  stages: { id: string; name: string }[];
  teams: Team[];
  people: Person[];
  transitions: Transition[];
  digest: { day: IsoWeekday; time: string; subscribers: string[] };
  /** CRM webhook field mappings (src/webhooks); absent or empty when no CRM sends handoffs. */
  crm?: CrmConfig;
}

/** The CRMs that can create handoffs by webhook, and the environment variable holding each one's secret by default. */
export const CRM_SOURCES = ['hubspot', 'salesforce'] as const;
export type CrmSourceId = (typeof CRM_SOURCES)[number];
export const CRM_DEFAULT_SECRET_ENV: Record<CrmSourceId, string> = {
  hubspot: 'HUBSPOT_CLIENT_SECRET',
  salesforce: 'SALESFORCE_WEBHOOK_SECRET',
};

/**
 * Where one packet or account value comes from: a CRM property (dotted paths reach related
 * records, e.g. `Account.Name`), a constant, or a template such as
 * `https://crm.example/r/{Id}/view`. Exactly one of property, value and template is set.
 */
export interface CrmValueSpec {
  property?: string;
  value?: CrmConstant;
  template?: string;
  /** CRM value → packet value; keys are lower-cased (CRM values are compared case-insensitively). */
  map?: Record<string, CrmConstant>;
  /** Used when the property is absent or blank. */
  default?: CrmConstant;
  /** List fields: what separates entries in a text property (default ";", as multi-select values arrive). */
  split?: string;
}
export type CrmScalar = string | number | boolean;
export type CrmConstant = CrmScalar | CrmScalar[];

/** Who a CRM handoff is from (or to): a fixed person, or a property holding an email / person id / CRM user id. */
export interface CrmPersonSpec {
  /** A fixed person id. */
  personId?: string;
  property?: string;
  /** CRM value (e.g. a HubSpot owner id) → person id; keys lower-cased. */
  map?: Record<string, string>;
  /** Person id used when the property is absent, blank or not in map and not a known person. */
  defaultId?: string;
}

export interface CrmMapping {
  transitionId: string;
  /** Lower-cased CRM object type this mapping takes (contact, deal, opportunity…); null = any. */
  objectType: string | null;
  /** All must hold for a record to use this mapping; values compared case-insensitively. */
  when: { property: string; values: CrmScalar[] }[];
  /** The property holding the record id (the handoff's externalId); null = the id the payload carries. */
  recordId: string | null;
  from: CrmPersonSpec;
  to: CrmPersonSpec | null;
  account: { name: CrmValueSpec } & Partial<Record<Exclude<AccountField, 'name'>, CrmValueSpec>>;
  /** Packet field key → where its value comes from. */
  packet: Record<string, CrmValueSpec>;
}

export interface CrmSource {
  /** Name of the environment variable holding the signing secret. */
  secretEnv: string;
  /** In file order: without an explicit transition, the first mapping that fits a record wins. */
  mappings: CrmMapping[];
}

export type CrmConfig = Partial<Record<CrmSourceId, CrmSource>>;

// ---------------------------------------------------------------------------------------
// Value helpers shared with load.ts and packet.ts
// ---------------------------------------------------------------------------------------

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
// Raw (YAML) form
// ---------------------------------------------------------------------------------------

/** Marks "key absent" issues so the loader can word them with the key's name. */
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
function strict<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `allowed keys: ${Object.keys(shape).join(', ')}` : undefined),
  });
}

function text(noun: string) {
  return z
    .string({
      error: (iss) =>
        iss.code === 'invalid_type' && iss.input !== undefined ? `expected ${noun}, got ${describeValue(iss.input)}` : undefined,
    })
    .trim()
    .min(1);
}

function matching(pattern: RegExp, hint: string) {
  return z.string({ error: (iss) => (iss.input === undefined ? undefined : `${hint}, got ${describeValue(iss.input)}`) }).trim().regex(pattern);
}

function addProblem(ctx: z.core.$RefinementCtx, message: string, path?: PropertyKey[]): void {
  ctx.addIssue({ code: 'custom', message, ...(path ? { path } : {}) });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const idRefSchema = text('an id');
export const personRefSchema = text('a person id or email');

export const durationSchema = z
  .string({
    error: (iss) =>
      iss.input === undefined ? undefined : `expected a duration like "4h" or "30m", got ${describeValue(iss.input)}`,
  })
  .transform((spec, ctx) => {
    try {
      return parseDuration(spec);
    } catch (err) {
      addProblem(ctx, errorText(err));
      return z.NEVER;
    }
  });

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

export const WEEKDAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** null (an empty `sat:`) and a missing day both mean closed. */
const dayHoursSchema = z
  .string({
    error: (iss) =>
      iss.input === undefined ? undefined : `expected hours like "09:00-17:30" or "closed", got ${describeValue(iss.input)}`,
  })
  .nullable()
  .optional()
  .transform((spec, ctx): MinuteRange[] => {
    if (spec === null || spec === undefined) return [];
    try {
      return parseBusinessHours(spec);
    } catch (err) {
      addProblem(ctx, errorText(err));
      return z.NEVER;
    }
  });

export const businessHoursSchema = strict({
  mon: dayHoursSchema,
  tue: dayHoursSchema,
  wed: dayHoursSchema,
  thu: dayHoursSchema,
  fri: dayHoursSchema,
  sat: dayHoursSchema,
  sun: dayHoursSchema,
})
  .transform(
    (days): Record<IsoWeekday, MinuteRange[]> => ({
      1: days.mon,
      2: days.tue,
      3: days.wed,
      4: days.thu,
      5: days.fri,
      6: days.sat,
      7: days.sun,
    }),
  )
  .refine((weekly) => Object.values(weekly).some((ranges) => ranges.length > 0), {
    error: 'no working hours on any day, so SLA clocks would never run; give at least one day hours like "09:00-17:00"',
  });

export const slackUserIdSchema = matching(/^[UW][A-Z0-9]{6,}$/, 'expected a Slack member id like "U024BE7LH" (profile → ⋮ → Copy member ID)');
export const teamsUserIdSchema = matching(/^29:\S+$/, 'expected a Teams user id starting with "29:"');
/** A Slack workspace (team) id, or an Enterprise Grid organization's (E…). */
export const slackWorkspaceSchema = matching(/^[TE][A-Z0-9]{2,}$/, 'expected a Slack workspace id like "T0123ABCD" (auth.test → team_id)');
/**
 * One more account of a person (src/personHandles.ts): their member id in a second Slack workspace,
 * a Teams guest id or Entra object id in a partner's tenant. Without `workspace` it counts in every
 * workspace, like the slackUserId / teamsUserId / aadObjectId fields.
 */
export const personHandleSchema = z.discriminatedUnion(
  'platform',
  [
    strict({ platform: z.literal('slack'), workspace: slackWorkspaceSchema.optional(), id: slackUserIdSchema }),
    strict({ platform: z.literal('teams'), workspace: z.guid().optional(), id: teamsUserIdSchema }),
    strict({ platform: z.literal('aad'), workspace: z.guid().optional(), id: z.guid() }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? 'expected platform: slack, teams or aad, with id (and optionally workspace)' : undefined) },
);
export const slackChannelSchema = matching(/^[CG][A-Z0-9]{6,}$/, 'expected a Slack channel id like "C0123ABCD" (channel details → bottom of the About tab)');
export const teamsChannelSchema = matching(/^19:\S+@thread\.(tacv2|skype)$/, 'expected a Teams channel id like "19:abc…@thread.tacv2" (channel → Get link to channel)');

/** A bare domain name ("northwind.example"), no "@", no scheme. */
export const emailDomainSchema = matching(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i, 'expected a domain name like "northwind.example" (no "@")').transform((d) =>
  d.toLowerCase(),
);

export const organizationSchema = strict({
  name: text('the organisation name'),
  timeZone: timeZoneSchema,
  /**
   * The organisation's own email domains. A Teams user whose id is not in the playbook is linked
   * to a person only by a sign-in name (UPN) on one of these: an address elsewhere (a guest, a
   * partner) never becomes someone in the directory. Empty: no linking by email at all.
   */
  emailDomains: z.array(emailDomainSchema).default([]),
});

/** Stage id → display name. */
export const stageNameSchema = text('a stage name');

/** Region name → list of holiday dates, shared by the teams that list the region. */
export const holidayCalendarSchema = z.array(localDateSchema);

export const teamShape = {
  name: text('a team name'),
  stage: idRefSchema,
  timeZone: timeZoneSchema,
  businessHours: businessHoursSchema,
  /** Dates and/or names of holiday calendars; a single name is accepted for convenience. */
  holidays: z
    .union([text('a holiday date or calendar name'), z.array(text('a holiday date or calendar name'))], {
      error: (iss) => `expected a list of dates and holiday calendar names, got ${describeValue(iss.input)}`,
    })
    .optional()
    .transform((value) => (value === undefined ? [] : typeof value === 'string' ? [value] : value)),
  lead: personRefSchema,
  head: personRefSchema.optional(),
  channels: strict({ slack: slackChannelSchema.optional(), teams: teamsChannelSchema.optional() }).optional(),
};
export const teamSchema = strict(teamShape);

export const personShape = {
  name: text('a name'),
  email: z
    .email({ error: (iss) => (iss.input === undefined ? undefined : `expected an email address, got ${describeValue(iss.input)}`) })
    .transform((email) => email.toLowerCase()),
  team: idRefSchema,
  manager: personRefSchema.nullable().optional(),
  slackUserId: slackUserIdSchema.nullable().optional(),
  teamsUserId: teamsUserIdSchema.nullable().optional(),
  aadObjectId: z.guid().nullable().optional(),
  handles: z.array(personHandleSchema).optional(),
  timeZone: timeZoneSchema.optional(),
  awayUntil: localDateSchema.nullable().optional(),
  active: z.boolean().default(true),
};
export const personSchema = strict(personShape);

/** The most a playbook may raise a text field's cap to (`maxLength`); cards and modals are sized for it. */
export const TEXT_MAX_CHARS = 10_000;

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

const scalarSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: (iss) => `expected a single value (text, number, true or false), got ${describeValue(iss.input)}`,
});

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

export const queueMemberSchema = z
  .union(
    [
      personRefSchema,
      strict({
        person: personRefSchema,
        weight: z
          .int({ error: (iss) => (iss.input === undefined ? undefined : `expected a whole number of 1 or more, got ${describeValue(iss.input)}`) })
          .positive()
          .default(1),
      }),
    ],
    { error: (iss) => `expected a person id/email or { person: …, weight: 2 }, got ${describeValue(iss.input)}` },
  )
  .transform((member) => (typeof member === 'string' ? { person: member, weight: 1 } : member));

export const routingRuleSchema = strict({
  name: text('a rule name'),
  when: z.array(criterionSchema).min(1),
  assignTo: personRefSchema.optional(),
  queue: z.array(queueMemberSchema).min(1).optional(),
}).superRefine((rule, ctx) => {
  if ((rule.assignTo === undefined) === (rule.queue === undefined)) {
    addProblem(ctx, 'give a rule either assignTo (one person) or queue (round-robin), not both and not neither');
  }
});

export const routingSchema = strict({
  rules: z.array(routingRuleSchema).default([]),
  /** Omit to round-robin over every active member of the receiving team. */
  queue: z.array(queueMemberSchema).min(1).optional(),
});

export const nudgesSchema = z.array(z.number()).superRefine((points, ctx) => {
  points.forEach((point, index) => {
    const previous = points[index - 1];
    if (!(point > 0 && point < 1)) {
      addProblem(ctx, `must be a fraction of the SLA between 0 and 1 (0.5 = half-way), got ${point}`, [index]);
    } else if (previous !== undefined && point <= previous) {
      addProblem(ctx, `nudge points must go up: ${point} comes after ${previous}`, [index]);
    }
  });
});

/** A duration, or `never` / an empty value to switch the behaviour off; absent means "inherit". */
const optionalDurationSchema = z
  .union([durationSchema, z.null()], {
    error: (iss) => `expected a duration like "4h" or never, got ${describeValue(iss.input)}`,
  })
  .optional();

export const escalationSchema = strict({
  chain: z.array(text('owner_lead, team_lead, function_head or a person id/email')).min(1).optional(),
  repeatEvery: durationSchema.optional(),
  reassignAfter: z
    .preprocess((value) => (typeof value === 'string' && value.trim().toLowerCase() === 'never' ? null : value), optionalDurationSchema),
  restartSlaOnReassign: z.boolean().optional(),
});

export const slaSchema = strict({ accept: durationSchema, firstTouch: durationSchema });

export const rejectReasonsSchema = z
  .record(z.string(), text('a reason label'))
  .refine((reasons) => Object.keys(reasons).length > 0, { error: 'list at least one reason, so a receiver can say why they reject' });

export const transitionShape = {
  name: text('a name').optional(),
  description: z.string().trim().optional(),
  from: idRefSchema,
  to: idRefSchema,
  fromStage: idRefSchema.optional(),
  toStage: idRefSchema.optional(),
  packet: z.record(z.string(), packetFieldSchema).refine((fields) => Object.keys(fields).length > 0, {
    error: 'a handoff packet needs at least one field',
  }),
  entryCriteria: z.array(criterionSchema).default([]),
  sla: slaSchema,
  nudgesAt: nudgesSchema.optional(),
  escalation: escalationSchema.optional(),
  routing: routingSchema.optional(),
  fallbackOwner: personRefSchema.optional(),
  rejectReasons: rejectReasonsSchema,
};
export const transitionSchema = strict(transitionShape);

export const digestSchema = strict({
  day: z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `expected a weekday like monday, got ${describeValue(iss.input)}`) })
    .transform((day, ctx): IsoWeekday => {
      const key = day.trim().toLowerCase();
      const index = Math.max(WEEKDAY_KEYS.indexOf(key as (typeof WEEKDAY_KEYS)[number]), WEEKDAY_NAMES.indexOf(key as (typeof WEEKDAY_NAMES)[number]));
      if (index < 0) {
        addProblem(ctx, `expected a weekday like monday, got ${describeValue(day)}`);
        return z.NEVER;
      }
      return (index + 1) as IsoWeekday;
    })
    .default(1),
  time: z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `expected a time like "08:00", got ${describeValue(iss.input)}`) })
    .transform((time, ctx) => {
      const match = /^(\d{1,2}):([0-5]\d)$/.exec(time.trim());
      const hour = Number(match?.[1]);
      if (!match || hour > 23) {
        addProblem(ctx, `expected a time like "08:00", got ${describeValue(time)}`);
        return z.NEVER;
      }
      return `${String(hour).padStart(2, '0')}:${match[2]}`;
    })
    .default('08:00'),
  subscribers: z.array(personRefSchema).default([]),
});

// ---------------------------------------------------------------------------------------
// CRM webhook mappings (crm:)
// ---------------------------------------------------------------------------------------

const crmScalarSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: (iss) => `expected a single value (text, number, true or false), got ${describeValue(iss.input)}`,
});
const crmConstantSchema = z.union([crmScalarSchema, z.array(crmScalarSchema)], {
  error: (iss) => `expected a value or a list of values, got ${describeValue(iss.input)}`,
});
const crmPropertySchema = text('a CRM property name');

const crmValueShape = {
  property: crmPropertySchema.optional(),
  value: crmConstantSchema.optional(),
  template: text('a template like "https://crm.example/r/{Id}"').optional(),
  map: z.record(z.string(), crmConstantSchema).optional(),
  default: crmConstantSchema.optional(),
  split: z.string().min(1).optional(),
};

/** A bare string is the property name: `icp_fit: icp_tier` is the common case and reads best. */
export const crmValueSchema = z
  .preprocess(
    (raw) => (typeof raw === 'string' ? { property: raw } : raw),
    z.strictObject(crmValueShape, {
      error: (iss) => {
        if (iss.code === 'unrecognized_keys') return `allowed keys: ${Object.keys(crmValueShape).join(', ')}`;
        if (iss.code === 'invalid_type' && iss.input !== undefined) {
          return `expected a CRM property name, or { property, map, default, split }, { value } or { template }, got ${describeValue(iss.input)}`;
        }
        return undefined;
      },
    }),
  )
  .superRefine((spec, ctx) => {
    const sources = (['property', 'value', 'template'] as const).filter((k) => spec[k] !== undefined);
    if (sources.length !== 1) {
      addProblem(
        ctx,
        sources.length === 0
          ? 'say where the value comes from: property (a CRM property), value (a constant) or template'
          : `use one of property, value and template, found ${sources.join(' and ')}`,
      );
    }
    if (spec.value !== undefined) {
      for (const key of ['map', 'default', 'split'] as const) {
        if (spec[key] !== undefined) addProblem(ctx, `"${key}" applies to a CRM property, not to a constant value`, [key]);
      }
    }
    if (spec.template !== undefined && !/\{[^{}]+\}/.test(spec.template)) {
      addProblem(ctx, 'a template needs at least one {Property} placeholder; use value for a constant', ['template']);
    }
  })
  .transform((spec): CrmValueSpec => {
    const out: CrmValueSpec = {};
    if (spec.property !== undefined) out.property = spec.property;
    if (spec.value !== undefined) out.value = spec.value;
    if (spec.template !== undefined) out.template = spec.template;
    // Keys stay as written here so problems point at them; the loader lower-cases them when it builds.
    if (spec.map !== undefined) out.map = spec.map;
    if (spec.default !== undefined) out.default = spec.default;
    if (spec.split !== undefined) out.split = spec.split;
    return out;
  });

/** Raw form; people are resolved to ids by the loader. */
export const crmPersonSchema = strict({
  person: personRefSchema.optional(),
  property: crmPropertySchema.optional(),
  map: z.record(z.string(), personRefSchema).optional(),
  default: personRefSchema.optional(),
}).superRefine((spec, ctx) => {
  if ((spec.person === undefined) === (spec.property === undefined)) {
    addProblem(ctx, 'give either person (always this person) or property (a CRM property holding an email or user id), not both and not neither');
  }
  if (spec.person !== undefined) {
    for (const key of ['map', 'default'] as const) {
      if (spec[key] !== undefined) addProblem(ctx, `"${key}" applies to a CRM property, not to a fixed person`, [key]);
    }
  }
});

export const crmWhenSchema = z.record(
  z.string(),
  z.union([crmScalarSchema, z.array(crmScalarSchema).min(1)], {
    error: (iss) => `expected the value the property must have, or a list of accepted values, got ${describeValue(iss.input)}`,
  }),
);

export const crmAccountSchema = strict({
  name: crmValueSchema,
  domain: crmValueSchema.optional(),
  crmId: crmValueSchema.optional(),
  segment: crmValueSchema.optional(),
  region: crmValueSchema.optional(),
});

export const crmMappingShape = {
  objectType: text('a CRM object type such as contact, deal or Opportunity').optional(),
  when: crmWhenSchema.optional(),
  recordId: crmPropertySchema.optional(),
  from: crmPersonSchema,
  to: crmPersonSchema.optional(),
  account: crmAccountSchema,
  packet: z.record(z.string(), crmValueSchema),
};
export const crmMappingSchema = strict(crmMappingShape);

export const crmSourceShape = {
  secretEnv: matching(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name like HUBSPOT_CLIENT_SECRET').optional(),
  transitions: z.record(z.string(), crmMappingSchema),
};
export const crmSourceSchema = strict(crmSourceShape);

export const crmSchema = strict({
  hubspot: crmSourceSchema.optional(),
  salesforce: crmSourceSchema.optional(),
});

export const defaultsSchema = strict({
  nudgesAt: nudgesSchema.optional(),
  escalation: escalationSchema.optional(),
});

export const playbookSections = {
  organization: organizationSchema,
  admins: z.array(personRefSchema).default([]),
  stages: z.record(z.string(), stageNameSchema),
  holidayCalendars: z.record(z.string(), holidayCalendarSchema).default({}),
  teams: z.record(z.string(), teamSchema),
  people: z.record(z.string(), personSchema),
  defaults: defaultsSchema.default({}),
  transitions: z.record(z.string(), transitionSchema),
  digest: digestSchema.default({ day: 1, time: '08:00', subscribers: [] }),
  crm: crmSchema.optional(),
};

/** The whole file. load.ts parses it section by section so one mistake does not hide the others. */
export const playbookFileSchema = strict(playbookSections);
export type PlaybookFile = z.input<typeof playbookFileSchema>;
export type ParsedPlaybookFile = z.output<typeof playbookFileSchema>;
