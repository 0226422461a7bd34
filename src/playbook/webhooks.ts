/**
 * The webhooks section: which URLs receive which of Baton's events, signed per the Standard
 * Webhooks specification (delivery is src/webhooks/outbound.ts). Its YAML form, the checks that
 * refuse an event type Baton never sends or a secret written into the file, and the normalised
 * WebhookSubscription list (types in schema.ts).
 *
 *   webhooks:
 *     - id: revops_warehouse            # optional; names the subscription in logs and status
 *       url: https://hooks.example.com/baton
 *       events: [handoff.routed, handoff.accepted, handoff.escalated]   # or [handoff.*]
 *       secret: env:WAREHOUSE_WEBHOOK_SECRET
 */
import * as z from 'zod';
import { HANDOFF_EVENT_TYPES, type HandoffEventType } from '../events.js';
import { describeValue, didYouMean, isRecord } from './format.js';
import { fields, items, type Problems } from './problems.js';
import type { WebhookSubscription } from './schema.js';
import { addProblem, strict, text } from './values.js';

/** Every handoff event; digest.* events only schedule Baton's own digests and are not sent out. */
export const WEBHOOK_EVENT_TYPES: readonly HandoffEventType[] = HANDOFF_EVENT_TYPES;
export const ALL_HANDOFF_EVENTS = 'handoff.*';

const SUBSCRIPTION_ID_PATTERN = /^[a-z][a-z0-9_.-]*$/;
const ENV_NAME_PATTERN = /^[A-Z][A-Z0-9_]*$/;

const eventSchema = z
  .string({ error: (iss) => (iss.input === undefined ? undefined : `expected an event type such as "handoff.accepted", got ${describeValue(iss.input)}`) })
  .trim()
  .superRefine((type, ctx) => {
    if (type === ALL_HANDOFF_EVENTS || (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) return;
    const hint = didYouMean(type, [...WEBHOOK_EVENT_TYPES, ALL_HANDOFF_EVENTS]);
    const why = type.startsWith('digest.') ? '; digest events are Baton\'s own schedule and are not sent to webhooks' : hint;
    addProblem(ctx, `unknown event type "${type}"${why} (events: ${WEBHOOK_EVENT_TYPES.join(', ')}, or ${ALL_HANDOFF_EVENTS} for all)`);
  });

/** Only ever the name of an environment variable: the secret itself never sits in the playbook (nor in a problem message). */
const secretSchema = z
  .string({ error: (iss) => (iss.input === undefined ? undefined : 'expected env:NAME, the environment variable holding the signing secret') })
  .trim()
  .superRefine((spec, ctx) => {
    if (!spec.startsWith('env:')) {
      addProblem(ctx, 'write the environment variable that holds the signing secret, as env:NAME (e.g. env:WAREHOUSE_WEBHOOK_SECRET); the secret itself never goes in the playbook');
    } else if (!ENV_NAME_PATTERN.test(spec.slice(4))) {
      addProblem(ctx, `expected an environment variable name like WAREHOUSE_WEBHOOK_SECRET after "env:", got ${describeValue(spec.slice(4))}`);
    }
  })
  .transform((spec) => spec.slice(4));

const urlSchema = text('an http(s) URL such as https://hooks.example.com/baton').superRefine((raw, ctx) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    addProblem(ctx, `expected an absolute URL such as https://hooks.example.com/baton, got ${describeValue(raw)}`);
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') addProblem(ctx, `the URL must start with https:// (or http://), got ${describeValue(url.protocol)}`);
  // Credentials in a URL end up in logs and status pages; the signature is the authentication.
  if (url.username || url.password) addProblem(ctx, 'the URL must not carry a user name or password; receivers authenticate Baton by the webhook-signature header');
});

export const webhookShape = {
  id: z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `expected an id like "warehouse", got ${describeValue(iss.input)}`) })
    .trim()
    .regex(SUBSCRIPTION_ID_PATTERN, { error: 'use lower-case letters, digits, dots, dashes and underscores, starting with a letter' })
    .optional(),
  url: urlSchema,
  events: z.array(eventSchema).min(1),
  secret: secretSchema,
};
export const webhookSchema = strict(webhookShape);
export const webhooksSchema = z.array(webhookSchema).default([]);

/**
 * Without an id, a subscription is named by its URL's host and path (never its query, which may
 * carry a token). The name keys its outbox deliveries, so it must stay put while the URL does.
 */
export function subscriptionId(spec: { id?: string | undefined; url: string }): string {
  if (spec.id) return spec.id;
  const url = new URL(spec.url);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}`.toLowerCase();
}

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

export function checkWebhooks(problems: Problems, raw: unknown): void {
  if (raw === null) {
    problems.add(['webhooks'], 'the webhooks section is empty: list at least one subscription (url, events, secret) or remove the section');
    return;
  }
  const seen = new Map<string, number>();
  items(problems, raw, ['webhooks']).forEach((rawItem, i) => {
    const path = ['webhooks', i];
    const parsed = fields(problems, webhookShape, rawItem, path, `webhook ${i + 1}`);
    if (!parsed || !isRecord(rawItem) || parsed.url === undefined) return;
    let id: string;
    try {
      id = subscriptionId({ id: parsed.id, url: parsed.url });
    } catch {
      return; // the URL's own problem is already reported
    }
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, i);
      return;
    }
    problems.add(
      parsed.id ? [...path, 'id'] : [...path, 'url'],
      `webhook ${i + 1} has the same id "${id}" as webhook ${first + 1}; give each its own id (it names the subscription's deliveries)`,
    );
  });
}

// ---------------------------------------------------------------------------------------
// Build pass: the section is known to be valid here
// ---------------------------------------------------------------------------------------

export function buildWebhooks(section: z.output<typeof webhooksSchema>): WebhookSubscription[] {
  return section.map((spec) => ({
    id: subscriptionId(spec),
    url: spec.url,
    events: spec.events.includes(ALL_HANDOFF_EVENTS) ? [...WEBHOOK_EVENT_TYPES] : [...new Set(spec.events as HandoffEventType[])],
    secretEnv: spec.secret,
  }));
}
