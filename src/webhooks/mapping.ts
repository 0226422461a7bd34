/**
 * Playbook `crm:` mappings applied to CRM records: which transition a record starts, and the
 * intake request (account, sender, packet, externalId) built from its properties. The request
 * then goes through HandoffService.intake like any API call, so validation, entry criteria and
 * idempotency are the same; this module only adds which CRM property each value came from to
 * the problems intake reports.
 */
import { DateTime } from 'luxon';
import type { ErrorDetail } from '../errors.js';
import { describeValue, isRecord } from '../playbook/format.js';
import type { CrmConstant, CrmMapping, CrmPersonSpec, CrmSource, CrmSourceId, CrmValueSpec, PacketField, Transition } from '../playbook/schema.js';
import { unwrap, type CrmRecord } from './records.js';

export const CRM_NAMES: Record<CrmSourceId, { crm: string; property: string }> = {
  hubspot: { crm: 'HubSpot', property: 'HubSpot property' },
  salesforce: { crm: 'Salesforce', property: 'Salesforce field' },
};

// ---------------------------------------------------------------------------------------------
// Reading properties

function findKey(obj: Record<string, unknown>, key: string): string | undefined {
  if (Object.hasOwn(obj, key)) return key;
  // Salesforce field names are case-insensitive, and people type HubSpot's in any case.
  const lower = key.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

/** A property by name, or a dotted path into related records (`Account.Name`, `Owner.Email`). */
export function lookup(record: CrmRecord, path: string): unknown {
  const direct = findKey(record.properties, path);
  if (direct !== undefined) return record.properties[direct];
  for (const root of [record.properties, record.raw]) {
    let node: unknown = root;
    for (const segment of path.split('.')) {
      node = unwrap(node);
      if (!isRecord(node)) {
        node = undefined;
        break;
      }
      const key = findKey(node, segment);
      node = key === undefined ? undefined : node[key];
    }
    if (node !== undefined) return unwrap(node);
  }
  return undefined;
}

/** CRMs send "" or null for properties nobody filled in. */
function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '') || (Array.isArray(value) && value.length === 0);
}

/** One filled-in value (text, a number, true or false), not a blank, a related record or a list. */
function isSingleValue(value: unknown): boolean {
  return !isBlank(value) && !isRecord(value) && !Array.isArray(value);
}

function sameValue(actual: unknown, expected: unknown): boolean {
  if (!isSingleValue(actual)) return false;
  return String(actual).trim().toLowerCase() === String(expected).trim().toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Choosing the mapping

export type Selection =
  | { kind: 'mapping'; mapping: CrmMapping; transition: Transition }
  | { kind: 'ignore'; reason: string }
  | { kind: 'error'; details: ErrorDetail[] };

function unmetConditions(mapping: CrmMapping, record: CrmRecord): string[] {
  return mapping.when
    .filter((c) => !c.values.some((v) => sameValue(lookup(record, c.property), v)))
    .map((c) => `${c.property} ${c.values.length === 1 ? `= ${describeValue(c.values[0])}` : `in ${c.values.map((v) => describeValue(v)).join(', ')}`} (got ${describeValue(lookup(record, c.property))})`);
}

function takesType(mapping: CrmMapping, record: CrmRecord): boolean {
  // A customised workflow body may not say what it is; the mapping's objectType cannot be checked then.
  return mapping.objectType === null || record.objectType === undefined || mapping.objectType === record.objectType;
}

/**
 * The mapping for a record: the named transition's, or else the first mapping (in file order)
 * whose objectType and `when` fit — like routing rules, first match wins.
 */
export function selectMapping(
  sourceId: CrmSourceId,
  source: CrmSource | undefined,
  transitions: (id: string) => Transition | undefined,
  record: CrmRecord,
  opts: { transition: string | undefined; events: boolean },
): Selection {
  const section = `crm.${sourceId}`;
  const mappings = source?.mappings ?? [];
  const mapped = mappings.map((m) => m.transitionId).join(', ');
  if (record.skip) return { kind: 'ignore', reason: record.skip };
  if (mappings.length === 0) {
    return { kind: 'error', details: [{ path: 'transition', message: `the playbook has no ${section} mappings: add ${section}.transitions.<transition id> to map ${CRM_NAMES[sourceId].crm} records to handoffs` }] };
  }
  const resolved = (mapping: CrmMapping): Selection => {
    const transition = transitions(mapping.transitionId);
    // The loader checks mapping transitions exist; this guards hand-built playbooks only.
    if (!transition) return { kind: 'error', details: [{ path: 'transition', message: `unknown transition "${mapping.transitionId}"` }] };
    return { kind: 'mapping', mapping, transition };
  };

  if (opts.transition !== undefined) {
    const mapping = mappings.find((m) => m.transitionId === opts.transition);
    if (!mapping) {
      const message = transitions(opts.transition)
        ? `transition "${opts.transition}" has no ${section} mapping in the playbook (mapped: ${mapped}); add ${section}.transitions.${opts.transition}`
        : `unknown transition "${opts.transition}"; ${CRM_NAMES[sourceId].crm} records can start: ${mapped}`;
      return { kind: 'error', details: [{ path: 'transition', message }] };
    }
    if (!takesType(mapping, record)) {
      return { kind: 'error', details: [{ path: 'objectType', message: `${section}.transitions.${mapping.transitionId} takes ${mapping.objectType} records, got ${record.label}` }] };
    }
    const unmet = unmetConditions(mapping, record);
    if (unmet.length) {
      if (opts.events) return { kind: 'ignore', reason: `${section}.transitions.${mapping.transitionId}.when does not hold: ${unmet.join('; ')}` };
      return { kind: 'error', details: [{ path: 'when', message: `${record.label} does not meet ${section}.transitions.${mapping.transitionId}.when: ${unmet.join('; ')}` }] };
    }
    return resolved(mapping);
  }

  const candidates = mappings.filter((m) => takesType(m, record));
  if (candidates.length === 0) {
    const types = mappings.map((m) => `${m.objectType ?? 'any'} → ${m.transitionId}`).join(', ');
    return { kind: 'error', details: [{ path: 'objectType', message: `no ${section} mapping takes ${record.objectType ?? 'these'} records (mapped: ${types})` }] };
  }
  const fitting = candidates.find((m) => unmetConditions(m, record).length === 0);
  if (fitting) return resolved(fitting);
  const why = candidates.map((m) => `${m.transitionId} needs ${unmetConditions(m, record).join('; ')}`).join(' | ');
  if (opts.events) return { kind: 'ignore', reason: `matches no ${section} mapping: ${why}` };
  return { kind: 'error', details: [{ path: 'when', message: `${record.label} matches no ${section} mapping: ${why}; or name the transition (?transition=<id>)` }] };
}

// ---------------------------------------------------------------------------------------------
// Building the intake request

export interface IntakeBody {
  transition: string;
  account: Record<string, string>;
  from: string;
  to?: string;
  packet: Record<string, unknown>;
  externalId: string;
}

export interface Mapped {
  body: IntakeBody;
  /** Intake error path (packet.icp_fit, account.name, from…) → where its value came from. */
  origins: Map<string, string>;
}

interface Resolved {
  value: unknown;
  origin: string;
}

function mapValue(map: Record<string, CrmConstant> | undefined, value: unknown): unknown {
  if (!map || isRecord(value) || Array.isArray(value)) return value;
  const key = String(value).trim().toLowerCase();
  return Object.hasOwn(map, key) ? map[key] : value;
}

function resolveValue(sourceId: CrmSourceId, record: CrmRecord, spec: CrmValueSpec, list: boolean): Resolved {
  const what = CRM_NAMES[sourceId].property;
  if (spec.value !== undefined) return { value: spec.value, origin: 'the value set in the playbook' };
  if (spec.template !== undefined) {
    const missing: string[] = [];
    const value = spec.template.replace(/\{([^{}]+)\}/g, (_m, path: string) => {
      const v = lookup(record, path.trim());
      if (isBlank(v) || isRecord(v)) missing.push(path.trim());
      return isBlank(v) || isRecord(v) ? '' : String(v);
    });
    return missing.length
      ? { value: undefined, origin: `the template "${spec.template}" (${missing.map((m) => `"${m}"`).join(', ')} not in the payload)` }
      : { value, origin: `the template "${spec.template}"` };
  }
  const property = spec.property ?? '';
  const raw = lookup(record, property);
  if (isBlank(raw)) {
    const state = raw === undefined ? 'not in the payload' : 'empty in the payload';
    if (spec.default !== undefined) return { value: spec.default, origin: `the default in the playbook (${what} "${property}" is ${state})` };
    return { value: raw === undefined ? undefined : raw, origin: `${what} "${property}", ${state}` };
  }
  const origin = `${what} "${property}"`;
  if (list) {
    const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(spec.split ?? ';') : [raw];
    return { value: items.map((item) => mapValue(spec.map, typeof item === 'string' ? item.trim() : item)).filter((item) => !isBlank(item)), origin };
  }
  return { value: mapValue(spec.map, raw), origin };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'yes', 'y', '1', 'on', 'checked']);
const FALSE = new Set(['false', 'no', 'n', '0', 'off', 'unchecked']);

/**
 * CRM values → the packet field's type. HubSpot sends every property as text ("87", "true",
 * "1767225600000" for dates); Salesforce sends JSON types. A value that does not convert is
 * passed on unchanged, so intake's message shows what the CRM actually sent.
 */
export function coerce(field: PacketField, value: unknown): unknown {
  if (isBlank(value)) return value === undefined ? undefined : value;
  switch (field.type) {
    case 'number':
      return typeof value === 'string' && NUMBER.test(value.trim()) ? Number(value.trim()) : value;
    case 'boolean': {
      if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : value;
      if (typeof value !== 'string') return value;
      const v = value.trim().toLowerCase();
      return TRUE.has(v) ? true : FALSE.has(v) ? false : value;
    }
    case 'list':
      return (Array.isArray(value) ? value : [value]).map((item) => (typeof item === 'number' || typeof item === 'boolean' ? String(item) : item));
    case 'date': {
      // HubSpot date properties are epoch milliseconds at UTC midnight.
      const epoch = typeof value === 'number' ? value : typeof value === 'string' && /^\d{11,14}$/.test(value.trim()) ? Number(value.trim()) : undefined;
      if (epoch !== undefined) {
        const at = DateTime.fromMillis(epoch, { zone: 'utc' });
        return epoch % 86_400_000 === 0 ? at.toISODate() : at.toISO({ suppressMilliseconds: true });
      }
      // Apex serialises offsets as +0000; ISO 8601 (and Baton) want +00:00.
      return typeof value === 'string' ? value.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : value;
    }
    default:
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(field.type === 'text' ? '\n' : '; ');
      return value;
  }
}

/** "https://www.Acme.com/about" → "acme.com": CRMs keep websites, intake wants a domain. */
export function domainOf(value: string): string {
  let host = value.trim().toLowerCase();
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//.test(host) || host.includes('/')) host = new URL(/^[a-z][a-z0-9+.-]*:\/\//.test(host) ? host : `https://${host}`).hostname;
  } catch {
    return value.trim();
  }
  return host.replace(/^www\./, '');
}

function resolvePerson(sourceId: CrmSourceId, record: CrmRecord, spec: CrmPersonSpec, isPerson: (ref: string) => boolean): Resolved {
  if (spec.personId !== undefined) return { value: spec.personId, origin: 'the person set in the playbook' };
  const what = `${CRM_NAMES[sourceId].property} "${spec.property ?? ''}"`;
  const raw = lookup(record, spec.property ?? '');
  if (!isSingleValue(raw)) {
    return spec.defaultId !== undefined
      ? { value: spec.defaultId, origin: `the default in the playbook (${what} is ${raw === undefined ? 'not in the payload' : 'empty'})` }
      : { value: undefined, origin: `${what}, ${raw === undefined ? 'not in the payload' : 'empty in the payload'}` };
  }
  const text = String(raw).trim();
  const mapped = spec.map?.[text.toLowerCase()];
  if (mapped !== undefined) return { value: mapped, origin: `${what} = ${describeValue(text)}, mapped in the playbook` };
  if (!isPerson(text) && spec.defaultId !== undefined) return { value: spec.defaultId, origin: `the default in the playbook (${what} = ${describeValue(text)} is not a person in the playbook)` };
  return { value: text, origin: `${what} = ${describeValue(text)}` };
}

/**
 * The intake request for a record. Problems that intake could not word well (no record id, no
 * sender, no account name) are returned as details, with the request as far as it could be
 * built; everything else is left to intake's own validation.
 */
export function buildRequest(
  sourceId: CrmSourceId,
  mapping: CrmMapping,
  transition: Transition,
  record: CrmRecord,
  isPerson: (ref: string) => boolean,
): { mapped: Mapped; details: ErrorDetail[] } {
  const section = `crm.${sourceId}.transitions.${mapping.transitionId}`;
  const what = CRM_NAMES[sourceId].property;
  const origins = new Map<string, string>();
  const details: ErrorDetail[] = [];

  const packet: Record<string, unknown> = {};
  for (const field of transition.packet) {
    const spec = mapping.packet[field.key];
    if (!spec) continue;
    const { value, origin } = resolveValue(sourceId, record, spec, field.type === 'list');
    origins.set(`packet.${field.key}`, origin);
    const converted = coerce(field, value);
    if (converted !== undefined) packet[field.key] = converted;
  }

  const account: Record<string, string> = {};
  for (const [key, spec] of Object.entries(mapping.account)) {
    if (!spec) continue;
    const { value, origin } = resolveValue(sourceId, record, spec, false);
    origins.set(`account.${key}`, origin);
    if (!isSingleValue(value)) continue;
    account[key] = key === 'domain' ? domainOf(String(value)) : String(value).trim();
  }
  if (account.name === undefined) {
    details.push({ path: 'account.name', message: `the account needs a name, from ${origins.get('account.name') ?? section}` });
  }

  const from = resolvePerson(sourceId, record, mapping.from, isPerson);
  origins.set('from', from.origin);
  if (typeof from.value !== 'string') details.push({ path: 'from', message: `no sender: ${from.origin}; set ${section}.from.default` });
  let to: string | undefined;
  if (mapping.to) {
    const resolved = resolvePerson(sourceId, record, mapping.to, isPerson);
    origins.set('to', resolved.origin);
    if (typeof resolved.value === 'string') to = resolved.value;
  }

  const idValue = mapping.recordId !== null ? lookup(record, mapping.recordId) : record.id;
  if (!isSingleValue(idValue)) {
    details.push({
      path: 'externalId',
      message:
        mapping.recordId !== null
          ? `${what} "${mapping.recordId}" (${section}.recordId) is missing, so a retried delivery could not be recognised`
          : `the payload carries no record id; include it, or name the property that holds it in ${section}.recordId`,
    });
  }
  // The source and object type keep ids from different CRMs and objects apart (HubSpot ids are per object type).
  const objectType = mapping.objectType ?? record.objectType;
  const externalId = details.some((d) => d.path === 'externalId') ? '' : `${sourceId}:${objectType ? `${objectType}:` : ''}${String(idValue).trim()}`;
  origins.set('externalId', mapping.recordId !== null ? `${what} "${mapping.recordId}"` : 'the record id in the payload');
  return {
    mapped: {
      body: { transition: transition.id, account, from: typeof from.value === 'string' ? from.value : '', ...(to !== undefined ? { to } : {}), packet, externalId },
      origins,
    },
    details,
  };
}

/** Intake's problems, each saying which CRM property (or playbook value) the offending value came from. */
export function withOrigins(details: readonly ErrorDetail[], origins: Map<string, string>): ErrorDetail[] {
  return details.map((d) => {
    const origin = origins.get(d.path);
    return origin ? { path: d.path, message: `${d.message} (from ${origin})` } : d;
  });
}
