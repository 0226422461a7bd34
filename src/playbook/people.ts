/**
 * The teams and people sections: who works where, who leads and heads each team, how each person
 * is reached on Slack and Teams. Also the reference checks every other section uses to name a
 * team, a stage or a person, and the resolver the build pass uses to turn an id or email into
 * a person id.
 */
import * as z from 'zod';
import { describeValue, didYouMean, isRecord, known } from './format.js';
import { businessHoursSchema, checkHolidays, teamCalendar } from './calendars.js';
import type { Parsed, Path, Problems } from './problems.js';
import type { Person, Team } from './schema.js';
import { idRefSchema, localDateSchema, matching, personRefSchema, strict, text, timeZoneSchema } from './values.js';

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

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

export type DraftTeam = Parsed<typeof teamShape>;
export type DraftPerson = Parsed<typeof personShape>;

/** Everything the cross-reference checks need to know about the file so far. */
export interface Index {
  stageIds: Set<string>;
  teamIds: Set<string>;
  teams: Map<string, DraftTeam>;
  personIds: Set<string>;
  people: Map<string, DraftPerson>;
  emails: Map<string, string>;
  calendars: Set<string>;
}

/** Emails are the ids Slack, Teams and CRMs share, so two people with one email would be ambiguous. */
export function indexEmails(problems: Problems, rawPeople: unknown, people: Map<string, DraftPerson>): Map<string, string> {
  const emails = new Map<string, string>();
  for (const [id, person] of people) {
    const raw = isRecord(rawPeople) ? rawPeople[id] : undefined;
    // A person whose email failed validation can still be referenced by what was written.
    const email = person.email ?? (isRecord(raw) && typeof raw.email === 'string' ? raw.email.trim().toLowerCase() : undefined);
    if (email === undefined) continue;
    const first = emails.get(email);
    if (first !== undefined) problems.add(['people', id, 'email'], `email "${email}" is already used by "${first}"; each person needs their own`);
    else emails.set(email, id);
  }
  return emails;
}

export function resolvePerson(index: Pick<Index, 'personIds' | 'emails'>, ref: string): string | undefined {
  const trimmed = ref.trim();
  if (trimmed.includes('@')) return index.emails.get(trimmed.toLowerCase());
  return index.personIds.has(trimmed) ? trimmed : undefined;
}

export function checkPersonRef(problems: Problems, index: Index, ref: unknown, path: Path): string | undefined {
  if (typeof ref !== 'string' || ref.trim() === '') {
    problems.add(path, `expected a person id or email, got ${describeValue(ref)}`);
    return undefined;
  }
  const id = resolvePerson(index, ref);
  if (id === undefined) {
    const candidates = ref.includes('@') ? index.emails.keys() : index.personIds;
    const hint = didYouMean(ref, candidates);
    problems.add(path, `unknown person "${ref}"${hint || ' (use the id or email of someone under people)'}`);
  }
  return id;
}

/** A reference to someone who must be active to fill the role (a team lead, an assignee, a sender). */
export function checkActiveRef(problems: Problems, index: Index, ref: unknown, path: Path, role: string): void {
  checkActive(problems, index, checkPersonRef(problems, index, ref, path), path, role);
}

function checkActive(problems: Problems, index: Index, id: string | undefined, path: Path, role: string): void {
  if (id !== undefined && index.people.get(id)?.active === false) {
    problems.add(path, `"${id}" is inactive, so cannot be ${role}; pick someone active`);
  }
}

export function checkTeamRef(problems: Problems, index: Index, ref: string | undefined, path: Path): void {
  if (ref !== undefined && !index.teamIds.has(ref)) {
    problems.add(path, `unknown team "${ref}"${didYouMean(ref, index.teamIds) || known('teams', index.teamIds)}`);
  }
}

export function checkStageRef(problems: Problems, index: Index, ref: string | undefined, path: Path): void {
  if (ref !== undefined && !index.stageIds.has(ref)) {
    problems.add(path, `unknown stage "${ref}"${didYouMean(ref, index.stageIds) || known('stages', index.stageIds)}`);
  }
}

export function checkTeams(problems: Problems, index: Index): void {
  for (const [id, team] of index.teams) {
    const path = ['teams', id];
    checkStageRef(problems, index, team.stage, [...path, 'stage']);
    if (team.lead !== undefined) {
      checkActiveRef(problems, index, team.lead, [...path, 'lead'], 'a team lead');
    }
    if (team.head !== undefined) {
      checkActiveRef(problems, index, team.head, [...path, 'head'], 'a head of function');
    }
    checkHolidays(problems, index.calendars, team.holidays ?? [], [...path, 'holidays']);
  }
}

/** A person's extra accounts (`handles`) are theirs alone too, in any workspace: one account, one person. */
function checkHandles(problems: Problems, index: Index, fields: Record<'slackUserId' | 'teamsUserId' | 'aadObjectId', Map<string, string>>): void {
  const key = (platform: string, value: string) => `${platform}\u0000${platform === 'aad' ? value.toLowerCase() : value}`;
  const owners = new Map<string, string>();
  for (const [platform, field] of [['slack', 'slackUserId'], ['teams', 'teamsUserId'], ['aad', 'aadObjectId']] as const) {
    for (const [value, id] of fields[field]) owners.set(key(platform, value), id);
  }
  for (const [id, person] of index.people) {
    (person.handles ?? []).forEach((h, i) => {
      const owner = owners.get(key(h.platform, h.id));
      if (owner !== undefined && owner !== id) problems.add(['people', id, 'handles', i], `${h.platform} id "${h.id}" is already used by "${owner}"`);
      else owners.set(key(h.platform, h.id), id);
    });
  }
}

export function checkPeople(problems: Problems, index: Index): void {
  const seen = { slackUserId: new Map<string, string>(), teamsUserId: new Map<string, string>(), aadObjectId: new Map<string, string>() };
  const managers = new Map<string, string>();
  for (const [id, person] of index.people) {
    const path = ['people', id];
    checkTeamRef(problems, index, person.team, [...path, 'team']);
    if (person.manager !== undefined && person.manager !== null) {
      const managerId = checkPersonRef(problems, index, person.manager, [...path, 'manager']);
      if (managerId === id) problems.add([...path, 'manager'], `"${id}" cannot be their own manager; leave manager empty at the top`);
      else if (managerId !== undefined) managers.set(id, managerId);
    }
    // A chat account that maps to two people would let one act as the other.
    for (const key of ['slackUserId', 'teamsUserId', 'aadObjectId'] as const) {
      const value = person[key];
      if (value === undefined || value === null) continue;
      const first = seen[key].get(value);
      if (first !== undefined) problems.add([...path, key], `${key} "${value}" is already used by "${first}"`);
      else seen[key].set(value, id);
    }
  }
  checkHandles(problems, index, seen);
  // Escalation walks manager chains; a loop would walk forever.
  const reported = new Set<string>();
  for (const start of managers.keys()) {
    const chain: string[] = [start];
    let next = managers.get(start);
    while (next !== undefined && !chain.includes(next)) {
      chain.push(next);
      next = managers.get(next);
    }
    if (next === start && !reported.has(start)) {
      chain.forEach((member) => reported.add(member));
      problems.add(['people', start, 'manager'], `managers form a loop: ${[...chain, start].join(' → ')}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Build pass: the file is known to be valid here
// ---------------------------------------------------------------------------------------

/** Turns a person id or email into the person's id; the check pass has verified every reference. */
export type PersonResolver = (ref: string) => string;

export function personResolver(people: Record<string, { email: string }>): PersonResolver {
  const personIds = new Set(Object.keys(people));
  const emails = new Map(Object.entries(people).map(([id, p]) => [p.email, id]));
  return (ref: string): string => {
    const id = resolvePerson({ personIds, emails }, ref);
    if (id === undefined) throw new Error(`unresolved person "${ref}" after the check pass`);
    return id;
  };
}

export function buildTeams(
  teams: Record<string, z.output<typeof teamSchema>>,
  holidayCalendars: Record<string, string[]>,
  person: PersonResolver,
): Team[] {
  return Object.entries(teams).map(([id, t]) => ({
    id,
    name: t.name,
    stage: t.stage,
    calendar: teamCalendar(t, holidayCalendars),
    leadId: person(t.lead),
    headId: person(t.head ?? t.lead),
    channels: { ...(t.channels?.slack ? { slack: t.channels.slack } : {}), ...(t.channels?.teams ? { teams: t.channels.teams } : {}) },
  }));
}

/** Looks a team up by id; the check pass has verified every team reference. */
export function teamFinder(teams: readonly Team[]): (id: string) => Team {
  const teamById = new Map(teams.map((t) => [t.id, t]));
  return (id: string): Team => {
    const found = teamById.get(id);
    if (!found) throw new Error(`unresolved team "${id}" after the check pass`);
    return found;
  };
}

export function buildPeople(people: Record<string, z.output<typeof personSchema>>, person: PersonResolver, team: (id: string) => Team): Person[] {
  return Object.entries(people).map(([id, p]) => ({
    id,
    name: p.name,
    email: p.email,
    teamId: p.team,
    managerId: p.manager ? person(p.manager) : null,
    slackUserId: p.slackUserId ?? null,
    teamsUserId: p.teamsUserId ?? null,
    aadObjectId: p.aadObjectId ?? null,
    ...(p.handles?.length ? { handles: p.handles.map((h) => ({ platform: h.platform, ...(h.workspace ? { workspace: h.workspace } : {}), id: h.id })) } : {}),
    timeZone: p.timeZone ?? team(p.team).calendar.timeZone,
    awayUntil: p.awayUntil ?? null,
    active: p.active,
  }));
}
