/**
 * A Bolt receiver mounted on Baton's one express app at /slack/events. Slash commands,
 * interactivity and the Events API all use that URL. It checks the request signature itself (both
 * directions of the replay window) before anything is parsed or handed to Bolt, and answers
 * Slack's HTTP request as soon as a listener calls ack(). A button click is stored in the platform
 * inbox first and acknowledged as soon as it is stored (see handle and src/platformInbox.ts).
 */
import { createHash } from 'node:crypto';
import express, { type Express, type Request, type Response } from 'express';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import type { PlatformInbox } from '../../src/platformInbox.js';
import { verifySlackSignature } from './verify.js';

export const SLACK_EVENTS_PATH = '/slack/events';

/** Slack gives an app 3 seconds; after that the request is answered for the listener that never acked. */
const UNACKED_TIMEOUT_MS = 3001;

export class BatonSlackReceiver implements Receiver {
  private app: App | undefined;

  constructor(
    private readonly opts: {
      signingSecret: string;
      clock: Clock;
      log: Logger;
      bodyLimit?: string;
      /** Where clicks are stored before they are acknowledged; without it (unit tests of Bolt wiring) clicks are acked unstored. */
      inbox?: PlatformInbox | undefined;
      /** Test only (BATON_TEST_CRASH_AFTER_CLICK_ACK, never in production): SIGKILL this process right after a click's ack. */
      crashAfterClickAck?: boolean | undefined;
    },
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
    let inboxId: number | undefined;
    // A button click is answered before Bolt sees it, but only once it is stored: Slack does not
    // re-send a click it got a 200 for, so a click acknowledged unstored is lost if the process
    // dies before handling it. The acknowledgement carries nothing, so answering before the
    // handling loses nothing else; and with a hundred clicks at once, each answer would otherwise
    // wait behind Bolt's processing of the others and the work they start (transactions, Slack calls).
    if (body.type === 'block_actions') {
      const inbox = this.opts.inbox;
      if (inbox) {
        let stored;
        try {
          stored = await inbox.store(clickKey(body, raw), storedPayload(body));
        } catch (err) {
          // Never acknowledge what is not stored: a 503 makes Slack show the person that the click
          // failed (and a retrying client re-send it), instead of a 200 for a click that may be lost.
          log.error({ err: err instanceof Error ? err.message : String(err) }, 'Slack: could not store a click; answered 503');
          res.status(503).json({ error: { code: 'unavailable', message: 'Baton could not store this click; please retry.' } });
          return;
        }
        if (!stored.fresh) {
          // A re-delivery (a retry, or a replayed capture) of a click stored before: that one's
          // handling, or the inbox's recovery, owns it.
          log.info({ triggerId: body.trigger_id }, 'Slack: a click already stored was delivered again; acknowledged, not handled twice');
          res.status(200).end();
          return;
        }
        inboxId = stored.id;
      }
      acked = true;
      res.status(200).end();
      if (this.opts.crashAfterClickAck) {
        // The test knob for the crash this inbox is for: die the way SIGKILL kills, once the
        // answer has left the process and before anything handles the click.
        res.once('finish', () => process.kill(process.pid, 'SIGKILL'));
        return;
      }
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
      // Listeners mark the stored click applied in their action's transaction (context.inboxId).
      ...(inboxId !== undefined ? { customProperties: { inboxId } } : {}),
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
      // Acknowledgements first: the clicks of a burst are all stored (and answered) before any is handled.
      if (inboxId !== undefined) await this.opts.inbox!.idle();
      await this.app.processEvent(event);
      // Handled (applied, refused, or nothing to apply): the inbox's recovery must not replay it.
      // A failure here leaves the row to recovery, whose replay finds it applied or re-refuses it.
      if (inboxId !== undefined) await this.opts.inbox!.finish(inboxId).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err), inboxId }, 'Slack: could not mark a handled click; recovery will look at it again'));
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

/** A click's identity: Slack's trigger_id (one per click), else the signed body itself. */
export function clickKey(body: Record<string, unknown>, raw: Buffer): string {
  return typeof body.trigger_id === 'string' && body.trigger_id ? `trigger:${body.trigger_id}` : `body:${createHash('sha256').update(raw).digest('hex')}`;
}

/**
 * What the inbox keeps of a click: the payload without `message`, the card it was clicked on
 * (packet fields and account names that the handoff's own rows already hold, and most of the
 * payload's size); no listener reads it.
 */
export function storedPayload(body: Record<string, unknown>): Record<string, unknown> {
  const { message: _card, ...rest } = body;
  return rest;
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
