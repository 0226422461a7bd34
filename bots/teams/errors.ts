/**
 * Turns a failed call to Teams into the outbox's retry intent: 429 → RetryAfterError (the
 * connector's Retry-After), 5xx / timeouts / network → retry with backoff, 401/403/404 and other
 * 4xx → NonRetriableError (trying again cannot help), with a message that says what to fix.
 */
import { NonRetriableError, RetryAfterError } from '../../src/retry.js';
import { BatonError, UnavailableError } from '../../src/errors.js';
import { ConnectorHttpError } from './transport.js';

export function connectorErrorOf(err: unknown): ConnectorHttpError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof ConnectorHttpError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function classifyTeamsError(err: unknown, what: string): Error {
  const http = connectorErrorOf(err);
  if (http) {
    const where = `${what}: ${http.method} ${http.path}`;
    if (http.status === 429) return new RetryAfterError(`Teams throttled ${where}`, http.retryAfterMs ?? 1000, { cause: err });
    if (http.status === 0 || http.status === 408 || http.status >= 500) return new Error(`Teams did not complete ${where} (${http.status || 'no answer'}); will retry`, { cause: err });
    if (http.status === 401 || http.status === 403) {
      return new NonRetriableError(
        `Teams refused ${where} with ${http.status}: check MICROSOFT_APP_ID / MICROSOFT_APP_PASSWORD (and tenant), and that the Baton app is installed where it posts`,
        { cause: err },
      );
    }
    if (http.status === 404) return new NonRetriableError(`Teams does not know ${where} (404): the conversation or message is gone, or the app was removed`, { cause: err });
    return new NonRetriableError(`Teams rejected ${where} with ${http.status}: ${http.body.slice(0, 300)}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  // MSAL: the token endpoint refused the app's credentials. Retrying will not fix a wrong secret.
  if (/invalid_client|unauthorized_client|AADSTS7000215|AADSTS700016/.test(message)) {
    return new NonRetriableError(`Microsoft Entra ID refused the bot's credentials during ${what}: check MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (${message.slice(0, 200)})`, { cause: err });
  }
  if (err instanceof BatonError && !(err instanceof UnavailableError)) return new NonRetriableError(`${what}: ${err.userMessage}`, { cause: err });
  return err instanceof Error ? err : new Error(message);
}
