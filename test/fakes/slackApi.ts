/**
 * A fake Slack Web API on 127.0.0.1: a real HTTP server that implements the methods Baton calls
 * with realistic answers, keeps channels and threads in memory, records every call, and can
 * inject failures (429 with Retry-After, 5xx, slow answers, "posted but answered 500"). It also
 * receives `response_url` posts. Everything Baton sends is checked against Block Kit's limits,
 * and refused with `invalid_blocks` the way Slack would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockKitProblems, type Surface } from '../../blocks/slack/limits.js';

export interface FakeSlackUser {
  id: string;
  email: string;
  name?: string;
  deleted?: boolean;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  updates: number;
  /** Wall-clock ms when posted. */
  postedAt: number;
}

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  status: number;
  ok: boolean;
  error?: string;
  at: number;
}

export type Fault =
  | { kind: 'ratelimit'; retryAfterSec: number }
  | { kind: 'http'; status: number }
  | { kind: 'slow'; delayMs: number }
  /** Slack did the work but the answer got lost (a 500 after posting): the caller can't know. */
  | { kind: 'commitThenFail'; status: number }
  /** Slack did the work and never answers: the caller is left waiting (then killed, in a crash test). */
  | { kind: 'commitThenHang' }
  | { kind: 'error'; error: string };

interface FaultRule {
  method: string | RegExp | undefined;
  fault: Fault;
  times: number;
  untilMs: number;
}

const JSON_ARGS = new Set(['blocks', 'attachments', 'metadata', 'view']);

export class FakeSlackApi {
  readonly token: string;
  readonly botUserId = 'UBATONBOT1';
  readonly botId = 'BBATONBOT1';
  readonly teamId = 'TNORTHWIND';
  readonly calls: RecordedCall[] = [];
  readonly messages: FakeMessage[] = [];
  readonly ephemerals: { channel: string; user: string; text: string; blocks: unknown[] }[] = [];
  readonly responses: { key: string; body: Record<string, unknown>; at: number }[] = [];
  readonly views: { method: 'views.open' | 'views.publish'; triggerId?: string; userId?: string; view: Record<string, unknown> }[] = [];
  /** Channels that answer channel_not_found / not_in_channel. */
  readonly missingChannels = new Set<string>();
  readonly notInChannel = new Set<string>();
  private users: FakeSlackUser[];
  private rules: FaultRule[] = [];
  private server: Server | undefined;
  private seq = 0;
  private lastSec = 0;
  port = 0;

  constructor(opts: { token: string; users?: FakeSlackUser[] }) {
    this.token = opts.token;
    this.users = opts.users ?? [];
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** What SLACK_API_URL should be. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }
  responseUrl(key: string): string {
    return `${this.url}/respond/${encodeURIComponent(key)}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.route(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => {
      this.server!.close(() => resolve());
      this.server!.closeAllConnections();
    });
  }

  /** A user users.info will describe (e.g. a Slack Connect guest whose profile shows one of our emails). */
  addUser(u: FakeSlackUser): void {
    this.users.push(u);
  }

  /** Files uploaded with files.uploadV2 (getUploadURLExternal → upload → completeUploadExternal). */
  readonly uploads: { id: string; channel: string; title: string; filename: string; bytes: Buffer; comment: string | undefined }[] = [];
  private readonly pendingUploads = new Map<string, { filename: string; length: number; bytes: Buffer | undefined }>();

  setUsers(users: FakeSlackUser[]): void {
    this.users = users;
  }

  /** Adds a failure rule: matches `method` (all when omitted), `times` times and/or until `forMs` has passed. */
  inject(fault: Fault, opts: { method?: string | RegExp; times?: number; forMs?: number } = {}): void {
    this.rules.push({ method: opts.method, fault, times: opts.times ?? Infinity, untilMs: opts.forMs === undefined ? Infinity : Date.now() + opts.forMs });
  }

  clearFaults(): void {
    this.rules = [];
  }

  // ---- Queries for tests

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }
  okCalls(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.ok);
  }
  /** Top-level messages (not thread replies) in a channel, oldest first. */
  topLevel(channel?: string): FakeMessage[] {
    return this.messages.filter((m) => (!channel || m.channel === channel) && !m.thread_ts);
  }
  replies(channel: string, ts: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === ts);
  }
  /** The handoff cards Baton posted for one handoff. */
  cardsFor(handoffId: number): FakeMessage[] {
    return this.messages.filter((m) => !m.thread_ts && m.metadata?.event_type === 'baton_handoff' && Number(m.metadata.event_payload.handoff_id) === handoffId);
  }
  noticesFor(handoffId: number): FakeMessage[] {
    return this.messages.filter((m) => m.metadata?.event_type === 'baton_notice' && Number(m.metadata.event_payload.handoff_id) === handoffId);
  }
  dmChannelOf(userId: string): string {
    return `D${userId.slice(1)}`;
  }

  // ---- HTTP

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname.startsWith('/upload/')) {
      // files.uploadV2 step 2: the bytes go to the upload URL that files.getUploadURLExternal gave.
      const id = decodeURIComponent(url.pathname.slice('/upload/'.length));
      const pending = this.pendingUploads.get(id);
      if (!pending) return send(res, 404, { ok: false, error: 'unknown_upload' });
      pending.bytes = fileBytes(Buffer.concat(chunks), String(req.headers['content-type'] ?? ''));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${pending.bytes.length}`);
      return;
    }
    if (url.pathname.startsWith('/respond/')) {
      const key = decodeURIComponent(url.pathname.slice('/respond/'.length));
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = { raw };
      }
      const problems = Array.isArray(body.blocks) ? blockKitProblems(body.blocks, 'message') : [];
      this.responses.push({ key, body, at: Date.now() });
      return send(res, problems.length ? 400 : 200, problems.length ? { ok: false, error: 'invalid_blocks', problems } : { ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return send(res, 404, { ok: false, error: 'unknown_method' });
    const method = url.pathname.slice('/api/'.length);
    const args = parseArgs(raw, req.headers['content-type'] ?? '');
    const rec: RecordedCall = { method, args, status: 200, ok: false, at: arrived };
    this.calls.push(rec);

    const rule = this.matchRule(method);
    let commitThenFail: number | undefined;
    let commitThenHang = false;
    if (rule) {
      const f = rule.fault;
      if (f.kind === 'slow') await new Promise((r) => setTimeout(r, f.delayMs));
      else if (f.kind === 'ratelimit') {
        rec.status = 429;
        rec.error = 'ratelimited';
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(f.retryAfterSec) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      } else if (f.kind === 'http') {
        rec.status = f.status;
        rec.error = `http_${f.status}`;
        res.writeHead(f.status, { 'content-type': 'text/plain' });
        res.end('upstream trouble');
        return;
      } else if (f.kind === 'error') {
        rec.error = f.error;
        return send(res, 200, { ok: false, error: f.error });
      } else if (f.kind === 'commitThenFail') commitThenFail = f.status;
      else if (f.kind === 'commitThenHang') commitThenHang = true;
    }

    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.token}`) {
      rec.error = 'invalid_auth';
      return send(res, 200, { ok: false, error: 'invalid_auth' });
    }
    let answer: Record<string, unknown>;
    try {
      answer = this.handle(method, args);
    } catch (err) {
      const problems = (err as { problems?: string[] }).problems;
      answer = { ok: false, error: err instanceof Error ? err.message : String(err), ...(problems ? { response_metadata: { messages: problems } } : {}) };
    }
    rec.ok = answer.ok === true;
    if (!rec.ok) rec.error = String(answer.error);
    if (commitThenHang) {
      rec.status = 0;
      rec.ok = false;
      rec.error = 'committed_then_no_answer';
      return; // the connection stays open until the caller goes away or the fake stops
    }
    if (commitThenFail !== undefined) {
      rec.status = commitThenFail;
      rec.ok = false;
      rec.error = `committed_then_http_${commitThenFail}`;
      res.writeHead(commitThenFail, { 'content-type': 'text/plain' });
      res.end('the answer was lost');
      return;
    }
    send(res, 200, answer);
  }

  private matchRule(method: string): FaultRule | undefined {
    const now = Date.now();
    this.rules = this.rules.filter((r) => r.times > 0 && r.untilMs > now);
    const rule = this.rules.find((r) => r.method === undefined || (typeof r.method === 'string' ? r.method === method : r.method.test(method)));
    if (rule) rule.times--;
    return rule;
  }

  private nextTs(): string {
    const sec = Math.max(Math.floor(Date.now() / 1000), this.lastSec);
    if (sec !== this.lastSec) {
      this.lastSec = sec;
      this.seq = 0;
    }
    this.seq++;
    return `${sec}.${String(this.seq).padStart(6, '0')}`;
  }

  private checkBlocks(blocks: unknown, surface: Surface, view?: Record<string, unknown>): void {
    if (blocks === undefined) return;
    if (!Array.isArray(blocks)) throw new Error('invalid_blocks_format');
    const problems = blockKitProblems(blocks, surface, view);
    if (problems.length) throw Object.assign(new Error('invalid_blocks'), { problems });
  }

  private channelCheck(channel: unknown): string {
    if (typeof channel !== 'string' || !channel) throw new Error('channel_not_found');
    if (this.missingChannels.has(channel)) throw new Error('channel_not_found');
    if (this.notInChannel.has(channel)) throw new Error('not_in_channel');
    // chat.postMessage to a user id posts in the app's DM with them.
    return /^[UW]/.test(channel) ? this.dmChannelOf(channel) : channel;
  }

  private handle(method: string, a: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://northwind.slack.com/', team: 'Northwind', user: 'baton', team_id: this.teamId, user_id: this.botUserId, bot_id: this.botId };
      case 'chat.postMessage': {
        const channel = this.channelCheck(a.channel);
        if (typeof a.text !== 'string' && !Array.isArray(a.blocks)) throw new Error('no_text');
        this.checkBlocks(a.blocks, 'message');
        const threadTs = typeof a.thread_ts === 'string' ? a.thread_ts : undefined;
        if (threadTs && !this.messages.some((m) => m.channel === channel && m.ts === threadTs)) throw new Error('thread_not_found');
        const m: FakeMessage = {
          channel,
          ts: this.nextTs(),
          text: String(a.text ?? ''),
          blocks: (a.blocks as unknown[] | undefined) ?? [],
          updates: 0,
          postedAt: Date.now(),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(a.metadata ? { metadata: a.metadata as FakeMessage['metadata'] } : {}),
        };
        this.messages.push(m);
        return { ok: true, channel, ts: m.ts, message: this.render(m, true) };
      }
      case 'chat.update': {
        const channel = this.channelCheck(a.channel);
        const m = this.messages.find((x) => x.channel === channel && x.ts === a.ts);
        if (!m) throw new Error('message_not_found');
        this.checkBlocks(a.blocks, 'message');
        if (typeof a.text === 'string') m.text = a.text;
        if (Array.isArray(a.blocks)) m.blocks = a.blocks;
        m.updates++;
        return { ok: true, channel, ts: m.ts, text: m.text, message: this.render(m, false) };
      }
      case 'chat.postEphemeral': {
        const channel = this.channelCheck(a.channel);
        this.checkBlocks(a.blocks, 'message');
        this.ephemerals.push({ channel, user: String(a.user), text: String(a.text ?? ''), blocks: (a.blocks as unknown[] | undefined) ?? [] });
        return { ok: true, message_ts: this.nextTs() };
      }
      case 'conversations.open': {
        const user = String(a.users ?? '').split(',')[0] ?? '';
        if (!this.users.some((u) => u.id === user && !u.deleted)) throw new Error('user_not_found');
        return { ok: true, no_op: true, already_open: true, channel: { id: this.dmChannelOf(user) } };
      }
      case 'conversations.history': {
        const channel = this.channelCheck(a.channel);
        const oldest = Number(a.oldest ?? 0);
        const limit = Math.min(Number(a.limit ?? 100), 1000);
        const offset = Number(a.cursor ?? 0);
        const withMeta = a.include_all_metadata === true || a.include_all_metadata === 'true';
        const all = this.messages.filter((m) => m.channel === channel && !m.thread_ts && Number(m.ts) >= oldest).reverse();
        const page = all.slice(offset, offset + limit);
        const more = offset + limit < all.length;
        return { ok: true, messages: page.map((m) => this.render(m, withMeta)), has_more: more, response_metadata: { next_cursor: more ? String(offset + limit) : '' } };
      }
      case 'conversations.replies': {
        const channel = this.channelCheck(a.channel);
        const parent = this.messages.find((m) => m.channel === channel && m.ts === a.ts);
        if (!parent) throw new Error('thread_not_found');
        const withMeta = a.include_all_metadata === true || a.include_all_metadata === 'true';
        const thread = [parent, ...this.replies(channel, parent.ts)];
        return { ok: true, messages: thread.map((m) => this.render(m, withMeta)), has_more: false, response_metadata: { next_cursor: '' } };
      }
      case 'users.lookupByEmail': {
        const u = this.users.find((x) => x.email.toLowerCase() === String(a.email).toLowerCase() && !x.deleted);
        if (!u) throw new Error('users_not_found');
        return { ok: true, user: this.user(u) };
      }
      case 'users.info': {
        const u = this.users.find((x) => x.id === a.user);
        if (!u) throw new Error('user_not_found');
        return { ok: true, user: this.user(u) };
      }
      case 'views.open': {
        if (typeof a.trigger_id !== 'string' || !a.trigger_id) throw new Error('invalid_trigger_id');
        const view = a.view as Record<string, unknown>;
        this.checkBlocks(view?.blocks, 'modal', view);
        this.views.push({ method: 'views.open', triggerId: a.trigger_id, view });
        return { ok: true, view: { id: `V${this.nextTs().replace('.', '')}`, team_id: this.teamId, ...view } };
      }
      case 'files.getUploadURLExternal': {
        const id = `F${this.nextTs().replace('.', '')}`;
        this.pendingUploads.set(id, { filename: String(a.filename ?? ''), length: Number(a.length ?? 0), bytes: undefined });
        return { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const files = (typeof a.files === 'string' ? JSON.parse(a.files) : a.files) as { id: string; title?: string }[];
        const channel = this.channelCheck(a.channel_id);
        for (const f of files) {
          const pending = this.pendingUploads.get(f.id);
          if (!pending?.bytes) throw new Error('file_not_found');
          this.uploads.push({ id: f.id, channel, title: f.title ?? pending.filename, filename: pending.filename, bytes: pending.bytes, comment: typeof a.initial_comment === 'string' ? a.initial_comment : undefined });
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title })) };
      }
      case 'views.publish': {
        const view = a.view as Record<string, unknown>;
        this.checkBlocks(view?.blocks, 'home', view);
        this.views.push({ method: 'views.publish', userId: String(a.user_id), view });
        return { ok: true, view: { id: `V${this.nextTs().replace('.', '')}`, team_id: this.teamId, ...view } };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private render(m: FakeMessage, withMeta: boolean): Record<string, unknown> {
    return {
      type: 'message',
      user: this.botUserId,
      bot_id: this.botId,
      app_id: 'ABATONAPP1',
      team: this.teamId,
      text: m.text,
      ts: m.ts,
      blocks: m.blocks,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
    };
  }

  private user(u: FakeSlackUser): Record<string, unknown> {
    return { id: u.id, team_id: this.teamId, name: u.name ?? u.email.split('@')[0], deleted: Boolean(u.deleted), profile: { email: u.email, real_name: u.name ?? u.email } };
  }
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** The WebClient posts forms whose nested values are JSON strings; tests may post JSON. */
function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if (JSON_ARGS.has(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        /* keep the string */
      }
    }
    out[k] = v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

/** The upload URL takes the raw bytes or a multipart form (what @slack/web-api sends): the file part's bytes. */
function fileBytes(body: Buffer, contentType: string): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!/^multipart\//i.test(contentType) || !boundary) return body;
  const marker = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const start = body.indexOf(marker);
  const headersEnd = body.indexOf('\r\n\r\n', start);
  const end = body.indexOf(Buffer.concat([Buffer.from('\r\n'), marker]), headersEnd);
  return start < 0 || headersEnd < 0 || end < 0 ? body : body.subarray(headersEnd + 4, end);
}

/**
 * When each handoff's first card reached the fake (chat.postMessage with Baton's handoff
 * metadata), read incrementally from its call log: the benchmarks' intake → card clock.
 */
export class CardArrivals {
  /** handoff id → arrival time (ms since the epoch) of its first card. */
  readonly at = new Map<number, number>();
  private cursor = 0;
  constructor(private readonly fake: FakeSlackApi) {}

  /** Reads the calls recorded since the last scan. */
  scan(): void {
    for (; this.cursor < this.fake.calls.length; this.cursor++) {
      const c = this.fake.calls[this.cursor]!;
      if (c.method !== 'chat.postMessage') continue;
      const meta = c.args.metadata as { event_type?: string; event_payload?: { handoff_id?: unknown } } | undefined;
      if (meta?.event_type !== 'baton_handoff') continue;
      const id = Number(meta.event_payload?.handoff_id);
      if (!this.at.has(id)) this.at.set(id, c.at);
    }
  }
}
