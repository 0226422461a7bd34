import { loadPlaybook } from '../../src/playbook/load.js';
import {
  criterionHolds,
  evaluateEntryCriteria,
  exampleRequest,
  packetJsonSchema,
  packetSchema,
  validatePacket,
  type CriteriaSubject,
} from '../../src/playbook/packet.js';
import type { CriterionOp, EntryCriterion, PacketField, Playbook, Transition } from '../../src/playbook/schema.js';
import { describeCriterion } from '../../src/playbook/packetFields.js';

let pb: Playbook;
beforeAll(async () => {
  pb = await loadPlaybook('playbook.yml');
});

function transition(id: string): Transition {
  const found = pb.transitions.find((t) => t.id === id);
  if (!found) throw new Error(`no transition ${id}`);
  return found;
}

function field(key: string, type: PacketField['type'], extra: Partial<PacketField> = {}): PacketField {
  return { key, label: key.toUpperCase(), type, required: true, description: `the ${key}`, example: null, ...extra };
}

/** A transition with just the given fields, for schema edge cases independent of the default playbook. */
function withFields(...packet: PacketField[]): Transition {
  return { ...transition('marketing_to_sdr'), id: `test_${packet.map((f) => f.key).join('_')}`, packet };
}

describe('exampleRequest', () => {
  it('passes packet validation and entry criteria for every transition', () => {
    for (const t of pb.transitions) {
      const example = exampleRequest(t, pb);
      expect(example.transition).toBe(t.id);
      expect(example.account).toEqual({ name: 'Acme Logistics', domain: 'acme-logistics.example', crmId: '0015g00000AcmeLGX' });
      const sender = pb.people.find((p) => p.email === example.from);
      expect(sender).toMatchObject({ teamId: t.fromTeamId, active: true, awayUntil: null });
      expect(Object.keys(example.packet)).toEqual(t.packet.map((f) => f.key));

      const validated = validatePacket(t, example.packet);
      expect({ transition: t.id, validated }).toEqual({ transition: t.id, validated: { ok: true, packet: expect.any(Object) } });
      if (!validated.ok) continue;
      expect(evaluateEntryCriteria(t.entryCriteria, { packet: validated.packet, account: example.account })).toEqual([]);
      expect(packetSchema(t).safeParse(example.packet).success).toBe(true);
    }
  });

  it('is sent by someone doing the work rather than the lead or an absent colleague', () => {
    expect(exampleRequest(transition('marketing_to_sdr'), pb).from).toBe('liam.chen@northwind.example');
    // Noah (CS) is away, Diego heads the function: the CS lead sends.
    expect(exampleRequest(transition('cs_to_support'), pb).from).toBe('emily.carter@northwind.example');
  });
});

describe('packetJsonSchema', () => {
  it('is an object schema with documented properties and a required list', () => {
    const t = transition('marketing_to_sdr');
    const schema = packetJsonSchema(t);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(t.packet.map((f) => f.key));
    expect(schema.required).toEqual(t.packet.filter((f) => f.required).map((f) => f.key));
    expect(schema.required).not.toContain('lead_score');
    expect(schema.properties.icp_fit).toMatchObject({
      type: 'string',
      enum: ['A', 'B', 'C'],
      title: 'ICP fit',
      description: 'Fit against the ideal customer profile (A = core segment, C = weak fit).',
    });
    expect(schema.properties.consent_given).toMatchObject({ type: 'boolean', title: 'Marketing consent' });
    expect(schema.properties.intent_signals).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', minLength: 1, maxLength: 500 },
    });
    expect(schema.properties.routing_reason).toMatchObject({ type: 'string', minLength: 1, maxLength: 500 });
    expect(schema.properties.next_best_action).toMatchObject({ type: 'string', maxLength: 4_000 });
    expect(schema.properties.lead_score).toMatchObject({ type: 'number', examples: [87] });
  });

  it('documents every length cap from the field type: url 2,048, email 254, text 4,000 or the playbook\'s maxLength', () => {
    const schema = packetJsonSchema(
      withFields(field('site', 'url', { example: 'https://a.example' }), field('mail', 'email', { example: 'a@b.example' }), field('long', 'text', { maxLength: 9_000, example: 'x' })),
    );
    expect(schema.properties.site).toMatchObject({ type: 'string', format: 'uri', maxLength: 2_048 });
    expect(schema.properties.mail).toMatchObject({ type: 'string', format: 'email', maxLength: 254 });
    expect(schema.properties.long).toMatchObject({ type: 'string', maxLength: 9_000 });
  });

  it('refuses an over-long url or email by its length alone, and still checks the format of a short one', () => {
    const t = withFields(field('site', 'url', { example: 'https://a.example' }), field('mail', 'email', { example: 'a@b.example' }));
    expect(validatePacket(t, { site: `https://a.example/${'p'.repeat(2_100)}`, mail: `${'m'.repeat(300)}@b.example` })).toEqual({
      ok: false,
      details: [
        { path: 'packet.site', message: '"SITE" is 2118 characters long; at most 2048 are allowed' },
        { path: 'packet.mail', message: '"MAIL" is 310 characters long; at most 254 are allowed' },
      ],
    });
    expect(validatePacket(t, { site: 'ftp://a.example', mail: 'nope' })).toEqual({
      ok: false,
      details: [
        { path: 'packet.site', message: 'expected an http(s) URL like https://example.com/page, got "ftp://a.example"' },
        { path: 'packet.mail', message: 'expected an email address, got "nope"' },
      ],
    });
    expect(validatePacket(t, { site: `https://a.example/${'p'.repeat(2_000)}`, mail: 'a@b.example' }).ok).toBe(true);
  });

  it('keeps "required" as an array when every field is optional', () => {
    const schema = packetJsonSchema(withFields(field('note', 'text', { required: false, example: 'x' })));
    expect(schema).toMatchObject({ type: 'object', required: [], properties: { note: { type: 'string' } } });
  });

  it('documents every transition of the default playbook', () => {
    for (const t of pb.transitions) {
      const schema = packetJsonSchema(t);
      expect(schema.type).toBe('object');
      expect(Array.isArray(schema.required)).toBe(true);
      for (const f of t.packet) expect(schema.properties[f.key]).toMatchObject({ title: f.label, description: f.description });
    }
  });
});

describe('validatePacket', () => {
  const m2s = () => transition('marketing_to_sdr');
  const good = () => exampleRequest(m2s(), pb).packet;

  it('names a missing required field by its label', () => {
    const { icp_fit: _dropped, ...packet } = good();
    expect(validatePacket(m2s(), packet)).toEqual({ ok: false, details: [{ path: 'packet.icp_fit', message: 'required field "ICP fit" is missing' }] });
    expect(validatePacket(m2s(), { ...good(), icp_fit: null })).toEqual({
      ok: false,
      details: [{ path: 'packet.icp_fit', message: 'required field "ICP fit" is missing' }],
    });
  });

  it('reports wrong types, enum values, empty and over-long values', () => {
    const result = validatePacket(m2s(), {
      ...good(),
      icp_fit: 'D',
      intent_signals: [],
      routing_reason: '   ',
      consent_given: 'yes',
      next_best_action: 'x'.repeat(4_001),
      lead_score: 'high',
    });
    expect(result).toEqual({
      ok: false,
      details: [
        { path: 'packet.icp_fit', message: 'expected one of A, B, C, got "D"' },
        { path: 'packet.intent_signals', message: 'required field "Intent / signals" needs at least one entry' },
        { path: 'packet.routing_reason', message: 'required field "Routing reason" is empty' },
        { path: 'packet.consent_given', message: 'expected true or false, got "yes"' },
        { path: 'packet.next_best_action', message: '"Next-best action" is 4001 characters long; at most 4000 are allowed' },
        { path: 'packet.lead_score', message: 'expected a number, got "high"' },
      ],
    });
  });

  it('refuses unknown fields, one detail per field, listing the real ones', () => {
    const keys = m2s().packet.map((f) => f.key).join(', ');
    expect(validatePacket(m2s(), { ...good(), foo: 1, icp: 'A' })).toEqual({
      ok: false,
      details: [
        { path: 'packet.foo', message: `unknown field "foo" (this transition's fields are: ${keys})` },
        { path: 'packet.icp', message: `unknown field "icp" (this transition's fields are: ${keys})` },
      ],
    });
  });

  it('refuses a packet that is not an object', () => {
    expect(validatePacket(m2s(), ['a'])).toEqual({
      ok: false,
      details: [{ path: 'packet', message: 'the packet must be an object with this transition\'s fields, got ["a"]' }],
    });
  });

  it('trims text and treats blank optional fields as absent', () => {
    const result = validatePacket(m2s(), { ...good(), routing_reason: '  Tier A  ', lead_score: null });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.packet.routing_reason).toBe('Tier A');
    expect(result.packet).not.toHaveProperty('lead_score');
  });

  it('checks each field type', () => {
    const t = withFields(
      field('due', 'date', { required: false }),
      field('link', 'url', { required: false }),
      field('mail', 'email', { required: false }),
      field('tags', 'list', { required: false }),
      field('count', 'number', { required: false }),
    );
    const ok = (packet: Record<string, unknown>) => validatePacket(t, packet).ok;
    const problem = (packet: Record<string, unknown>) => {
      const result = validatePacket(t, packet);
      return result.ok ? undefined : result.details;
    };
    expect(ok({ due: '2026-03-31', link: 'https://acme.example/x', mail: 'a@acme.example', tags: ['a'], count: 2.5 })).toBe(true);
    expect(ok({ due: '2026-03-31T14:00:00Z' })).toBe(true);
    expect(ok({ due: '2026-03-31T14:00:00+05:30' })).toBe(true);
    expect(ok({ tags: [] })).toBe(true);
    expect(problem({ due: '31/03/2026' })).toEqual([
      { path: 'packet.due', message: 'expected a date like 2026-03-31 or a date-time like 2026-03-31T14:00:00Z, got "31/03/2026"' },
    ]);
    expect(problem({ due: '2026-02-30' })?.[0]?.path).toBe('packet.due');
    expect(problem({ link: 'ftp://acme.example/x' })).toEqual([
      { path: 'packet.link', message: 'expected an http(s) URL like https://example.com/page, got "ftp://acme.example/x"' },
    ]);
    expect(problem({ mail: 'not-an-email' })).toEqual([{ path: 'packet.mail', message: 'expected an email address, got "not-an-email"' }]);
    expect(problem({ tags: 'a, b' })).toEqual([{ path: 'packet.tags', message: 'expected a list of text entries, got "a, b"' }]);
    expect(problem({ tags: ['ok', ' ', 3] })).toEqual([
      { path: 'packet.tags.1', message: 'entries must not be empty' },
      { path: 'packet.tags.2', message: 'expected text, got 3' },
    ]);
    expect(problem({ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) })).toEqual([
      { path: 'packet.tags', message: '"TAGS" has 101 entries; at most 100 are allowed' },
    ]);
    expect(problem({ count: '3' })).toEqual([{ path: 'packet.count', message: 'expected a number, got "3"' }]);
  });
});

describe('entry criteria', () => {
  const subject = (packet: Record<string, unknown>, account: Partial<CriteriaSubject['account']> = {}): CriteriaSubject => ({
    packet,
    account: { name: 'Acme Logistics', ...account },
  });
  const rule = (field: string, op: CriterionOp, value?: unknown): EntryCriterion => ({ field, op, value, message: describeCriterion(op, value) });

  it('explains an unmet criterion with the rule and the actual value', () => {
    const criteria = transition('marketing_to_sdr').entryCriteria;
    const packet = { ...exampleRequest(transition('marketing_to_sdr'), pb).packet, lifecycle_stage: 'lead', consent_given: false };
    expect(evaluateEntryCriteria(criteria, subject(packet))).toEqual([
      { path: 'packet.lifecycle_stage', message: 'entry criterion not met: must equal "MQL" (got "lead")' },
      { path: 'packet.consent_given', message: 'entry criterion not met: consent to be contacted must be recorded before sales outreach (got false)' },
    ]);
    expect(evaluateEntryCriteria([rule('packet.lifecycle_stage', 'equals', 'MQL')], subject({}))).toEqual([
      { path: 'packet.lifecycle_stage', message: 'entry criterion not met: must equal "MQL" (got nothing)' },
    ]);
  });

  it.each<[string, EntryCriterion, CriteriaSubject, boolean]>([
    ['equals (ignores case and padding)', rule('account.region', 'equals', 'EMEA'), subject({}, { region: ' emea ' }), true],
    ['equals, other value', rule('account.region', 'equals', 'EMEA'), subject({}, { region: 'APAC' }), false],
    ['equals boolean', rule('packet.ok', 'equals', true), subject({ ok: true }), true],
    ['equals boolean, not "true"', rule('packet.ok', 'equals', true), subject({ ok: 'true' }), false],
    ['notEquals', rule('packet.stage', 'notEquals', 'lead'), subject({ stage: 'MQL' }), true],
    ['notEquals, same value', rule('packet.stage', 'notEquals', 'lead'), subject({ stage: 'Lead' }), false],
    ['notEquals holds when absent', rule('packet.stage', 'notEquals', 'lead'), subject({}), true],
    ['in', rule('packet.sev', 'in', ['sev1', 'sev2']), subject({ sev: 'sev2' }), true],
    ['in, not listed', rule('packet.sev', 'in', ['sev1', 'sev2']), subject({ sev: 'sev4' }), false],
    ['in, absent', rule('packet.sev', 'in', ['sev1']), subject({}), false],
    ['notIn', rule('packet.sev', 'notIn', ['sev4']), subject({ sev: 'sev1' }), true],
    ['notIn, listed', rule('packet.sev', 'notIn', ['sev4']), subject({ sev: 'sev4' }), false],
    ['exists', rule('account.crmId', 'exists', true), subject({}, { crmId: '001' }), true],
    ['exists, blank', rule('account.crmId', 'exists', true), subject({}, { crmId: '  ' }), false],
    ['exists, empty list', rule('packet.tags', 'exists', true), subject({ tags: [] }), false],
    ['exists: false', rule('account.crmId', 'exists', false), subject({}, { crmId: null }), true],
    ['gte', rule('packet.n', 'gte', 10), subject({ n: 10 }), true],
    ['gte, below', rule('packet.n', 'gte', 10), subject({ n: 9 }), false],
    ['gte, not a number', rule('packet.n', 'gte', 10), subject({ n: '12' }), false],
    ['gt', rule('packet.n', 'gt', 0), subject({ n: 0.5 }), true],
    ['gt, equal', rule('packet.n', 'gt', 0), subject({ n: 0 }), false],
    ['lte', rule('packet.n', 'lte', 5), subject({ n: 5 }), true],
    ['lt', rule('packet.n', 'lt', 5), subject({ n: 5 }), false],
    ['lt, absent', rule('packet.n', 'lt', 5), subject({}), false],
    ['gte on dates', rule('packet.d', 'gte', '2026-06-01'), subject({ d: '2026-06-01T09:00:00Z' }), true],
    ['lt on dates', rule('packet.d', 'lt', '2026-06-01'), subject({ d: '2026-06-02' }), false],
    ['matches', rule('packet.url', 'matches', '^https://northwind\\.lightning\\.force\\.com/'), subject({ url: 'https://northwind.lightning.force.com/x' }), true],
    ['matches, no match', rule('packet.url', 'matches', '^https://northwind'), subject({ url: 'https://evil.example' }), false],
    ['matches with /…/i flags', rule('account.domain', 'matches', '/\\.EXAMPLE$/i'), subject({}, { domain: 'acme.example' }), true],
    ['matches, not text', rule('packet.n', 'matches', '5'), subject({ n: 5 }), false],
  ])('%s', (_name, criterion, subj, holds) => {
    expect(criterionHolds(criterion, subj)).toBe(holds);
    expect(evaluateEntryCriteria([criterion], subj)).toHaveLength(holds ? 0 : 1);
  });

  it('words default messages from the op and value', () => {
    expect(describeCriterion('equals', 'MQL')).toBe('must equal "MQL"');
    expect(describeCriterion('notEquals', 3)).toBe('must not equal 3');
    expect(describeCriterion('in', ['A', 'B'])).toBe('must be one of "A", "B"');
    expect(describeCriterion('notIn', ['sev4'])).toBe('must not be one of "sev4"');
    expect(describeCriterion('exists', true)).toBe('must be present');
    expect(describeCriterion('exists', false)).toBe('must be absent');
    expect(describeCriterion('gte', 10)).toBe('must be at least 10');
    expect(describeCriterion('lte', 10)).toBe('must be at most 10');
    expect(describeCriterion('gt', 0)).toBe('must be greater than 0');
    expect(describeCriterion('lt', 5)).toBe('must be less than 5');
    expect(describeCriterion('gte', '2026-01-01')).toBe('must be on or after 2026-01-01');
    expect(describeCriterion('lt', '2026-01-01')).toBe('must be before 2026-01-01');
    expect(describeCriterion('matches', '^https://')).toBe('must match ^https://');
  });
});
