/**
 * `baton <command>`: the commands a person runs around Baton rather than Baton itself.
 *   baton init                  a first playbook and .env for your own team (scripts/baton/init.ts)
 *   baton playbook check [file] every problem of a playbook, with its line and column (playbookCheck.ts)
 * Each command returns its exit code instead of exiting, so the launcher (scripts/baton.mjs) sets
 * it once the output is flushed.
 */
import type { Readable, Writable } from 'node:stream';
import { runInit } from './init.js';
import { runPlaybookCheck } from './playbookCheck.js';

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** A mistake in how the command was called; its message says what to type instead. Exit code 2. */
export class UsageError extends Error {}

export const USAGE = `Usage:
  npx baton init [options]              write a first playbook and .env for your team (asks for what the options leave out)
  npx baton playbook check [file]       check a playbook (default: $BATON_PLAYBOOK or playbook.yml); --json for machines
  npx baton help

baton init options:
  --org <name>                          your organisation's name
  --time-zone <zone>                    IANA time zone, e.g. Europe/Berlin (default: this machine's)
  --team <name>                         the first team, e.g. "Sales"
  --person "Name <email> [slack=U…] [teams=29:…] [aad=<object id>] [lead]"
                                        one person of the team (repeat it); the first, or the one marked lead, leads the team
  --channel slack=C… | teams=19:…@thread.tacv2
                                        the team's channel (repeat it for both platforms)
  --hours <hours>                       working hours Monday to Friday (default 09:00-17:00)
  --email-domain <domain>               your organisation's email domain (repeatable; default: the people's)
  --public-url <https://…>              where Slack and Teams reach Baton (BATON_PUBLIC_URL)
  --playbook-out <file>                 default playbook.local.yml
  --env-out <file>                      default .env
  --yes                                 ask nothing: defaults for what is left out
  --force                               replace the playbook and .env files if they exist`;

export async function main(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'init') return await runInit(rest, io);
    if (command === 'playbook' && rest[0] === 'check') return await runPlaybookCheck(rest.slice(1), io);
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      io.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`Unknown command "${args.join(' ')}".`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

export interface FlagSpec {
  /** Flags that take a value, and whether they may be repeated. */
  values: Record<string, { repeatable?: boolean }>;
  switches: readonly string[];
}

export interface ParsedFlags {
  values: Map<string, string[]>;
  switches: Set<string>;
  positional: string[];
}

/** `--name value`, `--name=value` and `--switch`; anything unknown is a UsageError naming it. */
export function parseFlags(args: string[], spec: FlagSpec): ParsedFlags {
  const parsed: ParsedFlags = { values: new Map(), switches: new Set(), positional: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.switches.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value.`);
      parsed.switches.add(name);
      continue;
    }
    const flag = spec.values[name];
    if (!flag) throw new UsageError(`Unknown option --${name}.`);
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value.`);
    const previous = parsed.values.get(name) ?? [];
    if (previous.length > 0 && !flag.repeatable) throw new UsageError(`--${name} may be given only once.`);
    parsed.values.set(name, [...previous, value]);
  }
  return parsed;
}
