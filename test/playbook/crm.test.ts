/** The playbook's crm: section — CRM webhook field mappings — as loaded and as refused. */
import { loadPlaybook, parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';
import { MINIMAL, at, patch, problemsOf } from './helpers.js';

const CRM = `
crm:
  salesforce:
    transitions:
      a_to_b:
        objectType: Opportunity
        when:
          StageName: [Closed Won, Closed Won - Expansion]
          IsWon: true
        from:
          property: Owner.Email
          map:
            "005ABC": cat
          default: ANN@test.example
        to:
          person: cat
        account:
          name: Account.Name
          domain:
            template: "{Account.Slug}.example"
        packet:
          score:
            property: Score__c
            default: 1
          tier:
            property: Tier__c
            map:
              Gold Tier: gold
              Silver Tier: silver
`;

describe('the default playbook', () => {
  let pb: Playbook;
  beforeAll(async () => {
    pb = await loadPlaybook('playbook.yml');
  });

  it('maps HubSpot MQLs to marketing_to_sdr and Salesforce closed-won opportunities to ae_to_implementation', () => {
    expect(pb.crm?.hubspot?.secretEnv).toBe('HUBSPOT_CLIENT_SECRET');
    expect(pb.crm?.hubspot?.mappings.map((m) => [m.transitionId, m.objectType, m.when])).toEqual([
      ['marketing_to_sdr', 'contact', [{ property: 'lifecyclestage', values: ['marketingqualifiedlead'] }]],
    ]);
    expect(pb.crm?.salesforce?.secretEnv).toBe('SALESFORCE_WEBHOOK_SECRET');
    expect(pb.crm?.salesforce?.mappings.map((m) => [m.transitionId, m.objectType, m.recordId])).toEqual([['ae_to_implementation', 'opportunity', 'Id']]);
    const mql = pb.crm!.hubspot!.mappings[0]!;
    expect(mql.from).toEqual({ property: 'hubspot_owner_id', map: { '41730015': 'maya', '41730016': 'liam' }, defaultId: 'maya' });
    expect(mql.packet.lifecycle_stage).toEqual({
      property: 'lifecyclestage',
      map: { subscriber: 'subscriber', lead: 'lead', marketingqualifiedlead: 'MQL', salesqualifiedlead: 'SQL' },
    });
    expect(mql.packet.intent_signals).toEqual({ property: 'intent_signals', split: '\n' });
  });

  it('maps every required packet field of the mapped transitions', () => {
    for (const source of [pb.crm!.hubspot!, pb.crm!.salesforce!]) {
      for (const m of source.mappings) {
        const t = pb.transitions.find((x) => x.id === m.transitionId)!;
        for (const field of t.packet.filter((f) => f.required)) expect({ field: field.key, mapped: Object.hasOwn(m.packet, field.key) }).toEqual({ field: field.key, mapped: true });
      }
    }
  });
});

describe('a crm section', () => {
  it('is optional', () => {
    expect(parsePlaybook(MINIMAL).crm).toEqual({});
  });

  it('normalises mappings: property shorthand, default secret variable, people resolved, map keys lower-cased', () => {
    const pb = parsePlaybook(MINIMAL + CRM);
    expect(pb.crm).toEqual({
      salesforce: {
        secretEnv: 'SALESFORCE_WEBHOOK_SECRET',
        mappings: [
          {
            transitionId: 'a_to_b',
            objectType: 'opportunity',
            when: [
              { property: 'StageName', values: ['Closed Won', 'Closed Won - Expansion'] },
              { property: 'IsWon', values: [true] },
            ],
            recordId: null,
            from: { property: 'Owner.Email', map: { '005abc': 'cat' }, defaultId: 'ann' },
            to: { personId: 'cat' },
            account: { name: { property: 'Account.Name' }, domain: { template: '{Account.Slug}.example' } },
            packet: {
              score: { property: 'Score__c', default: 1 },
              tier: { property: 'Tier__c', map: { 'gold tier': 'gold', 'silver tier': 'silver' } },
            },
          },
        ],
      },
    });
  });
});

describe('crm errors', () => {
  const withCrm = (find: string, replace: string) => patch(MINIMAL + CRM, find, replace, 'crm:');

  it('names unknown sources, transitions and keys, with suggestions', () => {
    const source = withCrm('  salesforce:', '  salesforse:');
    expect(problemsOf(source)).toEqual([{ path: 'crm.salesforse', message: `${at(source, 'salesforse:')} unknown key "salesforse"; did you mean "salesforce"?` }]);
    const transition = withCrm('      a_to_b:', '      a_to_c:');
    expect(problemsOf(transition)).toEqual([{ path: 'crm.salesforce.transitions.a_to_c', message: `${at(transition, 'a_to_c:')} unknown transition "a_to_c"; did you mean "a_to_b"?` }]);
    const key = withCrm('        objectType: Opportunity', '        objectType: Opportunity\n        recordID: Id');
    expect(problemsOf(key)).toEqual([{ path: 'crm.salesforce.transitions.a_to_b.recordID', message: `${at(key, 'recordID')} unknown key "recordID"; did you mean "recordId"?` }]);
    const env = withCrm('  salesforce:\n', '  salesforce:\n    secretEnv: sf-secret\n');
    expect(problemsOf(env)).toEqual([
      { path: 'crm.salesforce.secretEnv', message: `${at(env, 'secretEnv')} expected an environment variable name like HUBSPOT_CLIENT_SECRET, got "sf-secret"` },
    ]);
  });

  it('checks packet mappings against the transition: unknown and unmapped required fields', () => {
    const text = withCrm('          score:\n            property: Score__c\n            default: 1\n', '          scor: Score__c\n');
    expect(problemsOf(text)).toEqual([
      { path: 'crm.salesforce.transitions.a_to_b.packet', message: `${at(text, 'packet:', 'crm:')} required field "score" is not mapped: give it a CRM property, a value or a template` },
      { path: 'crm.salesforce.transitions.a_to_b.packet.scor', message: `${at(text, 'scor:')} no packet field "scor" in this transition; did you mean "score"?` },
    ]);
  });

  it('checks constants, defaults and map targets against the field type, and split against lists (in file order)', () => {
    const text = withCrm('              Silver Tier: silver', '              Silver Tier: bronze').replace('            default: 1', '            default: high\n            split: ","');
    expect(problemsOf(text)).toEqual([
      { path: 'crm.salesforce.transitions.a_to_b.packet.score.default', message: `${at(text, 'default: high')} the default "high" does not fit this number field: expected a number, got "high"` },
      { path: 'crm.salesforce.transitions.a_to_b.packet.score.split', message: `${at(text, 'split:')} split only applies to list fields; this field's type is number` },
      {
        path: 'crm.salesforce.transitions.a_to_b.packet.tier.map.Silver Tier',
        message: `${at(text, 'Silver Tier')} "bronze" (for "Silver Tier") does not fit this enum field: expected one of gold, silver, got "bronze"`,
      },
    ]);
  });

  it('wants exactly one source per value, and a placeholder in templates', () => {
    const both = withCrm('            property: Score__c\n            default: 1', '            property: Score__c\n            value: 3');
    expect(problemsOf(both)).toEqual([{ path: 'crm.salesforce.transitions.a_to_b.packet.score', message: `${at(both, 'score:', 'crm:')} use one of property, value and template, found property and value` }]);
    const none = withCrm('            property: Score__c\n            default: 1', '            default: 1');
    expect(problemsOf(none)).toEqual([
      { path: 'crm.salesforce.transitions.a_to_b.packet.score', message: `${at(none, 'score:', 'crm:')} say where the value comes from: property (a CRM property), value (a constant) or template` },
    ]);
    const flat = withCrm('            template: "{Account.Slug}.example"', '            template: acme.example');
    expect(problemsOf(flat)).toEqual([
      { path: 'crm.salesforce.transitions.a_to_b.account.domain.template', message: `${at(flat, 'template: acme')} a template needs at least one {Property} placeholder; use value for a constant` },
    ]);
    const number = withCrm('          tier:\n            property: Tier__c', '          tier: 7\n          x:\n            property: Tier__c');
    expect(problemsOf(number)).toContainEqual({
      path: 'crm.salesforce.transitions.a_to_b.packet.tier',
      message: `${at(number, 'tier: 7')} expected a CRM property name, or { property, map, default, split }, { value } or { template }, got 7`,
    });
  });

  it('checks people: unknown and inactive senders, person and property together, a missing account name', () => {
    const people = withCrm('            "005ABC": cat', '            "005ABC": kat').replace('          person: cat', '          person: cat\n          property: Assignee__c');
    expect(problemsOf(people)).toEqual([
      { path: 'crm.salesforce.transitions.a_to_b.from.map.005ABC', message: `${at(people, '"005ABC"')} unknown person "kat"; did you mean "cat"?` },
      {
        path: 'crm.salesforce.transitions.a_to_b.to',
        message: `${at(people, 'to:', 'crm:')} give either person (always this person) or property (a CRM property holding an email or user id), not both and not neither`,
      },
    ]);
    const inactive = patch(withCrm('          default: ANN@test.example', '          default: cat@test.example'), '    manager: bob', '    manager: bob\n    active: false');
    expect(problemsOf(inactive)).toEqual([
      { path: 'crm.salesforce.transitions.a_to_b.from.map.005ABC', message: `${at(inactive, '"005ABC"')} "cat" is inactive, so cannot be the sender of handoffs; pick someone active` },
      { path: 'crm.salesforce.transitions.a_to_b.from.default', message: `${at(inactive, 'default: cat@')} "cat" is inactive, so cannot be the sender of handoffs; pick someone active` },
      { path: 'crm.salesforce.transitions.a_to_b.to.person', message: `${at(inactive, 'person: cat')} "cat" is inactive, so cannot be assigned handoffs; pick someone active` },
    ]);
    const nameless = withCrm('          name: Account.Name\n', '');
    expect(problemsOf(nameless)).toEqual([{ path: 'crm.salesforce.transitions.a_to_b.account.name', message: `${at(nameless, 'account:', 'crm:')} "name" is required` }]);
  });
});
