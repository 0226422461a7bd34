/**
 * `baton playbook check [file]` as CI runs it: exit 0 and a summary for a valid playbook; exit 1
 * and every problem as `file:line:column: path: message` for an invalid one; --json for machines.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { projectRoot } from '../../../src/store/migrate.js';
import { runBaton } from './run.js';

/** Four problems on known lines: a time zone (3), a person (13), a same-team transition (18), a duration (22). */
const INVALID = `organization:
  name: Acme
  timeZone: Europe/Berlinn
stages:
  a: A
teams:
  t:
    name: T
    stage: a
    timeZone: UTC
    businessHours:
      mon: "09:00-17:00"
    lead: nobody
people: {}
transitions:
  x:
    from: t
    to: t
    packet:
      s: { label: S, type: text, description: d, example: e }
    sla:
      accept: 4 hours
      firstTouch: 1h
    rejectReasons: { a: A }
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-check-'));
  writeFileSync(join(dir, 'bad.yml'), INVALID);
  copyFileSync(join(projectRoot(), 'playbook.yml'), join(dir, 'playbook.yml'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('baton playbook check', () => {
  it('passes the default playbook with exit 0 and says what it holds', async () => {
    const playbook = await loadPlaybook(join(dir, 'playbook.yml'));
    const run = await runBaton(['playbook', 'check', 'playbook.yml'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `playbook.yml: valid (${playbook.teams.length} teams, ${playbook.people.length} people, ${playbook.transitions.length} transitions)\n`,
    );
  });

  it('checks $BATON_PLAYBOOK, else playbook.yml, when no file is named', async () => {
    const byDefault = await runBaton(['playbook', 'check'], { cwd: dir });
    expect(byDefault.code).toBe(0);
    expect(byDefault.stdout).toMatch(/^playbook\.yml: valid/);
    const byEnv = await runBaton(['playbook', 'check'], { cwd: dir, env: { BATON_PLAYBOOK: 'bad.yml' } });
    expect(byEnv.code).toBe(1);
    expect(byEnv.stdout).toMatch(/^bad\.yml:3:3: /);
  });

  it('prints every problem with its line and column, in file order, and exits 1', async () => {
    const run = await runBaton(['playbook', 'check', 'bad.yml'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      'bad.yml:3:3: organization.timeZone: unknown time zone "Europe/Berlinn"; use an IANA name such as "America/New_York" or "Europe/London"',
      'bad.yml:13:5: teams.t.lead: unknown person "nobody" (use the id or email of someone under people)',
      'bad.yml:18:5: transitions.x.to: a handoff must move to another team, or name fromStage and toStage to move between stages',
      'bad.yml:22:7: transitions.x.sla.accept: expected a duration like "4h" or "30m", got "4 hours"',
    ]);
    expect(run.stderr).toBe('bad.yml: 4 problems; Baton will not start with this playbook.\n');
  });

  it('annotates the lines in a GitHub Actions job', async () => {
    const run = await runBaton(['playbook', 'check', 'bad.yml'], { cwd: dir, env: { GITHUB_ACTIONS: 'true' } });
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n').slice(4)).toEqual([
      '::error file=bad.yml,line=3,col=3,title=playbook%3A organization.timeZone::unknown time zone "Europe/Berlinn"; use an IANA name such as "America/New_York" or "Europe/London"',
      '::error file=bad.yml,line=13,col=5,title=playbook%3A teams.t.lead::unknown person "nobody" (use the id or email of someone under people)',
      '::error file=bad.yml,line=18,col=5,title=playbook%3A transitions.x.to::a handoff must move to another team, or name fromStage and toStage to move between stages',
      '::error file=bad.yml,line=22,col=7,title=playbook%3A transitions.x.sla.accept::expected a duration like "4h" or "30m", got "4 hours"',
    ]);
  });

  it('gives the same problems as JSON with --json', async () => {
    const run = await runBaton(['playbook', 'check', '--json', 'bad.yml'], { cwd: dir });
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { file: string; valid: boolean; problems: { path: string; line?: number; column?: number; message: string }[] };
    expect(result.file).toBe('bad.yml');
    expect(result.valid).toBe(false);
    expect(result.problems.map((p) => [p.path, p.line, p.column])).toEqual([
      ['organization.timeZone', 3, 3],
      ['teams.t.lead', 13, 5],
      ['transitions.x.to', 18, 5],
      ['transitions.x.sla.accept', 22, 7],
    ]);
    expect(result.problems[3]!.message).toBe('expected a duration like "4h" or "30m", got "4 hours"');

    const valid = await runBaton(['playbook', 'check', 'playbook.yml', '--json'], { cwd: dir });
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({ file: 'playbook.yml', valid: true, problems: [] });
  });

  it('reports a YAML syntax error and a missing file as problems, exit 1', async () => {
    writeFileSync(join(dir, 'broken.yml'), 'organization:\n  name: "Acme\n');
    const broken = await runBaton(['playbook', 'check', 'broken.yml'], { cwd: dir });
    expect(broken.code).toBe(1);
    // The parser notices the unclosed quote where the file ends.
    expect(broken.stdout).toBe('broken.yml:3:1: (file): Missing closing "quote\n');

    const missing = await runBaton(['playbook', 'check', 'nowhere.yml'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe(`nowhere.yml: (file): file not found: ${join(dir, 'nowhere.yml')} (start from the default playbook.yml at the repository root)\n`);
  });

  it('refuses two files or an unknown option with the usage, exit 2', async () => {
    const two = await runBaton(['playbook', 'check', 'a.yml', 'b.yml'], { cwd: dir });
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('playbook check takes one file, got 2: a.yml b.yml.');
    expect(two.stderr).toContain('Usage:');
    const unknown = await runBaton(['playbook', 'check', '--yaml'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown option --yaml.');
  });
});
