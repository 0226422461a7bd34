/**
 * The request log line names the path the client asked for (issue 19): routes inside a mounted
 * router (/api, the console) used to be logged without their mount point (`/transitions` for
 * `/api/transitions`), because Express strips the mount from `req.path` inside the router.
 * The query string stays out: it can carry a secret (the console's single-use `?token=` link).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTestBaton, type TestBaton } from '../helpers/baton.js';

interface RequestLine {
  msg: string;
  method: string;
  path: string;
  status: number;
}

const lines: RequestLine[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as RequestLine);
    done();
  },
});

let baton: TestBaton;

beforeAll(async () => {
  baton = await startTestBaton({ log: pino({ level: 'info' }, sink), checkResponses: true });
});

afterAll(async () => {
  await baton.stop();
});

/** The request line logged for `path`, once the response has finished (the line is written on 'finish'). */
async function requestLineFor(method: string, path: string): Promise<RequestLine> {
  const pathOnly = path.split('?')[0];
  for (let i = 0; i < 100; i++) {
    const line = lines.find((l) => l.msg === 'request' && l.method === method && l.path === pathOnly);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seen = lines.filter((l) => l.msg === 'request').map((l) => `${l.method} ${l.path}`);
  throw new Error(`no request line for ${method} ${pathOnly}; logged: ${seen.join(', ') || 'none'}`);
}

describe('request log', () => {
  it('logs the full path of a route in the mounted /api router', async () => {
    const res = await baton.api('GET', '/api/transitions');
    expect(res.status).toBe(200);
    const line = await requestLineFor('GET', '/api/transitions');
    expect(line.status).toBe(200);
  });

  it('logs the full path of a refused request with route parameters', async () => {
    const res = await baton.api('GET', '/api/handoffs/987654');
    expect(res.status).toBe(404);
    expect((await requestLineFor('GET', '/api/handoffs/987654')).status).toBe(404);
  });

  it('leaves the query string out of the log', async () => {
    const secret = 'query-secret-5d1f0c9a';
    const res = await baton.api('GET', `/api/handoffs?status=open&account=${secret}`);
    expect(res.status).toBe(200);
    await requestLineFor('GET', '/api/handoffs');
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
