/**
 * The smallest playbook a real team runs on: one team with its people, one transition into it
 * (an accept SLA with reminders, escalation to the owner's lead, a fallback owner) and an admin.
 * Built as commented YAML text rather than from an object so the file explains itself to the
 * RevOps person who edits it next; every value a person typed is written as a JSON string, which
 * YAML reads back unchanged whatever characters it holds.
 */

export interface PersonAnswer {
  name: string;
  email: string;
  slackUserId?: string;
  teamsUserId?: string;
  aadObjectId?: string;
  /** Marked `lead`; without any, the first person leads the team. */
  lead?: boolean;
}

export interface InitAnswers {
  org: string;
  timeZone: string;
  team: string;
  people: PersonAnswer[];
  channels: { slack?: string; teams?: string };
  /** Monday to Friday, e.g. "09:00-17:00". */
  hours: string;
  /** Empty: the domains of the people's emails. */
  emailDomains: string[];
}

export const DEFAULT_HOURS = '09:00-17:00';
export const PERSON_FORMAT = 'Name <email> [slack=U…] [teams=29:…] [aad=<Entra object id>] [lead]';

/** What a person typed for someone, e.g. `Dana Kim <dana@acme.example> slack=U0123ABCD lead`. */
export function parsePersonSpec(spec: string): PersonAnswer {
  const match = /^\s*([^<>]*?)\s*<([^<>\s]+)>(.*)$/.exec(spec);
  if (!match) throw new Error(`"${spec}" is not a person: write ${PERSON_FORMAT}, e.g. "Dana Kim <dana@acme.example> slack=U0123ABCD"`);
  const [, name = '', email = '', rest = ''] = match;
  if (name === '') throw new Error(`"${spec}" has no name before <${email}>: write ${PERSON_FORMAT}`);
  const person: PersonAnswer = { name, email };
  for (const token of rest.trim().split(/\s+/).filter(Boolean)) {
    const [key, ...valueParts] = token.split('=');
    const value = valueParts.join('=');
    if (key === 'lead' && valueParts.length === 0) person.lead = true;
    else if (key === 'slack' && value) person.slackUserId = value;
    else if (key === 'teams' && value) person.teamsUserId = value;
    else if (key === 'aad' && value) person.aadObjectId = value;
    else throw new Error(`"${token}" in "${spec}" is not one of slack=…, teams=…, aad=… or lead`);
  }
  return person;
}

/** An id for the team from its name: lower-case letters, digits and underscores, starting with a letter. */
export function teamId(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (slug === '') return 'team';
  return /^[a-z]/.test(slug) ? slug : `team_${slug}`;
}

/** Person ids from the emails' local parts (`dana.kim@…` → `dana.kim`), made unique. */
export function personIds(people: readonly PersonAnswer[]): string[] {
  const taken = new Set<string>();
  return people.map((p) => {
    const local = (p.email.split('@')[0] ?? '').toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').replace(/^[^a-z]+/, '');
    const base = local === '' ? 'person' : local;
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
    taken.add(id);
    return id;
  });
}

export function leadIndex(people: readonly PersonAnswer[]): number {
  return Math.max(0, people.findIndex((p) => p.lead));
}

export function transitionId(answers: Pick<InitAnswers, 'team'>): string {
  return `inbound_to_${teamId(answers.team)}`;
}

export function emailDomains(answers: Pick<InitAnswers, 'people' | 'emailDomains'>): string[] {
  if (answers.emailDomains.length > 0) return answers.emailDomains;
  return [...new Set(answers.people.map((p) => p.email.split('@')[1]?.toLowerCase()).filter((d): d is string => Boolean(d)))];
}

const q = (value: string) => JSON.stringify(value);

export function minimalPlaybookYaml(answers: InitAnswers, generatedOn: string): string {
  const team = teamId(answers.team);
  // The stage a handoff leaves must differ from the team's own; "inbound" unless the team is called that.
  const fromStage = team === 'inbound' ? 'incoming' : 'inbound';
  const ids = personIds(answers.people);
  const lead = ids[leadIndex(answers.people)] ?? 'lead';
  const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => `      ${d}: ${q(answers.hours)}`).join('\n');
  const channels = Object.entries(answers.channels).filter(([, id]) => id);
  const people = answers.people
    .map((p, i) => {
      const id = ids[i]!;
      return [
        `  ${id}:`,
        `    name: ${q(p.name)}`,
        `    email: ${q(p.email)}`,
        `    team: ${team}`,
        ...(id === lead ? [] : [`    manager: ${lead}`]),
        ...(p.slackUserId ? [`    slackUserId: ${q(p.slackUserId)}`] : []),
        ...(p.teamsUserId ? [`    teamsUserId: ${q(p.teamsUserId)}`] : []),
        ...(p.aadObjectId ? [`    aadObjectId: ${q(p.aadObjectId)}`] : []),
      ].join('\n');
    })
    .join('\n');

  return `# Baton playbook for ${answers.org.replace(/\s+/g, ' ')}, written by \`npx baton init\` on ${generatedOn}.
# One team, one transition into it. Grow it from the full example (playbook.yml in Baton's
# repository) and the README's "The playbook"; check every change with
#   npx baton playbook check <this file>

organization:
  name: ${q(answers.org)}
  timeZone: ${q(answers.timeZone)}
  # A Teams account without a teamsUserId/aadObjectId below is linked to a person only by a
  # sign-in name on these domains (docs/teams.md).
  emailDomains: [${emailDomains(answers).map(q).join(', ')}]

# Who may act on any handoff, and is told about people Baton does not know.
admins: [${lead}]

# The journey stages, in order. Handoffs arrive in "${fromStage}" and move to the team's stage.
stages:
  ${fromStage}: Inbound
  ${team}: ${q(answers.team)}

teams:
  ${team}:
    name: ${q(answers.team)}
    stage: ${team}
    timeZone: ${q(answers.timeZone)}
    # SLAs count only these hours, in the team's time zone; a day left out is closed.
    businessHours:
${weekdays}
    lead: ${lead}${
      channels.length === 0
        ? `
    # channels: { slack: C0123ABCD, teams: "19:…@thread.tacv2" }   where the team's cards are posted`
        : `
    channels:
${channels.map(([platform, id]) => `      ${platform}: ${q(id!)}`).join('\n')}`
    }

people:
${people}

transitions:
  ${transitionId(answers)}:
    name: ${q(`Inbound → ${answers.team}`)}
    description: A new lead or request for the team to take on.
    from: ${team}
    to: ${team}
    fromStage: ${fromStage}
    toStage: ${team}
    # What every handoff must carry: Baton refuses one without the required fields.
    packet:
      summary:
        label: Summary
        type: text
        description: What the new owner needs to know to act
        example: Asked for a demo for 40 seats; budget approved for this quarter
      crm_link:
        label: CRM record
        type: url
        required: false
        description: The record in your CRM
        example: https://crm.example/deals/8812
    # Business time to accept, then to the first customer touch. Reminders to the owner at 50 %
    # and 80 % of it; on a breach Baton escalates to the owner's lead, then the head of the team.
    sla:
      accept: 4h
      firstTouch: 8h
    nudgesAt: [0.5, 0.8]
    # Round-robin over the team's active people; nobody available → the fallback owner.
    fallbackOwner: ${lead}
    rejectReasons:
      not_a_fit: Not a fit for us
      missing_context: Missing context
      duplicate: Already being handled

# A weekly digest of the team's breaches and KPIs.
digest:
  day: monday
  time: "08:00"
  subscribers: [${lead}]
`;
}
