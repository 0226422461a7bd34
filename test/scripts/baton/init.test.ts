/**
 * `baton init` as a newcomer runs it, a real child process in an empty directory: with options,
 * then Baton started on what it wrote (issue #19: "npx baton init with flags, npm start gives a
 * Baton for a three-person team with one transition"); answers piped into its questions; and the
 * refusals (a file that exists, options missing under --yes, an answer the playbook loader refuses).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { projectRoot } from '../../../src/store/migrate.js';
import { startChildBaton, type ChildBaton } from '../../reliability/child.js';
import { BATON_BIN, runBaton } from './run.js';

const THREE_PEOPLE = [
  '--person',
  'Dana Kim <dana@acme.example> slack=U0DANA001 teams=29:dana-teams',
  '--person',
  'Eli Park <eli@acme.example> slack=U0ELI0001',
  '--person',
  'Fay Ng <fay@acme.example>',
];
const FLAGS = ['--yes', '--org', 'Acme Co', '--time-zone', 'Europe/Berlin', '--team', 'Sales', ...THREE_PEOPLE, '--channel', 'slack=C0SALES01', '--channel', 'teams=19:sales@thread.tacv2'];

const dirs: string[] = [];
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-init-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The variables a .env sets (its uncommented lines), as `node --env-file` reads them. */
function dotEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')]),
  );
}

describe('baton init with options', () => {
  let dir: string;
  let baton: ChildBaton | undefined;
  let stdout: string;
  afterAll(async () => {
    await baton?.kill('SIGTERM');
  });

  it('writes a playbook for the team and a .env from .env.example, and prints the next two commands', async () => {
    dir = emptyDir();
    const run = await runBaton(['init', ...FLAGS], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    stdout = run.stdout;

    const playbook = await loadPlaybook(join(dir, 'playbook.local.yml'));
    expect(playbook.organization).toEqual({ name: 'Acme Co', timeZone: 'Europe/Berlin', emailDomains: ['acme.example'] });
    expect(playbook.teams.map((t) => [t.id, t.name, t.leadId, t.channels])).toEqual([['sales', 'Sales', 'dana', { slack: 'C0SALES01', teams: '19:sales@thread.tacv2' }]]);
    expect(playbook.people.map((p) => [p.id, p.email, p.slackUserId, p.teamsUserId, p.managerId])).toEqual([
      ['dana', 'dana@acme.example', 'U0DANA001', '29:dana-teams', null],
      ['eli', 'eli@acme.example', 'U0ELI0001', null, 'dana'],
      ['fay', 'fay@acme.example', null, null, 'dana'],
    ]);
    expect(playbook.admins).toEqual(['dana']);
    expect(playbook.transitions).toHaveLength(1);
    const [transition] = playbook.transitions;
    expect(transition).toMatchObject({ id: 'inbound_to_sales', fromTeamId: 'sales', toTeamId: 'sales', fallbackOwnerId: 'dana', sla: { acceptMs: 4 * 3_600_000 } });
    expect(transition!.routing.queue.map((m) => m.personId)).toEqual(['dana', 'eli', 'fay']);

    const example = readFileSync(join(projectRoot(), '.env.example'), 'utf8');
    const env = readFileSync(join(dir, '.env'), 'utf8');
    expect(dotEnv(env)).toEqual({ BATON_PLAYBOOK: 'playbook.local.yml' });
    // .env.example whole, comments and all, with only the playbook's line set; a commented header on top.
    const filled = example.replace('\n# BATON_PLAYBOOK=playbook.yml\n', '\nBATON_PLAYBOOK=playbook.local.yml\n');
    expect(filled).not.toBe(example);
    expect(env.endsWith(filled)).toBe(true);
    expect(env.slice(0, -filled.length).split('\n').slice(0, -1)).toEqual([
      expect.stringMatching(/^# Written by `npx baton init` on \d{4}-\d{2}-\d{2} from \.env\.example; it set BATON_PLAYBOOK\.$/),
      '#',
    ]);
    expect(statSync(join(dir, '.env')).mode & 0o077).toBe(0);

    const next = stdout.slice(stdout.indexOf('Next:'));
    expect(next).toContain(`1. Start Baton with them:   node --env-file=.env ${join(projectRoot(), 'scripts', 'start.mjs')}`);
    expect(next).toMatch(/2\. In another terminal, send your first handoff:\n\s+curl -s .* http:\/\/127\.0\.0\.1:3000\/api\/handoffs -d '\{.*\}'\n/);
  });

  it('gives a Baton for the three-person team: one transition, and handoffs routed to its people', async () => {
    const env = dotEnv(readFileSync(join(dir, '.env'), 'utf8'));
    // Baton reads BATON_PLAYBOOK relative to where it starts, which is where init ran.
    baton = await startChildBaton({ BATON_PLAYBOOK: resolve(dir, env.BATON_PLAYBOOK!), BATON_DATA_DIR: join(dir, '.baton-data') }, { timeoutMs: 120_000 });

    const transitions = await baton.api('GET', '/api/transitions');
    expect(transitions.status).toBe(200);
    expect((transitions.json as { id: string }[]).map((t) => t.id)).toEqual(['inbound_to_sales']);

    // The body of the curl command init printed, as it is.
    const body = JSON.parse(/-d '(\{.*\})'/.exec(stdout)![1]!) as { account: { name: string } };
    const owners: string[] = [];
    for (const n of [1, 2, 3]) {
      const created = await baton.api('POST', '/api/handoffs', { ...body, account: { name: `${body.account.name} ${n}` } });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ status: 'routed', transition: 'inbound_to_sales' });
      owners.push((created.json as { owner: { email: string } }).owner.email);
    }
    // Round-robin over the whole team: each of the three gets one.
    expect([...owners].sort()).toEqual(['dana@acme.example', 'eli@acme.example', 'fay@acme.example']);
  }, 180_000);
});

describe('baton init asking questions', () => {
  it('takes piped answers, asks again after an answer the playbook loader refuses, and writes what was answered', async () => {
    const dir = emptyDir();
    const answers = [
      'Globex',
      'Mars/Olympus', // not a time zone: asked again
      'America/New_York',
      'Customer Success',
      '08:30-16:30',
      'Ann Lee <ann@globex.example> slack=bad', // not a Slack member id: asked again
      'Ann Lee <ann@globex.example> slack=U0ANN0001',
      'Bo Chen <bo@globex.example> teams=29:bo lead',
      'Cy Diaz <cy@globex.example>',
      '', // no more people
      '', // email domains: the people's
      'C0CS00001',
      '', // no Teams channel
      'https://baton.globex.example',
      'y',
    ];
    const run = await runBaton(['init'], { cwd: dir, stdin: answers.join('\n') + '\n' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Time zone (IANA name, e.g. Europe/Berlin): [UTC] Mars/Olympus\n  ✗ unknown time zone "Mars/Olympus"; use an IANA name such as "America/New_York" or "Europe/London"\n');
    expect(run.stdout).toContain('Person 1: Ann Lee <ann@globex.example> slack=bad\n  ✗ expected a Slack member id like "U024BE7LH" (profile → ⋮ → Copy member ID), got "bad"\nPerson 1: ');

    const playbook = await loadPlaybook(join(dir, 'playbook.local.yml'));
    expect(playbook.organization).toEqual({ name: 'Globex', timeZone: 'America/New_York', emailDomains: ['globex.example'] });
    const [team] = playbook.teams;
    expect([team!.id, team!.name, team!.leadId, team!.channels, team!.calendar.timeZone]).toEqual(['customer_success', 'Customer Success', 'bo', { slack: 'C0CS00001' }, 'America/New_York']);
    expect(team!.calendar.weekly[1]).toEqual([{ start: 8 * 60 + 30, end: 16 * 60 + 30 }]);
    expect(team!.calendar.weekly[6]).toEqual([]);
    expect(playbook.people.map((p) => [p.id, p.slackUserId, p.teamsUserId, p.managerId])).toEqual([
      ['ann', 'U0ANN0001', null, 'bo'],
      ['bo', null, '29:bo', null],
      ['cy', null, null, 'bo'],
    ]);
    expect(playbook.transitions.map((t) => [t.id, t.fallbackOwnerId])).toEqual([['inbound_to_customer_success', 'bo']]);
    expect(dotEnv(readFileSync(join(dir, '.env'), 'utf8'))).toEqual({ BATON_PLAYBOOK: 'playbook.local.yml', BATON_PUBLIC_URL: 'https://baton.globex.example' });
  });

  it('writes nothing when the answer to "Write …?" is no, or the input ends before the last question', async () => {
    const dir = emptyDir();
    const flags = ['--org', 'Acme', '--time-zone', 'UTC', '--team', 'Sales', '--hours', '09:00-17:00', '--person', 'Dana <dana@acme.example>', '--email-domain', 'acme.example', '--channel', 'slack=C0SALES01', '--public-url', 'https://baton.acme.example'];
    const declined = await runBaton(['init', ...flags], { cwd: dir, stdin: 'n\n' });
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain('Write playbook.local.yml and .env? (y/n) [y] n\nNothing was written.\n');

    const cut = await runBaton(['init', '--org', 'Acme'], { cwd: dir, stdin: 'UTC\n' });
    expect(cut.code).toBe(1);
    expect(cut.stderr).toBe('The input ended before this question was answered: First team (e.g. Sales):\n');
    expect(existsSync(join(dir, 'playbook.local.yml'))).toBe(false);
    expect(existsSync(join(dir, '.env'))).toBe(false);
  });
});

describe('baton init refusing', () => {
  it('does not replace a playbook or .env that exists, naming it, unless --force', async () => {
    const dir = emptyDir();
    writeFileSync(join(dir, '.env'), 'PORT=4000\n');
    const refused = await runBaton(['init', ...FLAGS], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('.env exists already, so init changed nothing: run it with --force to replace it, or --env-out <another file>.\n');
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('PORT=4000\n');
    expect(existsSync(join(dir, 'playbook.local.yml'))).toBe(false);

    const elsewhere = await runBaton(['init', ...FLAGS, '--env-out', 'baton.env', '--playbook-out', 'team.yml'], { cwd: dir });
    expect(elsewhere.code).toBe(0);
    expect(dotEnv(readFileSync(join(dir, 'baton.env'), 'utf8'))).toEqual({ BATON_PLAYBOOK: 'team.yml' });
    const again = await runBaton(['init', ...FLAGS, '--env-out', 'baton.env', '--playbook-out', 'team.yml'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('team.yml exists already, so init changed nothing: run it with --force to replace it, or --playbook-out <another file>.\n');

    const forced = await runBaton(['init', ...FLAGS, '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(dotEnv(readFileSync(join(dir, '.env'), 'utf8'))).toEqual({ BATON_PLAYBOOK: 'playbook.local.yml' });
  });

  it('with --yes, names the options it still needs', async () => {
    const dir = emptyDir();
    const run = await runBaton(['init', '--yes', '--time-zone', 'UTC'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'With --yes, init asks nothing, so it needs --org "Your company", --team "Sales", --person "Name <email> [slack=U…] [teams=29:…] [aad=<Entra object id>] [lead]" (once per person).\n',
    );
  });

  it('writes nothing when the loader refuses the answers, and says what it refused', async () => {
    const dir = emptyDir();
    const twice = await runBaton(['init', '--yes', '--time-zone', 'UTC', '--time-zone', 'Europe/Berlin'], { cwd: dir });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('--time-zone may be given only once.');

    const refused = await runBaton(['init', '--yes', '--org', 'Acme', '--team', 'Sales', '--time-zone', 'Europe/Berlinn', '--person', 'Dana <dana@acme.example>', '--channel', 'slack=#sales'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'These answers do not make a valid playbook, so nothing was written:\n' +
        '  - organization.timeZone: unknown time zone "Europe/Berlinn"; use an IANA name such as "America/New_York" or "Europe/London"\n' +
        '  - teams.sales.timeZone: unknown time zone "Europe/Berlinn"; use an IANA name such as "America/New_York" or "Europe/London"\n' +
        '  - teams.sales.channels.slack: expected a Slack channel id like "C0123ABCD" (channel details → bottom of the About tab), got "#sales"\n',
    );
    expect(existsSync(join(dir, 'playbook.local.yml'))).toBe(false);
    expect(existsSync(join(dir, '.env'))).toBe(false);

    const badPerson = await runBaton(['init', '--yes', '--org', 'Acme', '--team', 'Sales', '--person', 'dana@acme.example'], { cwd: dir });
    expect(badPerson.code).toBe(1);
    expect(badPerson.stderr).toBe(
      '--person: "dana@acme.example" is not a person: write Name <email> [slack=U…] [teams=29:…] [aad=<Entra object id>] [lead], e.g. "Dana Kim <dana@acme.example> slack=U0123ABCD"\n',
    );
  });
});

describe('the baton command', () => {
  it('is package.json\'s bin, an executable node script, so npx baton runs it after npm install', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(join(projectRoot(), pkg.bin.baton!)).toBe(BATON_BIN);
    expect(readFileSync(BATON_BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(BATON_BIN).mode & 0o111).toBe(0o111);
    expect(pkg.scripts.init).toBe('node scripts/baton.mjs init');
  });
});
