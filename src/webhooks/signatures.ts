/**
 * Request signatures of the CRM webhooks. Both are HMAC-SHA256 over the raw body bytes plus a
 * timestamp, so a captured delivery cannot be replayed after the 5-minute window and a body
 * cannot be altered; the timestamp is checked in both directions (a sender with a clock far
 * ahead could otherwise mint requests that stay valid for longer).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from Baton's clock, either way. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;

export type SignatureCheck = { ok: true } | { ok: false; message: string };

// ---------------------------------------------------------------------------------------------
// HubSpot: X-HubSpot-Signature-v3 (webhooks API and workflow "Send a webhook" actions)

/**
 * HubSpot decodes these percent-encodings in the URI before signing (its request-validation
 * guide lists exactly these); everything else, such as %20, stays encoded.
 */
const HUBSPOT_DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** The URI as HubSpot signs it: the full URL it called, with the characters above decoded. */
export function hubspotSigningUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => HUBSPOT_DECODED[m.toUpperCase()] ?? m);
}

/** base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp)); `uri` as HubSpot called it. */
export function hubspotSignature(args: { secret: string; method: string; uri: string; body: Buffer | string; timestamp: string }): string {
  return createHmac('sha256', args.secret)
    .update(args.method.toUpperCase() + hubspotSigningUri(args.uri), 'utf8')
    .update(typeof args.body === 'string' ? Buffer.from(args.body, 'utf8') : args.body)
    .update(args.timestamp, 'utf8')
    .digest('base64');
}

export function verifyHubSpot(args: {
  secret: string;
  method: string;
  uri: string;
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  nowMs: number;
  secretEnv: string;
}): SignatureCheck {
  if (!args.signature || !args.timestamp) {
    return { ok: false, message: 'Missing HubSpot signature: the X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp headers are required (authenticate the webhook with the request signature).' };
  }
  // Milliseconds since the epoch (13 digits), as HubSpot sends it; anything else is refused before hashing.
  if (!/^\d{13}$/.test(args.timestamp)) {
    return { ok: false, message: 'X-HubSpot-Request-Timestamp must be a Unix time in milliseconds.' };
  }
  const window = windowProblem(Number(args.timestamp), args.nowMs);
  if (window) return { ok: false, message: `The HubSpot request timestamp ${window}; the request was refused.` };
  const expected = hubspotSignature({ secret: args.secret, method: args.method, uri: args.uri, body: args.body, timestamp: args.timestamp });
  if (!sameText(expected, args.signature.trim())) {
    return {
      ok: false,
      message: `The HubSpot signature does not match: check ${args.secretEnv} (the app's client secret) and that BATON_PUBLIC_URL is the base of the URL HubSpot calls.`,
    };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Salesforce (and anything else that can compute an HMAC): X-Baton-Signature

export const BATON_SIGNATURE_PREFIX = 'sha256=';

/** "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)); timestamp in Unix seconds. */
export function batonSignature(args: { secret: string; timestamp: string; body: Buffer | string }): string {
  return (
    BATON_SIGNATURE_PREFIX +
    createHmac('sha256', args.secret)
      .update(`${args.timestamp}.`, 'utf8')
      .update(typeof args.body === 'string' ? Buffer.from(args.body, 'utf8') : args.body)
      .digest('hex')
  );
}

export function verifyBaton(args: { secret: string; body: Buffer; signature: string | undefined; timestamp: string | undefined; nowMs: number; secretEnv: string }): SignatureCheck {
  if (!args.signature || !args.timestamp) {
    return { ok: false, message: 'Missing signature: send the X-Baton-Timestamp and X-Baton-Signature headers (see docs/crm-webhooks.md).' };
  }
  // Seconds (10 digits); milliseconds are refused rather than guessed, so one format is documented and signed.
  if (!/^\d{10}$/.test(args.timestamp)) {
    return { ok: false, message: 'X-Baton-Timestamp must be a Unix time in seconds.' };
  }
  const window = windowProblem(Number(args.timestamp) * 1000, args.nowMs);
  if (window) return { ok: false, message: `The request timestamp ${window}; the request was refused.` };
  // Hex is case-insensitive; Apex's EncodingUtil.convertToHex writes lower case.
  const given = args.signature.trim().toLowerCase();
  if (!sameText(batonSignature({ secret: args.secret, timestamp: args.timestamp, body: args.body }), given)) {
    return { ok: false, message: `The signature does not match: X-Baton-Signature must be "sha256=" + hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with ${args.secretEnv}.` };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------

function windowProblem(tsMs: number, nowMs: number): string | undefined {
  const skew = tsMs - nowMs;
  if (skew < -SIGNATURE_WINDOW_MS) return `is ${describeSkew(-skew)} old (more than 5 minutes): a replay, or a delivery that waited too long`;
  if (skew > SIGNATURE_WINDOW_MS) return `is ${describeSkew(skew)} in the future (more than 5 minutes): check the sender's clock`;
  return undefined;
}

function describeSkew(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes} minutes` : `${Math.round(minutes / 60)} hours`;
}

/** Constant-time comparison; a length difference is no secret. */
function sameText(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
