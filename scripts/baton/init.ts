/**
 * `baton init`: from a fresh clone to a Baton for your own team. Asks for (or takes as options) the
 * organisation, its time zone, a first team with its people and the team's channel; writes a
 * minimal playbook and a .env made from .env.example; prints the next two commands.
 *
 * Every answer is judged by Baton's own playbook loader — each one as it is typed, on a trial
 * playbook, and the whole file before it is written — so init never writes a playbook that Baton
 * would refuse, and its messages are the ones `npm start` would give.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IANAZone } from 'luxon';
import { loadConfig } from '../../src/config.js';
import { ConfigError, PlaybookError, type ErrorDetail } from '../../src/errors.js';
import { loadPlaybook, parsePlaybook } from '../../src/playbook/load.js';
import { parseFlags, UsageError, type CliIo } from './cli.js';
import { envFromExample } from './envFile.js';
import {
  DEFAULT_HOURS,
  emailDomains,
  leadIndex,
  minimalPlaybookYaml,
  parsePersonSpec,
  PERSON_FORMAT,
  personIds,
  teamId,
  transitionId,
  type InitAnswers,
  type PersonAnswer,
} from './minimalPlaybook.js';
import { createPrompter, InputEndedError, type Prompter } from './prompt.js';
import { locateProblem } from './playbookCheck.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_PLAYBOOK_OUT = 'playbook.local.yml';

/** Something the person running init changes; the message says what. Exit code 1. */
export class InitError extends Error {}

const FLAGS = {
  values: {
    org: {},
    'time-zone': {},
    team: {},
    person: { repeatable: true },
    channel: { repeatable: true },
    hours: {},
    'email-domain': { repeatable: true },
    'public-url': {},
    'playbook-out': {},
    'env-out': {},
  },
  switches: ['yes', 'force'],
} as const;

type Draft = Partial<Omit<InitAnswers, 'channels' | 'people' | 'emailDomains'>> & Pick<InitAnswers, 'channels' | 'people' | 'emailDomains'>;

export async function runInit(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(args, { values: FLAGS.values, switches: FLAGS.switches });
  if (flags.positional.length > 0) throw new UsageError(`baton init takes options only, got "${flags.positional.join(' ')}".`);
  const one = (name: string) => flags.values.get(name)?.[0];
  const playbookOut = one('playbook-out') ?? DEFAULT_PLAYBOOK_OUT;
  const envOut = one('env-out') ?? '.env';
  const out = (line = '') => io.stdout.write(`${line}\n`);
  const prompter = flags.switches.has('yes') ? undefined : createPrompter(io.stdin, io.stdout);
  try {
    // Refuse before asking anything: answering ten questions to be told a file exists wastes them.
    const files = [playbookOut, envOut].map((f) => resolve(io.cwd, f));
    if (!flags.switches.has('force')) {
      for (const [i, file] of files.entries()) {
        if (existsSync(file)) {
          const option = i === 0 ? '--playbook-out <another file>' : '--env-out <another file>';
          throw new InitError(`${[playbookOut, envOut][i]} exists already, so init changed nothing: run it with --force to replace it, or ${option}.`);
        }
      }
    }

    const draft: Draft = {
      channels: parseChannels(flags.values.get('channel') ?? []),
      people: (flags.values.get('person') ?? []).map(personFromFlag),
      emailDomains: flags.values.get('email-domain') ?? [],
    };
    const org = one('org');
    const timeZone = one('time-zone');
    const team = one('team');
    const hours = one('hours');
    if (org !== undefined) draft.org = org;
    if (timeZone !== undefined) draft.timeZone = timeZone;
    if (team !== undefined) draft.team = team;
    if (hours !== undefined) draft.hours = hours;
    let publicUrl = one('public-url');

    let answers: InitAnswers;
    if (prompter) {
      out(`Baton init: a first playbook (${playbookOut}) and ${envOut} for your team. Press Enter to take a [default].`);
      answers = await ask(prompter, draft, out);
      publicUrl ??= (await prompter.ask('Public https URL where Slack and Teams will reach Baton (empty if you have none yet):')) || undefined;
    } else {
      answers = complete(draft);
    }

    const generatedOn = new Date().toISOString().slice(0, 10);
    const yaml = minimalPlaybookYaml(answers, generatedOn);
    const problems = playbookProblems(yaml, playbookOut);
    if (problems.length > 0) {
      throw new InitError(`These answers do not make a valid playbook, so nothing was written:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`);
    }
    const env: Record<string, string> = { BATON_PLAYBOOK: playbookOut, ...(publicUrl ? { BATON_PUBLIC_URL: publicUrl } : {}) };
    try {
      loadConfig(env, io.cwd);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw new InitError(`${err.details?.map((d) => `${d.path === 'BATON_PUBLIC_URL' ? '--public-url' : d.path}: ${d.message}`).join('\n')}\nNothing was written.`);
    }

    let envText: string;
    try {
      const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
      envText = envFromExample(example, env, `Written by \`npx baton init\` on ${generatedOn} from .env.example; it set ${Object.keys(env).join(' and ')}.`);
    } catch (err) {
      throw new InitError(`${(err as Error).message}. Nothing was written.`);
    }

    if (prompter) {
      const confirmed = await prompter.ask(`Write ${playbookOut} and ${envOut}? (y/n)`, 'y');
      if (!/^y(es)?$/i.test(confirmed)) {
        out('Nothing was written.');
        return 1;
      }
    }

    writeFileSync(files[0]!, yaml);
    // Secrets go into .env next (Slack, Teams), so only its owner may read it.
    writeFileSync(files[1]!, envText, { mode: 0o600 });
    // The file as written, through the loader Baton starts with.
    const playbook = await loadPlaybook(files[0]!);

    const lead = answers.people[leadIndex(answers.people)]!;
    // Relative when init runs inside the Baton directory (the usual case), absolute otherwise.
    const startPath = join(ROOT, 'scripts', 'start.mjs');
    const startScript = relative(io.cwd, startPath).startsWith('..') ? startPath : relative(io.cwd, startPath);
    const body = JSON.stringify({
      transition: transitionId(answers),
      account: { name: 'My first customer' },
      from: lead.email,
      packet: { summary: 'My first handoff through Baton' },
    });
    out();
    out(`Wrote ${playbookOut}: ${playbook.teams[0]?.name} with ${playbook.people.map((p) => p.name).join(', ')}; handoffs "${playbook.transitions[0]?.name}" go round-robin to them, ${lead.name} leads, is the fallback owner and the admin.`);
    out(`Wrote ${envOut}: .env.example with BATON_PLAYBOOK=${playbookOut}${publicUrl ? ` and BATON_PUBLIC_URL=${publicUrl}` : ''}.`);
    out();
    out('Next:');
    // npm start reads the .env beside package.json itself; any other place is named explicitly.
    const startCommand = resolve(io.cwd, envOut) === join(ROOT, '.env') ? 'npm start' : `node --env-file=${envOut} ${startScript}`;
    out(`  1. Start Baton with them:   ${startCommand}`);
    out(`  2. In another terminal, send your first handoff:`);
    // An email may hold a ' (o'brien@…): close the quote, escape it, reopen.
    out(`     curl -s -H "Authorization: Bearer $(cat .baton-data/api-token)" -H 'Content-Type: application/json' http://127.0.0.1:3000/api/handoffs -d '${body.replaceAll("'", "'\\''")}'`);
    out();
    out('Then connect Slack or Teams: docs/quickstart.md. Check the playbook after each edit: npx baton playbook check ' + playbookOut);
    return 0;
  } catch (err) {
    if (err instanceof InitError || err instanceof InputEndedError) {
      io.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    prompter?.close();
  }
}

function personFromFlag(spec: string): PersonAnswer {
  try {
    return parsePersonSpec(spec);
  } catch (err) {
    throw new InitError(`--person: ${(err as Error).message}`);
  }
}

export function parseChannels(specs: readonly string[]): InitAnswers['channels'] {
  const channels: InitAnswers['channels'] = {};
  for (const spec of specs) {
    const match = /^(slack|teams)=(.+)$/.exec(spec.trim());
    if (!match) throw new InitError(`--channel "${spec}": write slack=<channel id> (e.g. slack=C0123ABCD) or teams=<channel id> (e.g. teams=19:abc…@thread.tacv2).`);
    const platform = match[1] as 'slack' | 'teams';
    if (channels[platform] !== undefined) throw new InitError(`--channel ${platform}=… is given twice; a team has one ${platform} channel.`);
    channels[platform] = match[2]!;
  }
  return channels;
}

function systemTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && IANAZone.isValidZone(zone) ? zone : 'UTC';
}

/** --yes: defaults for what has one, and a message naming the options for what has none. */
function complete(draft: Draft): InitAnswers {
  const missing = [
    ...(draft.org === undefined ? ['--org "Your company"'] : []),
    ...(draft.team === undefined ? ['--team "Sales"'] : []),
    ...(draft.people.length === 0 ? [`--person "${PERSON_FORMAT}" (once per person)`] : []),
  ];
  if (missing.length > 0) throw new InitError(`With --yes, init asks nothing, so it needs ${missing.join(', ')}.`);
  return { ...draft, org: draft.org!, team: draft.team!, timeZone: draft.timeZone ?? systemTimeZone(), hours: draft.hours ?? DEFAULT_HOURS };
}

/** The loader's problems with a playbook text, each without the line and column of a file not written yet. */
function playbookProblems(yaml: string, source: string): ErrorDetail[] {
  try {
    parsePlaybook(yaml, source);
    return [];
  } catch (err) {
    if (!(err instanceof PlaybookError)) throw err;
    return (err.details ?? []).map((d) => {
      const { path, message } = locateProblem(d);
      return { path, message };
    });
  }
}

const PLACEHOLDER_PERSON: PersonAnswer = { name: 'Placeholder', email: 'placeholder@example.com' };

/**
 * What the loader says about one answer: the draft so far, with stand-ins for what is not asked
 * yet, made into a trial playbook; only the problems under `paths` concern the answer.
 */
function answerProblems(draft: Draft, paths: string[]): string[] {
  const trial: InitAnswers = {
    org: draft.org ?? 'Placeholder',
    timeZone: draft.timeZone ?? 'UTC',
    team: draft.team ?? 'Team',
    people: draft.people.length > 0 ? draft.people : [PLACEHOLDER_PERSON],
    channels: draft.channels,
    hours: draft.hours ?? DEFAULT_HOURS,
    emailDomains: draft.emailDomains,
  };
  const messages = playbookProblems(minimalPlaybookYaml(trial, 'today'), 'playbook')
    .filter((d) => paths.some((p) => d.path === p || d.path.startsWith(`${p}.`)))
    .map((d) => d.message);
  // The same hours on five weekdays give the same problem five times.
  return [...new Set(messages)];
}

/** Asks until the loader has nothing to say about the answer; returns it. */
async function askValid(prompter: Prompter, out: (line: string) => void, question: string, fallback: string | undefined, judge: (answer: string) => string[]): Promise<string> {
  for (;;) {
    const answer = await prompter.ask(question, fallback);
    const problems = answer === '' ? ['an answer is needed'] : judge(answer);
    if (problems.length === 0) return answer;
    for (const problem of problems) out(`  ✗ ${problem}`);
  }
}

async function ask(prompter: Prompter, draft: Draft, out: (line: string) => void): Promise<InitAnswers> {
  draft.org ??= await askValid(prompter, out, 'Organisation name:', undefined, (org) => answerProblems({ ...draft, org }, ['organization.name']));
  draft.timeZone ??= await askValid(prompter, out, 'Time zone (IANA name, e.g. Europe/Berlin):', systemTimeZone(), (timeZone) =>
    answerProblems({ ...draft, timeZone }, ['organization.timeZone']),
  );
  draft.team ??= await askValid(prompter, out, 'First team (e.g. Sales):', undefined, (team) => answerProblems({ ...draft, team }, [`teams.${teamId(team)}.name`]));
  draft.hours ??= await askValid(prompter, out, 'Its working hours, Monday to Friday:', DEFAULT_HOURS, (hours) =>
    answerProblems({ ...draft, hours }, [`teams.${teamId(draft.team!)}.businessHours`]),
  );
  if (draft.people.length === 0) {
    out(`The team's people, one per line: ${PERSON_FORMAT}`);
    out('  slack= is the Slack member ID (profile → ⋮ → Copy member ID); without it Baton matches their Slack email.');
    out('  teams= / aad= is their Teams user id or Entra object id (docs/teams.md). The first person, or the one marked lead, leads the team.');
    for (;;) {
      const n = draft.people.length + 1;
      const spec = await prompter.ask(n === 1 ? `Person ${n}:` : `Person ${n} (empty line when done):`);
      if (spec === '') {
        if (n === 1) out('  ✗ the team needs at least one person');
        if (n === 1) continue;
        break;
      }
      let person: PersonAnswer;
      try {
        person = parsePersonSpec(spec);
      } catch (err) {
        out(`  ✗ ${(err as Error).message}`);
        continue;
      }
      const people = [...draft.people, person];
      const id = personIds(people).at(-1)!;
      const problems = answerProblems({ ...draft, people }, [`people.${id}`]);
      if (problems.length > 0) for (const problem of problems) out(`  ✗ ${problem}`);
      else draft.people.push(person);
    }
  }
  if (draft.emailDomains.length === 0) {
    const domains = await askValid(prompter, out, 'Your organisation\'s email domains, comma-separated:', emailDomains(draft).join(', '), (answer) =>
      answerProblems({ ...draft, emailDomains: splitList(answer) }, ['organization.emailDomains']),
    );
    draft.emailDomains = splitList(domains);
  }
  const team = teamId(draft.team!);
  // --channel given: those are the team's channels, nothing to ask.
  const platforms = draft.channels.slack === undefined && draft.channels.teams === undefined ? (['slack', 'teams'] as const) : [];
  for (const platform of platforms) {
    const example = platform === 'slack' ? 'C0123ABCD: channel details → About → Channel ID' : '19:…@thread.tacv2: channel ⋯ → Get link to channel';
    for (;;) {
      const id = await prompter.ask(`The team's ${platform === 'slack' ? 'Slack' : 'Teams'} channel id (${example}; empty for none):`);
      if (id === '') break;
      const problems = answerProblems({ ...draft, channels: { ...draft.channels, [platform]: id } }, [`teams.${team}.channels`]);
      if (problems.length === 0) {
        draft.channels[platform] = id;
        break;
      }
      for (const problem of problems) out(`  ✗ ${problem}`);
    }
  }
  return complete(draft);
}

function splitList(answer: string): string[] {
  return answer
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
