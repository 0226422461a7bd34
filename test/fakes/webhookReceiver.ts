/**
 * A webhook subscriber on 127.0.0.1, as a receiver following the Standard Webhooks specification
 * would be written: every request's signature is verified with the `standardwebhooks` reference
 * library (a bad one is answered 401), and a message whose webhook-id it already accepted is
 * acknowledged without being processed again. Tests script its answers (an outage's 503s, a
 * 429 with Retry-After, a 410) and read what it received.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedRequest {
  path: string;
  webhookId: string;
  headers: Record<string, string>;
  body: string;
  /** Whether the signature verified with the subscription's secret. */
  verified: boolean;
  /** What the receiver answered. */
  status: number;
}

export interface ProcessedMessage {
  webhookId: string;
  path: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** Decides an answer for a request that verified; undefined = accept it (200). */
export type Script = (req: { path: string; webhookId: string; attempt: number }) => { status: number; headers?: Record<string, string>; body?: string } | undefined;

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Messages accepted and processed, once per webhook-id (repeats are acknowledged, not processed). */
  processed: ProcessedMessage[];
  /** webhook-ids that arrived again after being accepted (a receiver would have to drop them). */
  repeats: string[];
  script: Script;
  close(): Promise<void>;
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const attempts = new Map<string, number>();
  const accepted = new Set<string>();
  const receiver: WebhookReceiver = { url: '', requests: [], processed: [], repeats: [], script: () => undefined, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    void read(req).then((body) => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const webhookId = headers['webhook-id'] ?? '';
      const path = req.url ?? '/';
      let payload: ProcessedMessage | undefined;
      let verified = true;
      try {
        payload = { webhookId, path, ...(verifier.verify(body, headers) as Omit<ProcessedMessage, 'webhookId' | 'path'>) };
      } catch {
        verified = false;
      }
      const attempt = (attempts.get(path + webhookId) ?? 0) + 1;
      attempts.set(path + webhookId, attempt);
      const scripted = verified ? receiver.script({ path, webhookId, attempt }) : { status: 401, body: 'bad signature' };
      const status = scripted?.status ?? 200;
      receiver.requests.push({ path, webhookId, headers, body, verified, status });
      if (status >= 200 && status < 300 && payload) {
        const key = path + webhookId;
        if (accepted.has(key)) receiver.repeats.push(webhookId);
        else {
          accepted.add(key);
          receiver.processed.push(payload);
        }
      }
      res.writeHead(status, { 'content-type': 'text/plain', ...(scripted?.headers ?? {}) });
      res.end(scripted?.body ?? (status < 300 ? 'ok' : 'no'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}
