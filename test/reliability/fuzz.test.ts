/**
 * Scenario 6 — FUZZ_COUNT (default 10,000) generated malformed bodies against POST /api/handoffs
 * and POST /api/handoffs/:id/actions of a Baton child process: wrong types, missing fields, huge
 * strings, deep nesting, invalid UTF-8, NUL and lone surrogates, `__proto__` / `constructor` /
 * `prototype` keys, numbers as strings, NaN-like values, arrays for objects, duplicate keys,
 * broken JSON, odd headers. Afterwards: no answer was a 5xx, the process is alive, the refused
 * bodies wrote nothing (row counts per batch), and the process's RSS did not keep growing.
 *
 * The generator is a seeded PRNG: RELIABILITY_SEED=<n> reproduces a run (the seed is printed).
 */
import { jest } from '@jest/globals';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { CHILD_TOKEN, childDatabase, startChildBaton, type ChildBaton, type ChildDatabase } from './child.js';
import { diffCounts, prng, recordFigures, rowCounts, sleep } from './helpers.js';
import { reliabilityPlaybookYaml } from './playbook.js';

const COUNT = Number(process.env.RELIABILITY_FUZZ ?? 10_000);
const SEED = Number(process.env.RELIABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BATCH = 25;
jest.setTimeout(120_000 + COUNT * 40);

let dbh: ChildDatabase;
let baton: ChildBaton;
beforeAll(async () => {
  process.stdout.write(`[reliability] fuzz seed ${SEED} (RELIABILITY_SEED=${SEED} reproduces this run)\n`);
  // SLAs of an hour: no timer fires during the run, so every row written comes from a request.
  dbh = childDatabase(reliabilityPlaybookYaml({ teams: 2, timed: { accept: '1h', nudgesAt: [0.5] } }));
  baton = await startChildBaton(dbh.env, { inspectMemory: true });
});
afterAll(async () => {
  await baton?.kill('SIGKILL');
  await dbh?.drop();
});

// ---------------------------------------------------------------------------------------------
// The generator

type Rand = () => number;
interface Case {
  target: 'intake' | 'action';
  /** Raw bytes sent (already serialised: malformed JSON, invalid UTF-8 …). */
  body: Buffer;
  headers: Record<string, string>;
  path?: string;
  label: string;
}

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function validIntake(r: Rand, n: number): Record<string, unknown> {
  return {
    transition: pick(r, ['to_r1', 'to_r2']),
    account: { name: `Fuzz ${n}`, domain: `fuzz-${n}.example`, crmId: `F-${n}` },
    from: pick(r, ['sally', 'sally@rel.example']),
    packet: { note: 'hello', title: 'T', link: 'https://rel.example/x', amount: 3, tags: ['a'] },
  };
}

function validAction(r: Rand): Record<string, unknown> {
  return { action: pick(r, ['accept', 'reject', 'reassign', 'snooze', 'touch', 'complete', 'withdraw']), actor: pick(r, ['own1a', 'own1b', 'lead1', 'adam', 'olga']), note: 'n', reasonCode: 'not_ready', to: 'own1b' };
}

/** A value of the wrong kind, or a nasty one of the right kind. */
function weird(r: Rand, depth = 0): unknown {
  switch (int(r, 0, 22)) {
    case 0:
      return null;
    case 1:
      return pick(r, [0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 42]);
    case 2:
      return pick(r, [true, false]);
    case 3:
      return [];
    case 4:
      return {};
    case 5:
      return pick(r, ['NaN', 'Infinity', '-Infinity', 'undefined', 'null', '1e309', '0x10', '  ', '', '-0', '１２３']);
    case 6:
      return 'x'.repeat(int(r, 300, 5000));
    case 7:
      return 'é😀\u202e'.repeat(int(r, 1, 2000));
    case 8:
      return 'a\u0000b';
    case 9:
      return '\ud800 lone surrogate \udfff';
    case 10:
      return depth < 3 ? [weird(r, depth + 1), weird(r, depth + 1)] : 'leaf';
    case 11:
      return depth < 3 ? { [pick(r, ['a', '__proto__', 'constructor', 'prototype', 'toString', 'valueOf'])]: weird(r, depth + 1) } : 1;
    case 12:
      return pick(r, ['<script>alert(1)</script>', "'; DROP TABLE handoff;--", '${7*7}', '{{7*7}}', '../../etc/passwd', '%00', '\r\nX-Injected: 1']);
    case 13:
      return pick(r, ['2026-02-30', '2026-13-01', '9999-99-99T99:99:99Z', 'yesterday', '2026-01-01T00:00:00+25:00']);
    case 14:
      return pick(r, ['javascript:alert(1)', 'http://', 'https://exa mple.com', 'ftp://x.example', 'https://x.example/' + 'a'.repeat(3000)]);
    case 15:
      return pick(r, ['not-an-email', '@x.example', 'a@', 'a@b', 'x'.repeat(400) + '@rel.example']);
    case 16:
      return String(int(r, -5, 1e6));
    case 17:
      return pick(r, ['accept', 'ACCEPT', 'accept ', 'queue', 'own1a', 'sally', 'adam', 'sam']);
    case 18:
      return Array.from({ length: int(r, 101, 300) }, (_, i) => `t${i}`);
    case 19:
      // Array-likes; a "length" that cannot be turned into a number once made zod throw (a 500).
      return pick<unknown>(r, [{ length: 3, 0: 'a' }, { 0: 'a', length: { toString: {} } }, { length: { valueOf: {}, toString: {} } }]);
    case 20:
      return pick(r, [-1, 0, 1, 2, 99, 2 ** 31, 1.5]);
    case 21:
      return 'ок привет 你好 مرحبا';
    default:
      return pick(r, ['to_r1', 'to_r2', 'timed_r1', 'nope', 'TO_R1']);
  }
}

/** Sets a value at a random path (possibly a new key), or deletes one. */
function mutate(r: Rand, obj: Record<string, unknown>): void {
  const containers: Record<string, unknown>[] = [obj];
  for (const v of Object.values(obj)) if (v && typeof v === 'object' && !Array.isArray(v)) containers.push(v as Record<string, unknown>);
  const c = pick(r, containers);
  const keys = Object.keys(c);
  const op = r();
  if (op < 0.25 && keys.length) delete c[pick(r, keys)];
  else if (op < 0.8 && keys.length) c[pick(r, keys)] = weird(r);
  else c[pick(r, ['extra', 'Transition', 'packet ', 'id', 'version', 'status', 'ownerId', 'createdAt', 'note', 'expectedVersion'])] = weird(r);
}

/** Nesting a million brackets deep fits in 1 MB. */
function deep(r: Rand): string {
  const d = int(r, 1000, 400_000);
  const [open, close] = r() < 0.5 ? ['[', ']'] : ['{"a":', '}'];
  return open.repeat(d) + '1' + close.repeat(d);
}

function withKey(json: string, key: string, value: string): string {
  // JSON.stringify drops or rewrites some keys; write them into the text itself.
  return json.replace(/^\{/, `{"${key}":${value},`);
}

function generate(r: Rand, n: number): Case {
  const target: Case['target'] = r() < 0.7 ? 'intake' : 'action';
  const base = target === 'intake' ? validIntake(r, n) : validAction(r);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let label: string;
  let text: string | undefined;
  let bytes: Buffer | undefined;
  const kind = int(r, 0, 15);
  switch (kind) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const times = int(r, 1, 4);
      for (let i = 0; i < times; i++) mutate(r, base);
      label = `mutated ×${times}`;
      text = JSON.stringify(base);
      // A mutation can leave a valid body (a number as text in a text field, say): most are spoilt
      // for sure, so that most batches have nothing that may write (and are checked row by row).
      if (r() < 0.9) text = withKey(text, pick(r, ['unknownField', 'packetX']), '1');
      break;
    }
    case 4: {
      const key = pick(r, ['__proto__', 'constructor', 'prototype']);
      const where = pick(r, ['top', 'account', 'packet']);
      const payload = pick(r, ['{"isAdmin":true,"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', 'null', '"x"', '[]']);
      const json = JSON.stringify(base);
      if (where === 'top') text = withKey(json, key, payload);
      else text = json.replace(`"${where}":{`, `"${where}":{"${key}":${payload},`);
      label = `${key} in ${where}`;
      break;
    }
    case 5:
      text = deep(r);
      label = 'deep nesting';
      break;
    case 6: {
      // A string field of up to ~0.9 MB, or a body over the 1 MB limit.
      const size = r() < 0.7 ? int(r, 10_000, 900_000) : int(r, 1_100_000, 2_000_000);
      const field = pick(r, ['note', 'title', 'name', 'actor', 'transition']);
      text = JSON.stringify({ ...base, [field]: 'y'.repeat(size), packet: { note: 'z'.repeat(Math.min(size, 20_000)) } });
      label = `huge ${size}`;
      break;
    }
    case 7: {
      // Invalid UTF-8 inside a string value, and an overlong encoding of "/".
      const json = Buffer.from(JSON.stringify(base));
      const at = json.indexOf(Buffer.from('"', 'utf8'), int(r, 1, Math.max(1, json.length - 2)));
      const junk = pick(r, [Buffer.from([0xff, 0xfe]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0x80])]);
      bytes = at > 0 ? Buffer.concat([json.subarray(0, at), junk, json.subarray(at)]) : Buffer.concat([junk, json]);
      label = 'invalid UTF-8';
      break;
    }
    case 8:
      text = pick(r, ['', ' ', '{', '{"a":', '{"a":1,}', "{'a':1}", '{"a":1} trailing', '// c\n{}', '\ufeff{}', 'null', 'true', '123', '"s"', '[]', '[{}]', 'NaN', '{"a":NaN}', '{"a":Infinity}', '{"a":undefined}', '{"a":1e99999}', '{"a":-}']);
      label = 'broken or non-object JSON';
      break;
    case 9: {
      const json = JSON.stringify(base);
      // The last one wins (JSON.parse): a good value first, a bad one last.
      const key = target === 'intake' ? pick(r, ['transition', 'from', 'account', 'packet']) : pick(r, ['action', 'actor']);
      text = json.replace(/\}$/, `,"${key}":${JSON.stringify(weird(r)) ?? 'null'}}`);
      label = 'duplicate keys';
      break;
    }
    case 10:
      text = JSON.stringify([base]);
      label = 'array body';
      break;
    case 11:
      headers['content-type'] = pick(r, ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/jsonx', '']);
      text = JSON.stringify(base);
      label = `content-type ${headers['content-type']}`;
      if (!headers['content-type']) delete headers['content-type'];
      break;
    case 12:
      headers['content-encoding'] = pick(r, ['gzip', 'deflate', 'br', 'x-nope']);
      text = JSON.stringify(base);
      label = `content-encoding ${headers['content-encoding']}`;
      break;
    case 13:
      headers['idempotency-key'] = pick(r, ['k'.repeat(256), 'k'.repeat(5000), '   ', 'cl\u00e9\u00ff', 'a\tb']);
      mutate(r, base);
      text = withKey(JSON.stringify(base), 'junk', '1');
      label = 'odd Idempotency-Key';
      break;
    case 14: {
      // Numbers as strings and NaN-like values where numbers and booleans belong.
      if (target === 'intake') (base.packet as Record<string, unknown>).amount = pick(r, ['3', 'NaN', 'Infinity', '1e309', '', '0x1F', null, [], {}]);
      else base.expectedVersion = pick(r, ['1', 'NaN', -1, 0, 1.5, 2 ** 31, '1e309', null, true]);
      text = JSON.stringify(base);
      label = 'numbers as strings';
      break;
    }
    default: {
      // A raw number the parser turns into Infinity, or a huge integer.
      const json = JSON.stringify(base);
      text = target === 'intake' ? json.replace('"amount":3', `"amount":${pick(r, ['1e400', '-1e400', '123456789012345678901234567890', '1.0e-400'])}`) : json.replace(/^\{/, `{"expectedVersion":${pick(r, ['1e400', '99999999999999999999'])},`);
      label = 'number overflow';
    }
  }
  const path = target === 'action' ? pick(r, ['/api/handoffs/1/actions', '/api/handoffs/2/actions', '/api/handoffs/999999/actions', '/api/handoffs/abc/actions', '/api/handoffs/%00/actions', '/api/handoffs/-1/actions', '/api/handoffs/1e3/actions', '/api/handoffs/99999999999999/actions', '/api/handoffs/%E0%A4%A/actions']) : '/api/handoffs';
  return { target, body: bytes ?? Buffer.from(text ?? '', 'utf8'), headers, path, label: `${target} ${label} (#${n})` };
}

// ---------------------------------------------------------------------------------------------

/**
 * Every table's row count, read beside the child through its own connection (PostgreSQL only:
 * PGlite's directory belongs to the child while it runs; there the totals are checked at the end).
 */
async function rowCountsBeside(): Promise<Record<string, number> | undefined> {
  if (dbh.kind !== 'postgres') return undefined;
  const pg = (await import('pg')).default;
  const u = new URL(dbh.url!);
  const schema = u.searchParams.get('schema')!;
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.toString(), options: `-c search_path=${schema}` });
  await c.connect();
  try {
    const tables = (await c.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, [schema])).rows;
    const out: Record<string, number> = {};
    for (const t of tables) out[t.table_name] = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${t.table_name}"`)).rows[0]!.n);
    return out;
  } finally {
    await c.end();
  }
}

it(`${COUNT} malformed bodies: no 5xx, process alive, nothing written for refused bodies, memory stable`, async () => {
  const r = prng(SEED);
  // Two handoffs the action bodies aim at.
  for (let i = 0; i < 2; i++) expect((await baton.api('POST', '/api/handoffs', validIntake(r, 1_000_000 + i))).status).toBe(201);
  const statuses = new Map<number, number>();
  const serverErrors: string[] = [];
  const writesWithoutSuccess: string[] = [];
  const ok = { intakeCreated: 0, intakeReplayed: 0, action: 0 };
  const acceptedKinds = new Map<string, number>();
  let checkedBatches = 0;
  const rss: { at: number; mb: number }[] = [];
  /** After a forced GC in the child: the JS heap, and ArrayBuffers (request bodies; on PGlite also the database's WASM memory). */
  const heap: { at: number; heapMb: number; buffersMb: number }[] = [];
  const started = Date.now();
  let slowest = 0;
  for (let done = 0; done < COUNT; ) {
    const before = await rowCountsBeside();
    const cases = Array.from({ length: Math.min(BATCH, COUNT - done) }, (_, i) => generate(r, done + i));
    let successes = 0;
    // 8 in flight: the API is used concurrently, as a CRM sync would.
    for (let i = 0; i < cases.length; i += 8) {
      await Promise.all(
        cases.slice(i, i + 8).map(async (c) => {
          const t = performance.now();
          let status: number;
          try {
            const res = await fetch(baton.url + c.path, { method: 'POST', headers: { authorization: `Bearer ${CHILD_TOKEN}`, ...c.headers }, body: c.body });
            status = res.status;
            await res.arrayBuffer();
          } catch (err) {
            status = 0;
            serverErrors.push(`${c.label}: no answer (${String(err)})`);
          }
          slowest = Math.max(slowest, performance.now() - t);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) serverErrors.push(`${c.label}: ${status} ${JSON.stringify(c.headers)} ${c.path} ${c.body.subarray(0, 400).toString('utf8')}`);
          if (status >= 200 && status < 300) {
            successes++;
            const kind = c.label.replace(/ \(#\d+\)$/, '').replace(/\d+/g, 'N');
            acceptedKinds.set(kind, (acceptedKinds.get(kind) ?? 0) + 1);
            if (c.target === 'action') ok.action++;
            else if (status === 201) ok.intakeCreated++;
            else ok.intakeReplayed++;
          }
        }),
      );
    }
    done += cases.length;
    if (before) {
      await sleep(30);
      const d = diffCounts(before, (await rowCountsBeside())!);
      // A batch in which nothing succeeded must not have written a single row anywhere.
      if (successes === 0) {
        checkedBatches++;
        if (Object.keys(d).length) writesWithoutSuccess.push(`batch ending at #${done}: ${JSON.stringify(d)}`);
      }
    }
    if (done % 1000 === 0 || done === COUNT) {
      const m = await baton.memoryAfterGc();
      rss.push({ at: done, mb: Math.round(baton.rss() / 1048576) });
      heap.push({ at: done, heapMb: Math.round(m.heapUsed / 1048576), buffersMb: Math.round(m.arrayBuffers / 1048576) });
    }
  }
  const ms = Date.now() - started;
  const figures = {
    seed: SEED,
    requests: COUNT,
    ms,
    perSecond: Math.round((COUNT / ms) * 1000),
    slowestMs: Math.round(slowest),
    statuses: Object.fromEntries([...statuses.entries()].sort((a, b) => a[0] - b[0])),
    accepted2xx: ok,
    acceptedKinds: Object.fromEntries(acceptedKinds),
    serverErrors: serverErrors.length,
    batchesCheckedRowByRow: checkedBatches,
    batchesWithWritesButNoSuccess: writesWithoutSuccess.length,
    rssMb: rss,
    rssGrowthMb: rss.length >= 6 ? Math.round(rss.slice(-3).reduce((a, x) => a + x.mb, 0) / 3 - rss.slice(0, 3).reduce((a, x) => a + x.mb, 0) / 3) : null,
    afterGc: heap,
  };
  recordFigures('fuzz', figures);
  expect(serverErrors.slice(0, 20)).toEqual([]);
  expect(writesWithoutSuccess).toEqual([]);
  // Alive and well.
  expect(baton.proc.exitCode).toBeNull();
  expect((await fetch(`${baton.url}/healthz`)).status).toBe(200);
  expect((await baton.api('POST', '/api/handoffs', validIntake(prng(1), 2_000_000))).status).toBe(201);
  // Memory, read in the child after a forced GC (RSS alone moves ±60 MB with V8's heap sizing and
  // is only reported). Compared: the mean of the samples after 1,000–3,000 requests with the mean of
  // the last three. A leak of one body per request would be gigabytes; 32 MB of heap over 7,000
  // requests is < 5 KB each. ArrayBuffers hold the request bodies; on PGlite they also hold the
  // database's WASM memory, whose buffer pool (128 MB) fills as pages are first read — bounded, but
  // it grows with the data the accepted bodies wrote, so that much more is allowed there.
  const growth = (key: 'heapMb' | 'buffersMb') => Math.round(heap.slice(-3).reduce((a, x) => a + x[key], 0) / 3 - heap.slice(0, 3).reduce((a, x) => a + x[key], 0) / 3);
  const bufferAllowanceMb = 64 + (dbh.kind === 'pglite' ? 128 : 0);
  expect({ heapGrowthMb: growth('heapMb'), heapWithin32Mb: growth('heapMb') < 32, buffersWithinAllowance: growth('buffersMb') < bufferAllowanceMb }).toEqual({
    heapGrowthMb: growth('heapMb'),
    heapWithin32Mb: true,
    buffersWithinAllowance: true,
  });

  // The totals: exactly what the accepted requests wrote, and nothing half-written. Each created
  // handoff has its received + routed events and one outbox event; each applied action one of each.
  await baton.kill('SIGTERM');
  const db = dbh.kind === 'pglite' ? await openDatabase({ dataDir: join(dbh.env.BATON_DATA_DIR!, 'pglite') }) : await openDatabase({ url: dbh.url!, dataDir: '' });
  let totals: Record<string, number>;
  try {
    totals = await rowCounts(db.sql);
    const handoffs = ok.intakeCreated + 3;
    expect(totals.handoff).toBe(handoffs);
    expect(totals.handoff_event).toBe(2 * handoffs + ok.action);
    expect(totals.outbox_event).toBe(handoffs + ok.action);
    const orphans = await db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM account a WHERE NOT EXISTS (SELECT 1 FROM handoff h WHERE h.account_id = a.id)`);
    expect(orphans[0]!.n).toBe('0');
    const incomplete = await db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM handoff h WHERE (SELECT count(*) FROM handoff_event e WHERE e.handoff_id = h.id AND e.type IN ('received','routed')) <> 2`);
    expect(incomplete[0]!.n).toBe('0');
  } finally {
    await db.close();
  }
  recordFigures('fuzz', { ...figures, rowsAtTheEnd: totals });
});
