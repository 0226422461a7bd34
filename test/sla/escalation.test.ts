/**
 * Who each step of an escalation chain reaches, for a given owner and receiving team.
 */
import { chainStep, escalationRole, resolveEscalationTarget, type DirectoryView } from '../../src/sla/escalation.js';
import type { Person, Team } from '../../src/playbook/schema.js';
import type { BusinessCalendar } from '../../src/sla/businessCalendar.js';

const cal: BusinessCalendar = { timeZone: 'UTC', weekly: { 1: [], 2: [], 3: [], 4: [], 5: [{ start: 0, end: 1440 }], 6: [], 7: [] }, holidays: [] };

function person(id: string, p: Partial<Person> = {}): Person {
  return { id, name: id.toUpperCase(), email: `${id}@x.example`, teamId: 'sales', managerId: null, slackUserId: null, teamsUserId: null, aadObjectId: null, timeZone: 'UTC', awayUntil: null, active: true, ...p };
}

// sales: lead "lena", head "hugo"; "ann" reports to "mia" (her manager, not the team lead).
const people = [
  person('ann', { managerId: 'mia' }),
  person('bob'),
  person('mia'),
  person('lena', { managerId: 'hugo' }),
  person('hugo'),
  person('gone', { active: false }),
  person('zoe', { teamId: 'support' }),
];
const teams: Team[] = [
  { id: 'sales', name: 'Sales', stage: 's', calendar: cal, leadId: 'lena', headId: 'hugo', channels: {} },
  { id: 'solo', name: 'Solo', stage: 'x', calendar: cal, leadId: 'hugo', headId: 'hugo', channels: {} },
];
const dir: DirectoryView = { byId: new Map(people.map((p) => [p.id, p])), teams: new Map(teams.map((t) => [t.id, t])) };
const who = (target: Parameters<typeof resolveEscalationTarget>[0], ownerId: string, teamId = 'sales') => resolveEscalationTarget(target, { ownerId, teamId }, dir)?.id ?? null;

describe('resolveEscalationTarget', () => {
  it('owner_lead: the owner\'s manager first', () => {
    expect(who('owner_lead', 'ann')).toBe('mia');
  });
  it('owner_lead: the team lead when the owner has no manager', () => {
    expect(who('owner_lead', 'bob')).toBe('lena');
  });
  it('owner_lead for the team lead: their own manager (here the head)', () => {
    expect(who('owner_lead', 'lena')).toBe('hugo');
  });
  it('team_lead and function_head: the receiving team\'s lead and head', () => {
    expect(who('team_lead', 'ann')).toBe('lena');
    expect(who('function_head', 'ann')).toBe('hugo');
  });
  it('never escalates to the owner themself; nobody left → null', () => {
    expect(who('team_lead', 'lena')).toBe('hugo');
    expect(who('function_head', 'hugo')).toBeNull();
    expect(who('owner_lead', 'hugo', 'solo')).toBeNull();
  });
  it('a named person, or the head when that person is inactive', () => {
    expect(who({ personId: 'zoe' }, 'ann')).toBe('zoe');
    expect(who({ personId: 'gone' }, 'ann')).toBe('hugo');
  });
  it('uses the receiving team even when the owner belongs to another team (fallback owner)', () => {
    expect(who('team_lead', 'zoe')).toBe('lena');
  });
});

describe('chainStep and escalationRole', () => {
  it('takes the step for a level, the last one repeating past the end', () => {
    const chain = ['owner_lead', 'function_head'] as const;
    expect(chainStep(chain, 1)).toBe('owner_lead');
    expect(chainStep(chain, 2)).toBe('function_head');
    expect(chainStep(chain, 5)).toBe('function_head');
    expect(chainStep([], 1)).toBeNull();
  });
  it('names the role of a step', () => {
    expect(escalationRole('team_lead')).toBe('team_lead');
    expect(escalationRole({ personId: 'zoe' })).toBe('person');
  });
});
