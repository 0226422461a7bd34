/** The `baton` command (scripts/baton.mjs) as a real child process, as a person or a CI job runs it. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../src/store/migrate.js';

export const BATON_BIN = join(projectRoot(), 'scripts', 'baton.mjs');

export interface BatonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `baton <args>` in `cwd` with only PATH and HOME (and `env`) set; `stdin` is written, then closed. */
export async function runBaton(args: string[], opts: { cwd: string; stdin?: string; env?: Record<string, string> }): Promise<BatonRun> {
  const child = spawn(process.execPath, [BATON_BIN, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.end(opts.stdin ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
