/**
 * Slack request signing (v0): HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret.
 * Checked here, before Bolt sees the request, because Bolt 5.1.0 only refuses old timestamps and
 * accepts ones from the future; a replay window has to be closed on both sides.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifySlackSignature(args: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  nowMs: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { timestamp, signature } = args;
  if (!timestamp || !signature) return { ok: false, reason: 'missing X-Slack-Request-Timestamp or X-Slack-Signature' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  const skew = Math.abs(Math.floor(args.nowMs / 1000) - Number(timestamp));
  if (skew > (args.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS)) return { ok: false, reason: `timestamp is ${skew}s away from now (replay window is 5 minutes)` };
  const m = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!m) return { ok: false, reason: 'malformed signature' };
  const expected = createHmac('sha256', args.signingSecret).update(`v0:${timestamp}:`).update(args.rawBody).digest();
  const given = Buffer.from(m[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

/** What Slack sends: used by tests and local tools to sign requests exactly as Slack does. */
export function signSlackRequest(signingSecret: string, timestamp: number, rawBody: string): string {
  return 'v0=' + createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
}
