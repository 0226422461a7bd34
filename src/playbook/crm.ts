/**
 * The crm section: which HubSpot and Salesforce records start which transition, and where each
 * account and packet value comes from. Its YAML form, the checks that refuse a mapping that
 * could never produce an accepted handoff, and the normalised CrmConfig (types in schema.ts).
 * Applying a mapping to a delivered record is src/webhooks/mapping.ts.
 */
import * as z from 'zod';
import { describeValue, didYouMean, isRecord, known } from './format.js';
import { valueMisfit, type DraftField, type DraftPacket } from './packetFields.js';
import { checkActiveRef, type Index, type PersonResolver } from './people.js';
import { entries, fields, unknownKeyMessage, type Path, type Problems } from './problems.js';
import {
  CRM_DEFAULT_SECRET_ENV,
  CRM_SOURCES,
  type CrmConfig,
  type CrmMapping,
  type CrmPersonSpec,
  type CrmSourceId,
  type CrmValueSpec,
} from './schema.js';
import { addProblem, ID_PATTERN, matching, personRefSchema, scalarSchema, strict, text } from './values.js';

const crmConstantSchema = z.union([scalarSchema, z.array(scalarSchema)], {
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
    // Keys stay as written here so problems point at them; buildCrm lower-cases them.
    if (spec.map !== undefined) out.map = spec.map;
    if (spec.default !== undefined) out.default = spec.default;
    if (spec.split !== undefined) out.split = spec.split;
    return out;
  });

/** Raw form; people are resolved to ids by buildCrm. */
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
  z.union([scalarSchema, z.array(scalarSchema).min(1)], {
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

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

/**
 * A mapping that can never produce an accepted handoff would fail every delivery from the CRM,
 * so it is refused here, where RevOps sees it, rather than in a webhook log.
 */
export function checkCrm(problems: Problems, index: Index, raw: unknown, packets: Map<string, DraftPacket>): void {
  if (!isRecord(raw)) {
    problems.add(['crm'], `expected CRM sources (${CRM_SOURCES.join(', ')}), got ${describeValue(raw)}`);
    return;
  }
  for (const key of Object.keys(raw)) {
    if (!(CRM_SOURCES as readonly string[]).includes(key)) problems.add(['crm', key], unknownKeyMessage(key, CRM_SOURCES));
  }
  for (const source of CRM_SOURCES) {
    const rawSource = raw[source];
    if (rawSource === undefined) continue;
    const path = ['crm', source];
    const { transitions: _transitions, ...coreShape } = crmSourceShape;
    const parsed = fields(problems, coreShape, rawSource, path, `crm source "${source}"`, ['transitions']);
    if (!parsed || !isRecord(rawSource)) continue;
    if (rawSource.transitions === undefined || rawSource.transitions === null) {
      problems.add([...path, 'transitions'], '"transitions" is required: map at least one transition, keyed by transition id');
      continue;
    }
    for (const [id, rawMapping] of entries(problems, rawSource.transitions, [...path, 'transitions'], 'transition', ID_PATTERN)) {
      const mappingPath = [...path, 'transitions', id];
      if (!packets.has(id)) {
        const ids = [...packets.keys()];
        problems.add(mappingPath, `unknown transition "${id}"${didYouMean(id, ids) || known('transitions', ids)}`);
        continue;
      }
      checkCrmMapping(problems, index, source, rawMapping, packets.get(id), mappingPath);
    }
  }
}

function checkCrmMapping(problems: Problems, index: Index, source: CrmSourceId, raw: unknown, packet: DraftPacket, path: Path): void {
  const m = fields(problems, crmMappingShape, raw, path, `the ${source} mapping`);
  if (!m || !isRecord(raw)) return;

  const checkPerson = (spec: typeof m.from, at: Path, role: string): void => {
    if (!spec) return;
    if (spec.person !== undefined) checkActiveRef(problems, index, spec.person, [...at, 'person'], role);
    if (spec.default !== undefined) checkActiveRef(problems, index, spec.default, [...at, 'default'], role);
    for (const [key, ref] of Object.entries(spec.map ?? {})) {
      checkActiveRef(problems, index, ref, [...at, 'map', key], role);
    }
  };
  checkPerson(m.from, [...path, 'from'], 'the sender of handoffs');
  checkPerson(m.to, [...path, 'to'], 'assigned handoffs');

  if (!packet || !m.packet) return;
  const keys = [...packet.keys()];
  for (const [key, spec] of Object.entries(m.packet)) {
    const fieldPath = [...path, 'packet', key];
    if (!packet.has(key)) {
      problems.add(fieldPath, `no packet field "${key}" in this transition${didYouMean(key, keys) || known('fields', keys)}`);
      continue;
    }
    const field = packet.get(key);
    if (field) checkCrmValue(problems, field, spec, fieldPath);
  }
  for (const [key, field] of packet) {
    if (field?.required && !Object.hasOwn(m.packet, key)) {
      problems.add([...path, 'packet'], `required field "${key}" is not mapped: give it a CRM property, a value or a template`);
    }
  }
}

/** Constants, defaults and map targets are checked against the field now, not on the first delivery. */
function checkCrmValue(problems: Problems, field: DraftField, spec: CrmValueSpec, path: Path): void {
  if (spec.split !== undefined && field.type !== 'list') {
    problems.add([...path, 'split'], `split only applies to list fields; this field's type is ${field.type}`);
  }
  const fits = (value: unknown, at: Path, what: string): void => {
    const candidate = field.type === 'list' && !Array.isArray(value) ? [value] : value;
    const misfit = valueMisfit(field, typeof candidate === 'number' && field.type !== 'number' ? String(candidate) : candidate, what);
    if (misfit !== undefined) problems.add(at, misfit);
  };
  if (spec.value !== undefined) fits(spec.value, [...path, 'value'], `the value ${describeValue(spec.value)}`);
  if (spec.default !== undefined) fits(spec.default, [...path, 'default'], `the default ${describeValue(spec.default)}`);
  for (const [crmValue, target] of Object.entries(spec.map ?? {})) {
    fits(target, [...path, 'map', crmValue], `${describeValue(target)} (for ${describeValue(crmValue)})`);
  }
}

// ---------------------------------------------------------------------------------------
// Build pass: the file is known to be valid here
// ---------------------------------------------------------------------------------------

export function buildCrm(section: z.output<typeof crmSchema> | undefined, person: PersonResolver): CrmConfig {
  const crmPerson = (spec: { person?: string | undefined; property?: string | undefined; map?: Record<string, string> | undefined; default?: string | undefined }): CrmPersonSpec => ({
    ...(spec.person !== undefined ? { personId: person(spec.person) } : {}),
    ...(spec.property !== undefined ? { property: spec.property } : {}),
    ...(spec.map !== undefined ? { map: Object.fromEntries(Object.entries(spec.map).map(([k, ref]) => [k.trim().toLowerCase(), person(ref)])) } : {}),
    ...(spec.default !== undefined ? { defaultId: person(spec.default) } : {}),
  });
  // CRM values are matched case-insensitively ("Closed Won" = "closed won"), so map keys are stored lower-cased.
  const crmValue = (spec: CrmValueSpec): CrmValueSpec =>
    spec.map ? { ...spec, map: Object.fromEntries(Object.entries(spec.map).map(([k, v]) => [k.trim().toLowerCase(), v])) } : spec;
  const crm: CrmConfig = {};
  for (const source of CRM_SOURCES) {
    const raw = section?.[source];
    if (!raw) continue;
    crm[source] = {
      secretEnv: raw.secretEnv ?? CRM_DEFAULT_SECRET_ENV[source],
      mappings: Object.entries(raw.transitions).map(
        ([transitionId, m]): CrmMapping => ({
          transitionId,
          objectType: m.objectType?.toLowerCase() ?? null,
          when: Object.entries(m.when ?? {}).map(([property, v]) => ({ property, values: Array.isArray(v) ? v : [v] })),
          recordId: m.recordId ?? null,
          from: crmPerson(m.from),
          to: m.to ? crmPerson(m.to) : null,
          account: Object.fromEntries(Object.entries(m.account).flatMap(([k, spec]) => (spec ? [[k, crmValue(spec)]] : []))) as CrmMapping['account'],
          packet: Object.fromEntries(Object.entries(m.packet).map(([k, spec]) => [k, crmValue(spec)])),
        }),
      ),
    };
  }

  return crm;
}
