/**
 * Sends pre-signed Slack requests all at once from its own process, as Slack's servers would, and
 * prints each one's latency (request written → response fully read) as JSON. The benchmark runs
 * it so that the clicks' sender does not share Baton's event loop (an in-process fetch() costs
 * about as much CPU as the answer it waits for).
 *
 *   node scripts/bench-clicker.mjs < {"url": "...", "requests": [{"body": "...", "headers": {...}}]}
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => (text += d));
  process.stdin.on('end', () => resolve(text));
}));
const url = new URL(input.url);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function send({ body, headers }) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.on('error', (err) => resolve({ status: 0, ms: performance.now() - started, error: err.message }));
    req.end(body);
  });
}

const results = await Promise.all(input.requests.map(send));
process.stdout.write(JSON.stringify(results));
