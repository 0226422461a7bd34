/**
 * A local stand-in for everything Microsoft runs around a Teams bot, on 127.0.0.1:
 *  - the Bot Connector (the activity's serviceUrl, `<url>/amer/`): records conversations created,
 *    activities sent, replies and updates, answers member look-ups, and can fail on demand
 *    (429 with Retry-After, 500);
 *  - the Bot Framework's OpenID metadata and signing keys (an RSA key from node:crypto with the
 *    "msteams" endorsement), and `issueToken` to sign the tokens Teams would send the bot;
 *  - the Entra ID token endpoint the bot's outbound calls get their bearer token from.
 * `env()` gives the botbuilder settings that point a Baton at all of it.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

export interface ConnectorCall {
  method: string;
  /** Path below the service URL, e.g. `/v3/conversations/a%3A1/activities`. */
  path: string;
  /** The decoded conversation id, when the path has one. */
  conversationId?: string;
  /** The same without a channel thread's `;messageid=…` (the channel itself). */
  baseConversationId?: string;
  /** The activity id in the path (update, reply). */
  activityId?: string;
  kind: 'createConversation' | 'send' | 'reply' | 'update' | 'member' | 'members' | 'other';
  body: any;
  authorization: string | undefined;
  /** The status the fake answered. */
  status: number;
  /** The id the fake returned (new activity or conversation id). */
  responseId?: string;
  at: number;
}

export interface Member {
  id: string;
  name: string;
  aadObjectId?: string;
  email?: string;
  userPrincipalName?: string;
  tenantId?: string;
}

interface Failure {
  status: number;
  retryAfterSeconds?: number;
  match: (call: { method: string; kind: ConnectorCall['kind']; conversationId?: string }) => boolean;
  remaining: number;
}

export interface TokenOptions {
  aud?: string;
  iss?: string;
  serviceUrl?: string;
  /** Seconds from now. */
  expiresIn?: number;
  notBefore?: number;
  kid?: string;
  /** Sign with this key instead of the published one (a forgery). */
  key?: KeyObject;
  alg?: 'RS256' | 'none';
  extraClaims?: Record<string, unknown>;
}

export class FakeBotConnector {
  readonly calls: ConnectorCall[] = [];
  readonly tokenRequests: { clientId: string; clientSecret: string; scope: string; grantType: string }[] = [];
  /** Access tokens handed out by the token endpoint, in order. */
  readonly issuedAccessTokens: string[] = [];
  readonly members = new Map<string, Member>();
  readonly kid = `kid-${randomBytes(4).toString('hex')}`;
  private readonly privateKey: KeyObject;
  private readonly jwk: { kty: string; n: string; e: string };
  private failures: Failure[] = [];
  private nextId = 1_716_000_000_000;
  private server!: Server;
  url = '';

  private constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
    this.jwk = jwk;
  }

  static async start(): Promise<FakeBotConnector> {
    const fake = new FakeBotConnector();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The activity's serviceUrl (a regional path prefix, trailing slash included, as Teams sends it). */
  get serviceUrl(): string {
    return `${this.url}/amer/`;
  }
  get openIdMetadataUrl(): string {
    return `${this.url}/openid/.well-known/openidconfiguration`;
  }
  get loginUrl(): string {
    return `${this.url}/login/botframework.com`;
  }

  /**
   * Baton environment: the app credentials, the Microsoft 365 tenants Baton serves (it refuses to
   * start Teams without one) and every botbuilder endpoint setting, set together.
   */
  env(appId: string, password: string, tenants: string[]): Record<string, string> {
    return {
      MICROSOFT_APP_ID: appId,
      MICROSOFT_APP_PASSWORD: password,
      MICROSOFT_APP_TYPE: 'MultiTenant',
      BATON_TEAMS_TENANTS: tenants.join(','),
      ToBotFromChannelOpenIdMetadataUrl: this.openIdMetadataUrl,
      ToBotFromChannelTokenIssuer: BOT_FRAMEWORK_ISSUER,
      ToBotFromEmulatorOpenIdMetadataUrl: `${this.url}/emulator/.well-known/openidconfiguration`,
      ToChannelFromBotLoginUrl: this.loginUrl,
      ToChannelFromBotOAuthScope: BOT_FRAMEWORK_ISSUER,
      OAuthUrl: `${this.url}/oauth`,
    };
  }

  /** A token as the Bot Framework would sign it for a request to the bot. */
  issueToken(appId: string, o: TokenOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: o.alg ?? 'RS256', typ: 'JWT', kid: o.kid ?? this.kid };
    const payload = {
      iss: o.iss ?? BOT_FRAMEWORK_ISSUER,
      aud: o.aud ?? appId,
      serviceurl: o.serviceUrl ?? this.serviceUrl,
      nbf: now + (o.notBefore ?? -60),
      iat: now - 60,
      exp: now + (o.expiresIn ?? 3600),
      ...o.extraClaims,
    };
    const data = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    if (header.alg === 'none') return `${data}.`;
    const signature = sign('sha256', Buffer.from(data), o.key ?? this.privateKey);
    return `${data}.${signature.toString('base64url')}`;
  }

  /** Another RSA key, for forged signatures. */
  static otherKey(): KeyObject {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));
  }

  /** The next `times` connector calls matching `match` answer `status` (with Retry-After for 429). */
  failNext(times: number, status: number, opts: { retryAfterSeconds?: number; match?: Failure['match'] } = {}): void {
    this.failures.push({ status, remaining: times, match: opts.match ?? (() => true), ...(opts.retryAfterSeconds !== undefined ? { retryAfterSeconds: opts.retryAfterSeconds } : {}) });
  }

  addMember(m: Member): void {
    this.members.set(m.id, m);
  }

  /** Successful calls of one kind. */
  ok(kind: ConnectorCall['kind']): ConnectorCall[] {
    return this.calls.filter((c) => c.kind === kind && c.status < 300);
  }

  reset(): void {
    this.calls.length = 0;
    this.tokenRequests.length = 0;
    this.failures = [];
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/openid/.well-known/openidconfiguration') {
      return json(res, 200, {
        issuer: BOT_FRAMEWORK_ISSUER,
        authorization_endpoint: `${this.url}/openid/authorize`,
        jwks_uri: `${this.url}/openid/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    if (method === 'GET' && path === '/openid/keys') {
      return json(res, 200, { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, n: this.jwk.n, e: this.jwk.e, endorsements: ['msteams'] }] });
    }
    if (method === 'POST' && path === '/login/botframework.com/oauth2/v2.0/token') {
      const form = new URLSearchParams(raw);
      this.tokenRequests.push({ clientId: form.get('client_id') ?? '', clientSecret: form.get('client_secret') ?? '', scope: form.get('scope') ?? '', grantType: form.get('grant_type') ?? '' });
      const token = `fake-access-${randomBytes(12).toString('hex')}`;
      this.issuedAccessTokens.push(token);
      return json(res, 200, { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: token });
    }
    if (path.startsWith('/amer/v3/')) return this.connector(method, path.slice('/amer'.length), raw, req, res);
    return json(res, 404, { error: { code: 'NotFound', message: `fake has no ${method} ${path}` } });
  }

  private connector(method: string, path: string, raw: string, req: IncomingMessage, res: ServerResponse): void {
    const body = raw ? (JSON.parse(raw) as any) : undefined;
    const m = /^\/v3\/conversations(?:\/([^/]+)(?:\/(activities|members)(?:\/([^/]+))?)?)?$/.exec(path);
    const conversationId = m?.[1] ? decodeURIComponent(m[1]) : undefined;
    const sub = m?.[2];
    const third = m?.[3] ? decodeURIComponent(m[3]) : undefined;
    let kind: ConnectorCall['kind'] = 'other';
    if (m && !conversationId && method === 'POST') kind = 'createConversation';
    else if (sub === 'activities' && method === 'POST') kind = third ? 'reply' : 'send';
    else if (sub === 'activities' && method === 'PUT' && third) kind = 'update';
    else if (sub === 'members' && method === 'GET') kind = third ? 'member' : 'members';
    const call: ConnectorCall = {
      method,
      path,
      kind,
      body,
      authorization: req.headers.authorization,
      status: 200,
      at: Date.now(),
      ...(conversationId ? { conversationId, baseConversationId: conversationId.split(';')[0]! } : {}),
      ...(third && sub === 'activities' ? { activityId: third } : {}),
    };
    this.calls.push(call);
    const failure = this.failures.find((f) => f.remaining > 0 && f.match({ method, kind, ...(conversationId ? { conversationId } : {}) }));
    if (failure) {
      failure.remaining -= 1;
      call.status = failure.status;
      if (failure.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(failure.retryAfterSeconds));
      return json(res, failure.status, { error: { code: failure.status === 429 ? 'Throttled' : 'ServiceError', message: `injected ${failure.status}` } });
    }
    switch (kind) {
      case 'createConversation': {
        const channel = body?.channelData?.channel?.id as string | undefined;
        const activityId = String(this.nextId++);
        // A channel post starts a thread ("<channel>;messageid=<id>"); a 1:1 chat gets an "a:" id.
        const id = channel ? `${channel};messageid=${activityId}` : `a:${randomBytes(10).toString('base64url')}`;
        call.responseId = id;
        call.status = 201;
        return json(res, 201, body?.activity ? { id, activityId } : { id });
      }
      case 'send':
      case 'reply':
        call.responseId = String(this.nextId++);
        call.status = 201;
        return json(res, 201, { id: call.responseId });
      case 'update':
        return json(res, 200, { id: third });
      case 'member': {
        const member = this.members.get(third ?? '');
        if (!member) {
          call.status = 404;
          return json(res, 404, { error: { code: 'MemberNotFoundInConversation', message: 'The member was not found' } });
        }
        return json(res, 200, member);
      }
      case 'members':
        return json(res, 200, [...this.members.values()]);
      default:
        call.status = 404;
        return json(res, 404, { error: { code: 'NotFound', message: `fake connector has no ${method} ${path}` } });
    }
  }
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
