/**
 * The normalised playbook the rest of Baton consumes: ids resolved, durations in ms, calendars
 * ready for business-time arithmetic, every default applied.
 *
 * The raw YAML form RevOps edits (maps keyed by id, durations as "4h", hours as "09:00-17:00",
 * people referenced by id or email) is described section by section next to its checks and
 * its build: values.ts, organization.ts, calendars.ts, people.ts, packetFields.ts,
 * transitions.ts and crm.ts; load.ts composes them into the whole file.
 */
import type { BusinessCalendar, IsoWeekday } from '../sla/businessCalendar.js';

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

/** The most a playbook may raise a text field's cap to (`maxLength`); cards and modals are sized for it. */
export const TEXT_MAX_CHARS = 10_000;

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
  /** Outbound event subscriptions (src/webhooks/outbound.ts); absent when the section is. */
  webhooks?: WebhookSubscription[];
}

/** One URL that receives Baton's events, signed per the Standard Webhooks specification. */
export interface WebhookSubscription {
  /** Names its outbox deliveries (`webhook:<id>`), logs and status; the URL's host and path when not given. */
  id: string;
  url: string;
  /**
   * Event types of the DomainEvent union (src/events.ts's HandoffEventType, checked by the loader),
   * `handoff.*` expanded. Spelled as a pattern here: this file may not import events.ts, which
   * reaches back to it through the SLA's event data.
   */
  events: `handoff.${string}`[];
  /** The environment variable holding the signing secret (`whsec_…`, base64). */
  secretEnv: string;
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
