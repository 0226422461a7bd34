/**
 * `baton playbook check [file] [--json]`: the check Baton runs at start-up, without starting it, for
 * RevOps repositories' CI. Every problem is printed as `file:line:column: path: message` — the form
 * editors and CI log viewers turn into links, and in GitHub Actions also as an annotation on the
 * line — and the exit code is 0 (valid) or 1 (not).
 */
import { resolve } from 'node:path';
import { loadPlaybook } from '../../src/playbook/load.js';
import { PlaybookError, type ErrorDetail } from '../../src/errors.js';
import { parseFlags, UsageError, type CliIo } from './cli.js';

export interface PlaybookProblem {
  /** Dotted path in the playbook, e.g. `transitions.sdr_to_ae.sla.accept`, or `(file)`. */
  path: string;
  /** 1-based; absent for a problem with no place in the file (a missing section). */
  line?: number;
  column?: number;
  message: string;
}

/** The loader puts the position at the start of each message: "(line 12, column 7) expected …". */
const POSITION = /^\(line (\d+), column (\d+)\) /;

export function locateProblem(detail: ErrorDetail): PlaybookProblem {
  const match = POSITION.exec(detail.message);
  if (!match) return { path: detail.path, message: detail.message };
  return { path: detail.path, line: Number(match[1]), column: Number(match[2]), message: detail.message.slice(match[0].length) };
}

export function formatProblem(file: string, problem: PlaybookProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column}`;
  return `${where}: ${problem.path}: ${problem.message}`;
}

/** GitHub Actions' workflow command for an error on a line of a file. */
export function githubAnnotation(file: string, problem: PlaybookProblem): string {
  const data = (v: string) => v.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const property = (v: string) => data(v).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const where = problem.line === undefined ? '' : `,line=${problem.line},col=${problem.column}`;
  return `::error file=${property(file)}${where},title=${property(`playbook: ${problem.path}`)}::${data(problem.message)}`;
}

export interface PlaybookCheckResult {
  file: string;
  valid: boolean;
  problems: PlaybookProblem[];
  summary?: { teams: number; people: number; transitions: number };
}

/** Loads the file with Baton's own loader; a PlaybookError becomes the list of its problems. */
export async function checkPlaybookFile(file: string, cwd: string): Promise<PlaybookCheckResult> {
  try {
    const playbook = await loadPlaybook(resolve(cwd, file));
    return {
      file,
      valid: true,
      problems: [],
      summary: { teams: playbook.teams.length, people: playbook.people.length, transitions: playbook.transitions.length },
    };
  } catch (err) {
    if (!(err instanceof PlaybookError)) throw err;
    return { file, valid: false, problems: (err.details ?? []).map(locateProblem) };
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function runPlaybookCheck(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(args, { values: {}, switches: ['json'] });
  if (flags.positional.length > 1) throw new UsageError(`playbook check takes one file, got ${flags.positional.length}: ${flags.positional.join(' ')}.`);
  const file = flags.positional[0] ?? io.env.BATON_PLAYBOOK ?? 'playbook.yml';
  const result = await checkPlaybookFile(file, io.cwd);
  if (flags.switches.has('json')) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else if (result.valid && result.summary) {
    const { teams, people, transitions } = result.summary;
    io.stdout.write(`${file}: valid (${plural(teams, 'team')}, ${plural(people, 'person').replace('persons', 'people')}, ${plural(transitions, 'transition')})\n`);
  } else {
    for (const problem of result.problems) io.stdout.write(`${formatProblem(file, problem)}\n`);
    // In a GitHub Actions job, the same problems as annotations on the lines of the pull request.
    if (io.env.GITHUB_ACTIONS === 'true') for (const problem of result.problems) io.stdout.write(`${githubAnnotation(file, problem)}\n`);
    io.stderr.write(`${file}: ${plural(result.problems.length, 'problem')}; Baton will not start with this playbook.\n`);
  }
  return result.valid ? 0 : 1;
}
