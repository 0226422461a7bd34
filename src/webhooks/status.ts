/**
 * How the outbound webhook subscriptions are doing, read from their outbox deliveries:
 * `GET /api/webhooks/subscriptions` (behind the API's bearer token) lists each with its pending
 * and failed deliveries and the last error, and /metrics gets the totals.
 */
import type { Express, RequestHandler } from 'express';
import type { PrismaClient } from '../generated/prisma/client.js';
import { tokensMatch } from '../apiToken.js';
import { UnauthorizedError } from '../errors.js';
import type { GaugeSample } from '../metrics.js';
import type { WebhookSubscription } from '../playbook/schema.js';
import { WEBHOOK_CONSUMER_PREFIX } from './outbound.js';

export const SUBSCRIPTIONS_PATH = '/api/webhooks/subscriptions';

export interface SubscriptionStatus {
  id: string;
  url: string;
  events: string[];
  delivered: number;
  /** Not delivered yet: waiting for their first attempt or for a retry. */
  pending: number;
  /** Given up (a 4xx other than 408/429, or out of attempts): these need someone to look. */
  failed: number;
  oldestPendingAt: string | null;
  lastError: string | null;
}

interface Row {
  consumer: string;
  delivered: bigint;
  pending: bigint;
  failed: bigint;
  oldest: Date | null;
  last_error: string | null;
}

export async function subscriptionStatus(prisma: PrismaClient, subscriptions: readonly WebhookSubscription[]): Promise<SubscriptionStatus[]> {
  if (!subscriptions.length) return [];
  const names = subscriptions.map((s) => WEBHOOK_CONSUMER_PREFIX + s.id);
  const rows = await prisma.$queryRaw<Row[]>`
    SELECT d.consumer,
           count(*) FILTER (WHERE d.delivered_at IS NOT NULL) AS delivered,
           count(*) FILTER (WHERE d.delivered_at IS NULL AND d.failed_at IS NULL) AS pending,
           count(*) FILTER (WHERE d.failed_at IS NOT NULL) AS failed,
           min(e.created_at) FILTER (WHERE d.delivered_at IS NULL AND d.failed_at IS NULL) AS oldest,
           (array_agg(d.last_error ORDER BY d.event_id DESC) FILTER (WHERE d.last_error IS NOT NULL AND d.delivered_at IS NULL))[1] AS last_error
    FROM outbox_delivery d JOIN outbox_event e ON e.id = d.event_id
    WHERE d.consumer = ANY(${names}::text[])
    GROUP BY d.consumer`;
  const byName = new Map(rows.map((r) => [r.consumer, r]));
  return subscriptions.map((s) => {
    const r = byName.get(WEBHOOK_CONSUMER_PREFIX + s.id);
    return {
      id: s.id,
      url: s.url,
      events: [...s.events],
      delivered: Number(r?.delivered ?? 0),
      pending: Number(r?.pending ?? 0),
      failed: Number(r?.failed ?? 0),
      oldestPendingAt: r?.oldest ? new Date(r.oldest).toISOString() : null,
      lastError: r?.last_error ?? null,
    };
  });
}

/** The mount for createHttpApp. The CRM routes beside it are signed; this one takes the API token. */
export function subscriptionStatusRoute(deps: { prisma: PrismaClient; subscriptions: () => readonly WebhookSubscription[]; apiToken: string }): (app: Express) => void {
  const handler: RequestHandler = (req, res, next) => {
    const m = /^Bearer +(.+)$/i.exec(req.get('authorization') ?? '');
    if (!m) return next(new UnauthorizedError('Missing bearer token: send "Authorization: Bearer <BATON_API_TOKEN>".'));
    if (!tokensMatch(m[1]!, deps.apiToken)) return next(new UnauthorizedError('The bearer token is not valid for this Baton.'));
    subscriptionStatus(deps.prisma, deps.subscriptions())
      .then((subscriptions) => res.json({ subscriptions }))
      .catch(next);
  };
  return (app) => {
    app.get(SUBSCRIPTIONS_PATH, handler);
  };
}

/** Totals over every subscription for /metrics (per-subscription figures are on the status route). */
export function webhookGauges(prisma: PrismaClient, subscriptions: () => readonly WebhookSubscription[]): () => Promise<GaugeSample[]> {
  return async () => {
    const all = await subscriptionStatus(prisma, subscriptions());
    const sum = (k: 'pending' | 'failed') => all.reduce((n, s) => n + s[k], 0);
    return [
      { name: 'baton_webhook_pending_deliveries', help: 'Outbound webhook deliveries not yet accepted by their subscriber (all subscriptions).', value: sum('pending') },
      { name: 'baton_webhook_failed_deliveries', help: 'Outbound webhook deliveries given up (a 4xx other than 408/429, or out of attempts).', value: sum('failed') },
    ];
  };
}
