/**
 * CRM payloads → a list of records (object type, id, flat properties), whatever shape the CRM
 * sent. The field mappings in the playbook then read properties by name, so they do not depend
 * on which HubSpot body format a workflow was set up with.
 */
import { InvalidError, type ErrorDetail } from '../errors.js';
import { describeValue, isRecord } from '../playbook/format.js';

export interface CrmRecord {
  /** Lower-cased object type (contact, deal, opportunity…) when the payload says; undefined otherwise. */
  objectType: string | undefined;
  /** The record id the payload carries (HubSpot objectId / vid / id, Salesforce Id). */
  id: string | undefined;
  /** Property name → value, with HubSpot's `{ value, versions }` wrappers removed. */
  properties: Record<string, unknown>;
  /** The record as received, for dotted paths outside `properties` (e.g. HubSpot's associated-company). */
  raw: Record<string, unknown>;
  /** Names the record in messages: `contact 51`, `Opportunity 0065g00000XyZ12AAB`. */
  label: string;
  /** A record no mapping may take (deletions, merges): answered as ignored with this reason. */
  skip?: string;
}

export interface CrmPayload {
  records: CrmRecord[];
  /** Several records per request (HubSpot event arrays, Salesforce `records`): answered with a list. */
  batch: boolean;
  /**
   * HubSpot event subscriptions deliver every change of a subscribed property; a record that no
   * mapping's `when` accepts is then "not a handoff" (ignored), not a configuration mistake.
   */
  events: boolean;
  /** The transition the sender named (`?transition=` or Salesforce's `transition`). */
  transition: string | undefined;
}

// ---------------------------------------------------------------------------------------------
// HubSpot

/** Object type ids of HubSpot's standard objects, as `object.*` events and v3 payloads carry them. */
const HUBSPOT_OBJECT_TYPES: Record<string, string> = {
  '0-1': 'contact',
  '0-2': 'company',
  '0-3': 'deal',
  '0-5': 'ticket',
  '0-136': 'lead',
};

function hubspotType(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const t = raw.trim().toLowerCase();
  return HUBSPOT_OBJECT_TYPES[t] ?? t;
}

function idText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

/** `{ value: "x", versions: [...] }` (contact workflows, legacy APIs) → "x". */
export function unwrap(value: unknown): unknown {
  return isRecord(value) && Object.hasOwn(value, 'value') ? value.value : value;
}

function label(objectType: string | undefined, id: string | undefined): string {
  return `${objectType ?? 'record'}${id ? ` ${id}` : ''}`;
}

/**
 * Three shapes arrive at the HubSpot endpoint:
 *  - an array of webhooks-API events (`subscriptionType`, `objectId`, `propertyName`/`propertyValue`);
 *  - a workflow webhook with "include all properties": the record as the CRM API returns it
 *    (`properties` holding `{ value, versions }` objects for contacts, plain values otherwise);
 *  - a workflow webhook with a customised body: flat `key: value` pairs chosen in the workflow.
 */
export function hubspotPayload(body: unknown, transition: string | undefined): CrmPayload {
  if (Array.isArray(body)) return { records: hubspotEvents(body), batch: true, events: true, transition };
  if (!isRecord(body)) throw new InvalidError(`A HubSpot webhook body must be a JSON object (a workflow webhook) or an array of events, got ${describeValue(body)}.`, [{ path: '(body)', message: `expected an object or an array, got ${describeValue(body)}` }], 'invalid_payload');

  if (isRecord(body.properties)) {
    const properties = Object.fromEntries(Object.entries(body.properties).map(([k, v]) => [k, unwrap(v)]));
    const objectType = body['is-contact'] === true ? 'contact' : hubspotType(body.objectType ?? body.objectTypeId);
    const id = idText(body.objectId ?? body['canonical-vid'] ?? body.vid ?? body.id ?? body.dealId ?? body.companyId ?? properties.hs_object_id);
    return { records: [{ objectType, id, properties, raw: body, label: label(objectType, id) }], batch: false, events: false, transition };
  }
  const objectType = hubspotType(body.objectType ?? body.objectTypeId);
  const id = idText(body.hs_object_id ?? body.objectId ?? body.id);
  return { records: [{ objectType, id, properties: body, raw: body, label: label(objectType, id) }], batch: false, events: false, transition };
}

/** Events that describe no record state a handoff could start from. */
const NON_RECORD_EVENTS = /\.(deletion|privacyDeletion|merge|restore|associationChange|newMessage)$/i;

/** Events about one object in one request are merged (in occurredAt order) into one record. */
function hubspotEvents(events: unknown[]): CrmRecord[] {
  const problems: ErrorDetail[] = [];
  const records = new Map<string, CrmRecord & { seen: { at: number; name: string; value: unknown }[] }>();
  events.forEach((event, i) => {
    if (!isRecord(event)) {
      problems.push({ path: `[${i}]`, message: `expected an event object, got ${describeValue(event)}` });
      return;
    }
    const id = idText(event.objectId);
    if (id === undefined) {
      problems.push({ path: `[${i}].objectId`, message: `expected the id of the object the event is about, got ${describeValue(event.objectId)}` });
      return;
    }
    const subscription = typeof event.subscriptionType === 'string' ? event.subscriptionType : typeof event.eventType === 'string' ? event.eventType : '';
    const prefix = subscription.split('.')[0] ?? '';
    const objectType = hubspotType(event.objectTypeId) ?? (prefix && prefix !== 'object' ? hubspotType(prefix) : undefined);
    const key = `${objectType ?? ''}:${id}`;
    let record = records.get(key);
    if (!record) {
      record = { objectType, id, properties: { hs_object_id: id }, raw: event, label: label(objectType, id), seen: [] };
      records.set(key, record);
    }
    if (NON_RECORD_EVENTS.test(subscription)) record.skip = `${subscription} events do not start handoffs`;
    if (typeof event.propertyName === 'string') {
      record.seen.push({ at: typeof event.occurredAt === 'number' ? event.occurredAt : 0, name: event.propertyName, value: event.propertyValue });
    }
  });
  if (problems.length) throw new InvalidError(`The HubSpot events could not be read: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`, problems, 'invalid_payload');
  return [...records.values()].map(({ seen, ...record }) => {
    // Later changes win when one request carries several changes of the same property.
    for (const change of [...seen].sort((a, b) => a.at - b.at)) record.properties[change.name] = change.value;
    return record;
  });
}

// ---------------------------------------------------------------------------------------------
// Salesforce

/**
 * Baton's own format for Salesforce Flow / Apex callouts (docs/crm-webhooks.md):
 * `{ "transition"?: id, "record": {…} }` or `{ "transition"?: id, "records": [{…}, …] }`, each
 * record a serialised sObject (`attributes.type`, `Id`, fields, related records as objects).
 */
export function salesforcePayload(body: unknown, queryTransition: string | undefined): CrmPayload {
  const shapeError = (details: ErrorDetail[]) =>
    new InvalidError(`The Salesforce webhook body is not in Baton's format: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}.`, details, 'invalid_payload');
  if (!isRecord(body)) throw shapeError([{ path: '(body)', message: `expected { "record": { … } } or { "records": [ … ] }, got ${describeValue(body)}` }]);
  const problems: ErrorDetail[] = [];
  for (const key of Object.keys(body)) {
    if (!['transition', 'record', 'records'].includes(key)) problems.push({ path: key, message: `unknown field "${key}" (allowed: transition, record, records)` });
  }
  if (body.transition !== undefined && (typeof body.transition !== 'string' || body.transition.trim() === '')) {
    problems.push({ path: 'transition', message: `expected a transition id, got ${describeValue(body.transition)}` });
  }
  const batch = body.records !== undefined;
  const oneShape = (body.record === undefined) !== (body.records === undefined);
  if (!oneShape) problems.push({ path: 'record', message: 'send either "record" (one record) or "records" (a list), not both and not neither' });
  const raw = !oneShape ? [] : batch ? body.records : [body.record];
  if (batch && (!Array.isArray(raw) || raw.length === 0)) problems.push({ path: 'records', message: `expected a non-empty list of records, got ${describeValue(raw)}` });
  const records: CrmRecord[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (!isRecord(item)) {
        problems.push({ path: batch ? `records.${i}` : 'record', message: `expected the record's fields as an object, got ${describeValue(item)}` });
        return;
      }
      const { attributes, ...properties } = item;
      const objectType = isRecord(attributes) && typeof attributes.type === 'string' && attributes.type.trim() ? attributes.type.trim().toLowerCase() : undefined;
      const id = idText(item.Id ?? item.id);
      const shownType = isRecord(attributes) && typeof attributes.type === 'string' ? attributes.type.trim() : undefined;
      records.push({ objectType, id, properties, raw: item, label: label(shownType, id) });
    });
  }
  if (problems.length) throw shapeError(problems);
  const transition = typeof body.transition === 'string' ? body.transition.trim() : queryTransition;
  return { records, batch, events: false, transition };
}
