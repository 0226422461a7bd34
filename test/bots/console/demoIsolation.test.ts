/**
 * `npm run demo` stays a demo (issue #19 item 2), shown with the real script as a child process
 * and a local fake Slack that records every call:
 *  - with Slack's credentials set but no --with-slack, Baton runs with the console only and Slack
 *    hears nothing — not at start, not for a new handoff once every outbox consumer has run;
 *  - with --with-slack the same intake does reach the fake (so the silence above is not a wiring
 *    accident of the test);
 *  - the demo keeps everything (database, token, lock) under <data dir>/demo: the data directory
 *    `npm start` uses gets nothing else.
 */
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../../../src/store/migrate.js';
import { exampleRequest } from '../../../src/playbook/packet.js';
import { FakeSlackApi } from '../../fakes/slackApi.js';
import { apiRequest, defaultPlaybook } from '../../helpers/baton.js';
import { waitFor } from '../../helpers/wait.js';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/helpers.js';

jest.setTimeout(240_000);

interface DemoRun {
  proc: ChildProcess;
  url: string;
  /** The JSON log line "Baton is listening". */
  listening: Record<string, unknown>;
  exited: Promise<number | null>;
}

/** Runs `scripts/demo.ts` (what `npm run demo` runs) until its Baton listens. */
async function startDemo(args: string[], env: Record<string, string>): Promise<DemoRun> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--per-transition', '2', '--weeks', '1', ...args], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', BATON_OUTBOX_POLL_MS: '200', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const lines: string[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      // Plain lines (the seed's table, the console's sign-in link) are for people; logs are JSON.
      if (line.startsWith('{') && line.includes('"Baton is listening"')) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exited.then((code) => reject(new Error(`the demo exited with ${code} before Baton listened:\n${lines.slice(-20).join('\n')}\n${stderr}`)));
  });
  return { proc, url: String(listening.url), listening, exited };
}

async function stop(run: DemoRun | undefined): Promise<void> {
  if (!run || run.proc.exitCode !== null) return;
  run.proc.kill('SIGTERM');
  await run.exited;
}

/** The outbox backlog from /metrics: 0 once every consumer (SLA timers, platforms) has handled every event. */
async function pendingDeliveries(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const m = /^baton_outbox_pending_deliveries (\d+)$/m.exec(await res.text());
  if (!m) throw new Error('no baton_outbox_pending_deliveries in /metrics');
  return Number(m[1]);
}

describe('npm run demo keeps to itself', () => {
  let fake: FakeSlackApi;
  const dirs: string[] = [];
  let run: DemoRun | undefined;

  beforeAll(async () => {
    const playbook = await defaultPlaybook();
    fake = await new FakeSlackApi({ token: BOT_TOKEN, users: playbook.people.filter((p) => p.slackUserId).map((p) => ({ id: p.slackUserId!, email: p.email, name: p.name })) }).start();
  });
  afterEach(async () => {
    await stop(run);
    run = undefined;
  });
  afterAll(async () => {
    await fake.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const slackEnv = () => ({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.apiUrl });
  const freshDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'baton-demo-iso-'));
    dirs.push(d);
    return d;
  };
  const intake = async (url: string, token: string): Promise<number> => {
    const pb = await defaultPlaybook();
    const created = await apiRequest(url, token, 'POST', '/api/handoffs', exampleRequest(pb.transitions[0]!, pb));
    expect(created.status).toBe(201);
    return created.json.id as number;
  };

  it('calls no platform unless asked: Slack credentials set, no --with-slack, and the fake Slack hears nothing', async () => {
    const dir = freshDir();
    const before = fake.calls.length;
    run = await startDemo([], { BATON_DATA_DIR: dir, ...slackEnv() });
    expect(run.listening.platforms).toEqual(['console']);
    const token = readFileSync(join(dir, 'demo', 'api-token'), 'utf8').trim();
    await intake(run.url, token);
    // Every consumer has run for every event (SLA timers armed, nothing left for any platform).
    await waitFor('the outbox to drain', async () => (await pendingDeliveries(run!.url, token)) === 0, 30_000, 200);
    expect(fake.calls.slice(before)).toEqual([]);
    // npm start's data directory holds nothing of the demo's: it all lives under demo/.
    expect(readdirSync(dir)).toEqual(['demo']);
    expect(readdirSync(join(dir, 'demo')).sort()).toEqual(['api-token', 'baton.lock', 'pglite']);
  });

  it('posts to Slack when asked with --with-slack (the same intake reaches the fake)', async () => {
    const dir = freshDir();
    const before = fake.calls.length;
    run = await startDemo(['--with-slack'], { BATON_DATA_DIR: dir, ...slackEnv() });
    expect(run.listening.platforms).toEqual(['slack', 'console']);
    const token = readFileSync(join(dir, 'demo', 'api-token'), 'utf8').trim();
    const id = await intake(run.url, token);
    await waitFor('the card in Slack', () => fake.cardsFor(id).length > 0, 30_000, 100);
    expect(fake.calls.slice(before).some((c) => c.method === 'chat.postMessage')).toBe(true);
  });
});
