/**
 * The playbook of the reliability suite: a 24/7 calendar (business time = wall time, so SLAs in
 * seconds fire when a test expects them), several receiving teams each with its own Slack and
 * Teams channel (a burst spreads over channels, as a real company's would), every person on both
 * platforms, and one person in each role the README's "Who may act" table names.
 *
 * People:
 *   sally (sender, team alpha, manager sol)   sol (alpha's lead: the sender's lead)
 *   own{k}a / own{k}b (owners in team r{k}, manager lead{k})   lead{k} (r{k}'s lead)
 *   adam (playbook admin, team ops)   olga (another member, team ops: no role on any handoff)
 * Transitions: to_r{k} (alpha → r{k}), SLA accept 1h; timed_r{k} (alpha → r{k}) with an accept SLA
 * of seconds, one reminder, and an escalation to the owner's lead.
 */
import { parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';

export interface ReliabilityPlaybookOptions {
  /** Receiving teams (each with its own channels). */
  teams?: number;
  /** SLA of the `timed` transition. */
  timed?: { accept: string; nudgesAt: number[] };
}

const allWeek = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `      ${d}: "00:00-24:00"`).join('\n');

/** Slack ids are U/C + at least 6 of [A-Z0-9]. */
export const slackUser = (key: string) => `U0${key.toUpperCase().replace(/[^A-Z0-9]/g, '')}00`;
export const teamsUser = (key: string) => `29:rel-${key}`;
export const slackChannel = (k: number) => `C0REL${String(k).padStart(4, '0')}`;
export const teamsChannel = (k: number) => `19:rel${k}channel@thread.tacv2`;

function person(key: string, name: string, team: string, manager: string | null): string {
  return `  ${key}:
    name: ${name}
    email: ${key}@rel.example
    team: ${team}
    manager: ${manager ?? 'null'}
    slackUserId: ${slackUser(key)}
    teamsUserId: "${teamsUser(key)}"`;
}

function packet(): string {
  return `    packet:
      note:
        label: Note
        type: text
        description: What the receiver needs to know
        example: Call them this week
      title:
        label: Title
        type: string
        required: false
        description: One line
        example: Expansion
      link:
        label: Link
        type: url
        required: false
        description: A page about it
        example: https://rel.example/deal
      amount:
        label: Amount
        type: number
        required: false
        description: Deal size
        example: 1200
      tags:
        label: Tags
        type: list
        required: false
        description: Labels
        example: [a, b]`;
}

export function reliabilityPlaybookYaml(opts: ReliabilityPlaybookOptions = {}): string {
  const k = opts.teams ?? 4;
  const timed = opts.timed ?? { accept: '6s', nudgesAt: [0.5] };
  const ids = Array.from({ length: k }, (_, i) => i + 1);
  const stages = ['  s_alpha: Alpha', '  s_ops: Ops', ...ids.map((i) => `  s_r${i}: Receiving ${i}`)].join('\n');
  const team = (id: string, name: string, stage: string, lead: string, channels?: number) => `  ${id}:
    name: ${name}
    stage: ${stage}
    timeZone: UTC
    businessHours:
${allWeek}
    lead: ${lead}${
      channels === undefined
        ? ''
        : `
    channels:
      slack: ${slackChannel(channels)}
      teams: "${teamsChannel(channels)}"`
    }`;
  const teams = [team('alpha', 'Alpha', 's_alpha', 'sol'), team('ops', 'Ops', 's_ops', 'adam'), ...ids.map((i) => team(`r${i}`, `Receiving ${i}`, `s_r${i}`, `lead${i}`, i))].join('\n');
  const people = [
    person('sally', 'Sally Sender', 'alpha', 'sol'),
    person('sol', 'Sol Senderlead', 'alpha', null),
    person('adam', 'Adam Admin', 'ops', null),
    person('olga', 'Olga Other', 'ops', 'adam'),
    ...ids.flatMap((i) => [person(`lead${i}`, `Lee Lead${i}`, `r${i}`, null), person(`own${i}a`, `Oona Owner${i}a`, `r${i}`, `lead${i}`), person(`own${i}b`, `Otto Owner${i}b`, `r${i}`, `lead${i}`)]),
  ].join('\n');
  const transition = (id: string, to: number, sla: string, extra = '') => `  ${id}:
    name: To receiving ${to}
    from: alpha
    to: r${to}
${packet()}
${sla}${extra}
    routing:
      queue: [own${to}a, own${to}b]
    fallbackOwner: lead${to}
    rejectReasons:
      not_ready: Not ready yet
      wrong_team: Wrong team`;
  const transitions = [
    ...ids.map((i) => transition(`to_r${i}`, i, '    sla:\n      accept: 1h\n      firstTouch: 1h\n    nudgesAt: [0.5]')),
    ...ids.map((i) =>
      transition(
        `timed_r${i}`,
        i,
        `    sla:\n      accept: ${timed.accept}\n      firstTouch: 1h\n    nudgesAt: [${timed.nudgesAt.join(', ')}]`,
        '\n    escalation:\n      chain: [owner_lead]\n      repeatEvery: 1h\n      reassignAfter: never',
      ),
    ),
  ].join('\n');
  return `organization:
  name: Reliability Co
  timeZone: UTC
admins:
  - adam
stages:
${stages}
teams:
${teams}
people:
${people}
transitions:
${transitions}
`;
}

const cache = new Map<string, Playbook>();
export function reliabilityPlaybook(opts: ReliabilityPlaybookOptions = {}): Playbook {
  const yaml = reliabilityPlaybookYaml(opts);
  let pb = cache.get(yaml);
  if (!pb) {
    pb = parsePlaybook(yaml, 'reliability.yml');
    cache.set(yaml, pb);
  }
  return pb;
}

let seq = 0;
/** A valid intake body for `to_r{team}` (or another transition), with a fresh account. */
export function intakeBody(opts: { team?: number; transition?: string; to?: string; tag?: string; packet?: Record<string, unknown>; account?: Record<string, unknown> } = {}): Record<string, unknown> {
  const n = ++seq;
  const tag = opts.tag ?? `${process.pid}-${n}`;
  return {
    transition: opts.transition ?? `to_r${opts.team ?? 1}`,
    account: { name: `Rel Account ${tag}`, domain: `rel-${tag.toLowerCase().replace(/[^a-z0-9-]/g, '-')}.example`, ...opts.account },
    from: 'sally',
    ...(opts.to ? { to: opts.to } : {}),
    packet: { note: `Handoff ${tag}`, ...opts.packet },
  };
}
