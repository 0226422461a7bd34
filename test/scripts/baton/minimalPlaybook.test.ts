/**
 * The pieces of `baton init` that turn answers into files: the person line, ids made from names
 * and emails, the playbook text (whatever a person typed, the loader reads back what they typed)
 * and the .env lines.
 */
import { envFromExample, envValue } from '../../../scripts/baton/envFile.js';
import { minimalPlaybookYaml, parsePersonSpec, personIds, teamId, type InitAnswers } from '../../../scripts/baton/minimalPlaybook.js';
import { parsePlaybook } from '../../../src/playbook/load.js';

const answers = (over: Partial<InitAnswers> = {}): InitAnswers => ({
  org: 'Acme',
  timeZone: 'UTC',
  team: 'Sales',
  people: [{ name: 'Dana Kim', email: 'dana@acme.example' }],
  channels: {},
  hours: '09:00-17:00',
  emailDomains: [],
  ...over,
});

describe('parsePersonSpec', () => {
  it('reads the name, the email and each platform id, in any order', () => {
    expect(parsePersonSpec('Dana Kim <dana@acme.example> teams=29:1a-b aad=6f1c2a9e-3b7d-4c55-9a0e-2d8b51f0c4aa slack=U0DANA001 lead')).toEqual({
      name: 'Dana Kim',
      email: 'dana@acme.example',
      teamsUserId: '29:1a-b',
      aadObjectId: '6f1c2a9e-3b7d-4c55-9a0e-2d8b51f0c4aa',
      slackUserId: 'U0DANA001',
      lead: true,
    });
    expect(parsePersonSpec('  Zoë O\'Neil   <zoe@acme.example>  ')).toEqual({ name: 'Zoë O\'Neil', email: 'zoe@acme.example' });
  });

  it('says what it expected for a line it cannot read', () => {
    expect(() => parsePersonSpec('<dana@acme.example>')).toThrow('"<dana@acme.example>" has no name before <dana@acme.example>');
    expect(() => parsePersonSpec('Dana dana@acme.example')).toThrow('is not a person: write Name <email>');
    expect(() => parsePersonSpec('Dana <dana@acme.example> slack:U0DANA001')).toThrow('"slack:U0DANA001" in "Dana <dana@acme.example> slack:U0DANA001" is not one of slack=…, teams=…, aad=… or lead');
    expect(() => parsePersonSpec('Dana <dana@acme.example> slack=')).toThrow('"slack=" in');
  });
});

describe('ids', () => {
  it('makes a team id the loader accepts from any team name', () => {
    expect(teamId('Customer Success')).toBe('customer_success');
    expect(teamId('Équipe Ventes')).toBe('equipe_ventes');
    expect(teamId('2nd line support')).toBe('team_2nd_line_support');
    expect(teamId('東京')).toBe('team');
  });

  it('makes person ids from the emails, unique', () => {
    const people = ['dana.kim@a.example', 'Dana.Kim@b.example', '1st@a.example', 'o+brien@a.example'].map((email) => ({ name: 'X', email }));
    expect(personIds(people)).toEqual(['dana.kim', 'dana.kim_2', 'st', 'o_brien']);
  });
});

describe('minimalPlaybookYaml', () => {
  it('writes what was typed, quotes and colons and hashes included, and the loader reads it back', () => {
    const playbook = parsePlaybook(
      minimalPlaybookYaml(answers({ org: 'Acme: "Co" #1', team: 'R&D: "Core"', people: [{ name: 'Dana # Kim', email: 'dana@acme.example' }] }), '2026-12-06'),
    );
    expect(playbook.organization.name).toBe('Acme: "Co" #1');
    expect(playbook.teams[0]).toMatchObject({ id: 'r_d_core', name: 'R&D: "Core"' });
    expect(playbook.people[0]!.name).toBe('Dana # Kim');
    expect(playbook.transitions[0]!.name).toBe('Inbound → R&D: "Core"');
  });

  it('gives a team called Inbound a stage of its own to receive into', () => {
    const playbook = parsePlaybook(minimalPlaybookYaml(answers({ team: 'Inbound' }), '2026-12-06'));
    expect(playbook.stages.map((s) => s.id)).toEqual(['incoming', 'inbound']);
    expect(playbook.transitions[0]).toMatchObject({ id: 'inbound_to_inbound', fromStage: 'incoming', toStage: 'inbound' });
  });

  it('lists the given email domains, else the people\'s', () => {
    const people = [
      { name: 'A', email: 'a@one.example' },
      { name: 'B', email: 'b@Two.example' },
      { name: 'C', email: 'c@one.example' },
    ];
    expect(parsePlaybook(minimalPlaybookYaml(answers({ people }), 'today')).organization.emailDomains).toEqual(['one.example', 'two.example']);
    expect(parsePlaybook(minimalPlaybookYaml(answers({ people, emailDomains: ['one.example'] }), 'today')).organization.emailDomains).toEqual(['one.example']);
  });
});

describe('envFromExample', () => {
  const example = '# Server\n# PORT=3000\n# The playbook.\n# BATON_PLAYBOOK=playbook.yml\n';

  it('sets a variable on its commented-out line, keeps every other line, and puts the header on top', () => {
    expect(envFromExample(example, { BATON_PLAYBOOK: 'team.yml' }, 'Written by init.')).toBe(
      '# Written by init.\n#\n# Server\n# PORT=3000\n# The playbook.\nBATON_PLAYBOOK=team.yml\n',
    );
  });

  it('adds a variable the example does not name at the end', () => {
    expect(envFromExample(example, { EXTRA: '1' }, 'h')).toBe(`# h\n#\n${example}EXTRA=1\n`);
  });

  it('quotes a value only when it must, and refuses one a .env cannot hold', () => {
    expect(envValue('https://baton.example.com/x')).toBe('https://baton.example.com/x');
    expect(envValue('my playbooks/team.yml')).toBe('"my playbooks/team.yml"');
    expect(() => envValue('a"b')).toThrow('cannot write "a\\"b" to .env');
    expect(() => envValue('$HOME/x')).toThrow('to .env');
  });
});
