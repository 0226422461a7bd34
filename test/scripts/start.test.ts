/**
 * `npm start` (scripts/start.mjs) as a newcomer runs it after `npx baton init`: it reads the .env
 * init wrote (here named by BATON_ENV_FILE, so the test leaves the checkout's own .env alone), the
 * environment winning over the file, and serves without compiling when dist/ is current.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { projectRoot } from '../../src/store/migrate.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

it('reads settings from the .env file, with the environment winning, and serves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-start-'));
  const port = await freePort();
  const envFile = join(dir, '.env');
  writeFileSync(envFile, `PORT=${port}\nHOST=127.0.0.1\nBATON_DATA_DIR=${join(dir, 'data')}\nBATON_CONSOLE=off\nLOG_LEVEL=${'warn'}\n`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, BATON_ENV_FILE: envFile, LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: projectRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  try {
    let healthy = false;
    for (let i = 0; i < 600 && !healthy && child.exitCode === null; i++) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!healthy) await new Promise((r) => setTimeout(r, 200));
    }
    expect({ healthy, exitCode: child.exitCode }).toEqual({ healthy: true, exitCode: null });
    expect(stderr).toContain(`Read settings from ${envFile}`);
    // LOG_LEVEL=info from the environment beat the file's warn: the start-up line is logged.
    expect(stdout.split('\n').filter((l) => l.startsWith('{')).some((l) => (JSON.parse(l) as { url?: string }).url === `http://127.0.0.1:${port}`)).toBe(true);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
