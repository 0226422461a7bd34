/**
 * A Bolt receiver mounted on Baton's one express app at /slack/events. Slash commands,
 * interactivity and the Events API all use that URL. It checks the request signature itself (both
 * directions of the replay window) before anything is parsed or handed to Bolt, and answers
 * Slack's HTTP request as soon as a listener calls ack() (a button click: at once, see handle).
 */
import express, { type Express, type Request, type Response } from 'express';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import { verifySlackSignature } from './verify.js';

export const SLACK_EVENTS_PATH = '/slack/events';

/** Slack gives an app 3 seconds; after that the request is answered for the listener that never acked. */
const UNACKED_TIMEOUT_MS = 3001;

export class BatonSlackReceiver implements Receiver {
  private app: App | undefined;

  constructor(
    private readonly opts: { signingSecret: string; clock: Clock; log: Logger; bodyLimit?: string },
  ) {}

  init(app: App): void {
    this.app = app;
  }

  /** The server belongs to Baton; the receiver only adds a route to it. */
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  mount(expressApp: Express): void {
    expressApp.post(SLACK_EVENTS_PATH, express.raw({ type: () => true, limit: this.opts.bodyLimit ?? '1mb' }), (req, res) => {
      void this.handle(req, res);
    });
  }

  private async handle(req: Request, res: Response): Promise<void> {
    const log = this.opts.log;
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const contentType = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const form = contentType === 'application/x-www-form-urlencoded';

    // Slack's certificate check carries no signature and asks for nothing but a 200.
    if (form && new URLSearchParams(raw.toString('utf8')).get('ssl_check') === '1') {
      res.status(200).end();
      return;
    }
    const check = verifySlackSignature({
      signingSecret: this.opts.signingSecret,
      timestamp: req.get('x-slack-request-timestamp'),
      signature: req.get('x-slack-signature'),
      rawBody: raw,
      nowMs: this.opts.clock.now().getTime(),
    });
    if (!check.ok) {
      log.warn({ reason: check.reason, ip: req.ip }, 'refused a Slack request: signature check failed');
      res.status(401).json({ error: { code: 'unauthorized', message: 'The Slack request signature is not valid.' } });
      return;
    }

    let body: Record<string, unknown>;
    try {
      body = parseBody(raw.toString('utf8'), form);
    } catch {
      res.status(400).json({ error: { code: 'malformed_request', message: 'The Slack request body could not be parsed.' } });
      return;
    }
    if (body.type === 'url_verification' && typeof body.challenge === 'string') {
      res.status(200).json({ challenge: body.challenge });
      return;
    }
    if (!this.app) {
      res.status(503).json({ error: { code: 'unavailable', message: 'Slack is still starting.' } });
      return;
    }

    let acked = false;
    // A button click is answered before Bolt sees it. Its acknowledgement carries nothing, so
    // nothing is lost; and with a hundred clicks at once, each answer would otherwise wait behind
    // Bolt's processing of the others and the work they start (transactions, Slack calls).
    if (body.type === 'block_actions') {
      acked = true;
      res.status(200).end();
    }
    const timer = acked
      ? undefined
      : setTimeout(() => {
          if (acked) return;
          acked = true;
          log.warn({ type: body.type }, 'no Slack listener acknowledged the request in time');
          if (!res.headersSent) res.status(404).end();
        }, UNACKED_TIMEOUT_MS);
    timer?.unref();

    const retryNum = Number(req.get('x-slack-retry-num'));
    const retryReason = req.get('x-slack-retry-reason');
    const event: ReceiverEvent = {
      body,
      ...(Number.isInteger(retryNum) ? { retryNum } : {}),
      ...(retryReason ? { retryReason } : {}),
      ack: async (response?: unknown) => {
        if (acked) return;
        acked = true;
        clearTimeout(timer);
        if (res.headersSent) return;
        if (response === undefined || response === null || response === '') res.status(200).end();
        else if (typeof response === 'string') res.status(200).type('text/plain').send(response);
        else res.status(200).json(response);
      },
    };
    try {
      // An answered click's work waits for the next turn of the event loop, so the requests that
      // arrived meanwhile (other clicks) are read and answered first.
      if (acked) await new Promise((r) => setImmediate(r));
      await this.app.processEvent(event);
    } catch (err) {
      log.error({ err, type: body.type }, 'a Slack listener failed');
      if (!acked) {
        acked = true;
        clearTimeout(timer);
        if (!res.headersSent) res.status(500).json({ error: { code: 'internal', message: 'Baton could not handle this Slack request.' } });
      }
    }
  }
}

/** Events arrive as JSON; commands as a form; interactivity as a form with a JSON `payload`. */
export function parseBody(text: string, form: boolean): Record<string, unknown> {
  if (!form) {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  }
  const params = new URLSearchParams(text);
  const payload = params.get('payload');
  if (payload !== null) {
    const parsed: unknown = JSON.parse(payload);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  }
  return Object.fromEntries(params.entries());
}
