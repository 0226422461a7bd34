/**
 * Logs for people and machines (issue #19 item 4): pretty, coloured one-line logs on a terminal,
 * JSON otherwise, LOG_FORMAT forcing either; request lines with path, status, duration and the
 * handoff id. Shown in-process on streams that say they are (or are not) a terminal, over real
 * HTTP, and with a real Baton process whose stdout is a pseudo-terminal (util-linux `script`).
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, formatLogLine } from '../src/logger.js';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { projectRoot } from '../src/store/migrate.js';
import { defaultPlaybook, startTestBaton } from './helpers/baton.js';
import { exampleRequest } from '../src/playbook/packet.js';
import { waitFor } from './helpers/wait.js';

jest.setTimeout(90_000);

const ESC = '\u001b[';

/** A stream that keeps what is written; `isTTY` makes it look like a terminal to createLogger. */
function collector(isTTY = false): Writable & { text(): string; isTTY?: boolean } {
  let text = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { text(): string; isTTY?: boolean };
  if (isTTY) w.isTTY = true;
  w.text = () => text;
  return w;
}

describe('the log format', () => {
  it('is JSON, one object per line, when the output is not a terminal', () => {
    const out = collector();
    const log = createLogger('info', out);
    log.info({ handoffId: 3, token: 'hunter2-secret' }, 'sla: owner nudged');
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, app: 'baton', handoffId: 3, token: '[redacted]', msg: 'sla: owner nudged' });
  });

  it('is one coloured line per entry when the output is a terminal, with secrets still redacted', () => {
    const out = collector(true);
    const log = createLogger('info', out).child({ component: 'sla' });
    log.info({ handoffId: 3, step: 'accept:nudge:0.5', token: 'hunter2-secret' }, 'sla: owner nudged');
    log.warn('took over a stale lock');
    const text = out.text();
    expect(text).not.toContain('{"level"');
    expect(text).not.toContain('hunter2');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(ESC); // coloured
    const plain = lines.map((l) => l.replace(/\u001b\[[\d;]*m/g, ''));
    expect(plain[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  \[sla\] sla: owner nudged handoffId=3 step=accept:nudge:0\.5 token=\[redacted\]$/);
    expect(plain[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  \[sla\] took over a stale lock$/);
  });

  it('follows LOG_FORMAT over the terminal check: json on a terminal, pretty (without colour) into a pipe', () => {
    const tty = collector(true);
    createLogger('info', tty, { format: 'json' }).info('hello');
    expect(JSON.parse(tty.text())).toMatchObject({ msg: 'hello' });

    const pipe = collector();
    createLogger('info', pipe, { format: 'pretty' }).info({ n: 1 }, 'hello');
    expect(pipe.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  hello n=1\n$/);
    expect(pipe.text()).not.toContain(ESC);
  });

  it('reads LOG_FORMAT from the environment (json or pretty, any case) and refuses anything else', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: ' Pretty ' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'logfmt' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_FORMAT: 'logfmt' })).toThrow(/LOG_FORMAT: must be one of json, pretty/);
  });

  it('writes a request line like an access log, and an error with its stack on indented lines', () => {
    const line = JSON.stringify({ level: 30, time: Date.now(), app: 'baton', component: 'http', handoffId: 12, method: 'POST', path: '/api/handoffs/12/actions', status: 409, ms: 4.2, msg: 'request' });
    expect(formatLogLine(line, false)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  \[http\] POST \/api\/handoffs\/12\/actions 409 4\.2 ms handoff #12\n$/);

    const err = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const out = collector();
    createLogger('info', out, { format: 'pretty' }).error({ err }, 'request failed');
    const [first, ...rest] = out.text().trimEnd().split('\n');
    expect(first).toMatch(/ERROR request failed Error: connect ECONNREFUSED 127\.0\.0\.1:5432$/);
    expect(rest.length).toBeGreaterThan(0);
    for (const frame of rest) expect(frame).toMatch(/^ {4}at /);
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('plain words', true)).toBe('plain words\n');
  });
});

describe('request lines over real HTTP', () => {
  it('carry the method, path, status, duration and the handoff id when the request was about one', async () => {
    const out = collector();
    const log = createLogger('info', out, { format: 'json' });
    const baton = await startTestBaton({ log });
    try {
      const pb = await defaultPlaybook();
      const created = await baton.api('POST', '/api/handoffs', exampleRequest(pb.transitions[0]!, pb));
      expect(created.status).toBe(201);
      const id: number = created.json.id;
      expect((await baton.api('GET', `/api/handoffs/${id}`)).status).toBe(200);
      expect((await baton.api('GET', '/api/handoffs/99999')).status).toBe(404);
      expect((await baton.api('GET', '/api/transitions')).status).toBe(200);

      const requests = await waitFor('four request lines', async () => {
        const found = out.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.msg === 'request');
        return found.length >= 4 ? found : undefined;
      }, 5000, 50);
      const [post, get, missing, list] = requests;
      expect(post).toMatchObject({ method: 'POST', status: 201, handoffId: id });
      expect(get).toMatchObject({ method: 'GET', status: 200, handoffId: id });
      expect(String(get!.path)).toContain(`/handoffs/${id}`);
      expect(missing).toMatchObject({ method: 'GET', status: 404, handoffId: 99999 });
      expect(list).toMatchObject({ method: 'GET', status: 200 });
      expect(list).not.toHaveProperty('handoffId');
      for (const r of requests) expect(typeof r.ms).toBe('number');
    } finally {
      await baton.stop();
    }
  });
});

describe('a Baton started in a terminal', () => {
  it('prints pretty lines, not JSON, when its stdout is a terminal', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-tty-'));
    // `script` gives the child a pseudo-terminal as stdout and copies what it writes to ours.
    const proc = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} --import tsx bots/main.ts`, '/dev/null'], {
      cwd: projectRoot(),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', BATON_DATA_DIR: dataDir, BATON_API_TOKEN: 'logger-test-token-0123456789abcdef', TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await waitFor('Baton is listening', async () => (output.includes('Baton is listening') ? true : undefined), 60_000, 100);
    } finally {
      try {
        process.kill(-proc.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
    const plain = output.replace(/\u001b\[[\d;]*m/g, '').replace(/\r/g, '');
    expect(output).toContain(ESC);
    expect(plain).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  Baton is listening url=http:\/\/127\.0\.0\.1:\d+ /m);
    expect(plain).not.toMatch(/^\{"level"/m);
  });
});
