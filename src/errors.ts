/**
 * Domain errors. Each carries a stable `code` (for machines and logs) and a `userMessage`
 * (what happened + what to do) that adapters show as-is: HTTP maps them once in the API,
 * Slack and Teams map them once to an ephemeral message / card text.
 */
export interface ErrorDetail {
  /** Where the problem is: a dotted path such as `packet.icp_fit` or `transitions.sdr_to_ae.sla.accept`. */
  path: string;
  message: string;
}

export abstract class BatonError extends Error {
  readonly details?: ErrorDetail[];
  constructor(
    /** Stable, for machines and logs (the API's `error.code`). */
    readonly code: string,
    /** What the API answers with; under 500 means the caller's to fix, not Baton's. */
    readonly httpStatus: number,
    readonly userMessage: string,
    details?: ErrorDetail[],
  ) {
    super(userMessage);
    this.name = new.target.name;
    if (details) this.details = details;
  }
}

/**
 * The base of an error whose code and status never vary, so its class only names them:
 * `class NotFoundError extends fixedError('not_found', 404) {}`, thrown with a message (and details).
 */
export function fixedError(code: string, httpStatus: number) {
  return class extends BatonError {
    constructor(message: string, details?: ErrorDetail[]) {
      super(code, httpStatus, message, details);
    }
  };
}

/** Input that fails validation. `details` names every offending field or rule. */
export class InvalidError extends BatonError {
  constructor(message: string, details: ErrorDetail[] = [], code = 'invalid') {
    super(code, 422, message, details);
  }
}

/** A request body that is not JSON at all, or not an object. */
export class MalformedError extends fixedError('malformed_request', 400) {}

/**
 * A query string Baton cannot read: a parameter given twice, written as an array or object
 * (`owner[]=`, `a[b]=`), unknown to the route, or with a value of the wrong form. A malformed
 * request (400), not a valid one that fails a rule (422); `details` names each parameter.
 */
export class BadQueryError extends fixedError('bad_query', 400) {}

export class NotFoundError extends fixedError('not_found', 404) {}

export class UnauthorizedError extends fixedError('unauthorized', 401) {}

/** The actor is known but may not do this; `ownerName` says who can. */
export class ForbiddenError extends BatonError {
  constructor(
    message: string,
    readonly ownerName?: string,
  ) {
    super('forbidden', 403, message);
  }
}

/**
 * The viewer is not an active person of the playbook (unknown, inactive, or from a workspace Baton
 * does not serve): they see no handoff and may not act. The message says who can add them; it
 * never says anything about the handoff asked for, not even whether it exists.
 */
export class NotInDirectoryError extends BatonError {
  constructor(message: string, code = 'not_in_directory') {
    super(code, 403, message);
  }
}

/** Someone else changed the handoff first (or the action does not apply to its state). */
export class ConflictError extends BatonError {
  constructor(
    message: string,
    readonly by?: { id: string; name: string },
    readonly at?: Date,
    code = 'conflict',
  ) {
    super(code, 409, message);
  }
}

export class PayloadTooLargeError extends fixedError('payload_too_large', 413) {}

export class UnsupportedMediaTypeError extends fixedError('unsupported_media_type', 415) {}

/** Too many attempts (failed sign-ins): refused without looking; `retryAfterS` says when to try again. */
export class TooManyRequestsError extends BatonError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('too_many_requests', 429, message);
  }
}

/** A dependency (the database) is down; the caller should retry later. Nothing was written. */
export class UnavailableError extends fixedError('unavailable', 503) {}

/** Every problem as one line `  - path: message`, for the errors that list them all at once. */
function listed(details: ErrorDetail[]): string {
  return details.map((d) => `  - ${d.path}: ${d.message}`).join('\n');
}

/** The playbook file is invalid; every issue names its path in the file (and line when known). */
export class PlaybookError extends BatonError {
  constructor(
    readonly source: string,
    details: ErrorDetail[],
  ) {
    super('invalid_playbook', 500, `The playbook ${source} is invalid:\n` + listed(details), details);
  }
}

/**
 * Configuration problems, all of them at once. `intro` says what to fix when it is not the
 * environment (e.g. a file in the data directory); each detail's path names the variable or file.
 */
export class ConfigError extends BatonError {
  constructor(details: ErrorDetail[], intro = 'Baton cannot start; fix these environment variables:') {
    super('invalid_config', 500, intro + '\n' + listed(details), details);
  }
}

/**
 * Another Baton that is still running holds the data directory's lock: a second writer on one
 * embedded database would corrupt it, so this one does not start. The message is the whole story.
 */
export class DataDirInUseError extends BatonError {
  constructor(
    readonly pid: number,
    readonly dir: string,
  ) {
    super('data_dir_in_use', 500, `another Baton (pid ${pid}) is using ${dir}. Stop it first (Ctrl-C in its terminal, or kill ${pid}), or set BATON_DATA_DIR to another directory to run a second one.`);
  }
}

/** Why Baton could not start (StartupError's code), each with its own advice in the message. */
export type StartupProblem = 'port_in_use' | 'port_forbidden' | 'host_unavailable' | 'database_unreachable' | 'database_auth' | 'database_missing' | 'database_refused' | 'pglite_incompatible' | 'pglite_unreadable';

/**
 * Baton cannot start because of something around it — the port, the database server, the data
 * directory — rather than a bug. The message says what is wrong and what to change; `code` is
 * for logs and tests; `underlying` keeps the original error for LOG_LEVEL=debug.
 */
export class StartupError extends BatonError {
  declare readonly code: StartupProblem;
  constructor(
    message: string,
    code: StartupProblem,
    readonly underlying?: unknown,
  ) {
    super(code, 500, message);
  }
}

export class InternalError extends fixedError('internal', 500) {}

/** Prisma's codes for "could not reach / lost / timed out waiting for the database". */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
/** What a driver adapter reports when the connection itself failed (Prisma wraps it as P2010). */
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TransactionAlreadyClosed']);
const UNAVAILABLE_MESSAGE = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection terminated|timeout exceeded when trying to connect|Can't reach database server|Server has closed the connection|the database system is (shutting down|starting up|in recovery mode)|57P0[1-3]|terminating connection|PGlite is closed/i;

/**
 * True when the database could not be reached, dropped the connection, or stayed busy beyond a
 * transaction's wait: the request was not applied and may be retried. Checked by shape (name,
 * code, driver error kind, message), so it needs no database client here and covers raw SQL
 * (reports) as well as Prisma.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  // By shape, not `instanceof Error`: errors raised by node:net belong to another realm under
  // test runners that sandbox modules (jest's VM modules).
  if (typeof err !== 'object' || err === null || typeof (err as { message?: unknown }).message !== 'string') return false;
  const e = err as Error & { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
  if (e.name === 'PrismaClientInitializationError') return true;
  if (e.name === 'PrismaClientKnownRequestError') {
    if (typeof e.code === 'string' && UNAVAILABLE_PRISMA_CODES.has(e.code)) return true;
    const kind = e.meta?.driverAdapterError?.cause?.kind;
    if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
  }
  return UNAVAILABLE_MESSAGE.test(`${e.message} ${typeof e.code === 'string' ? e.code : ''}`);
}

/** Wrap anything thrown into a BatonError without leaking internals to users. */
export function asBatonError(err: unknown): BatonError {
  if (err instanceof BatonError) return err;
  // A database outage is the caller's cue to retry, not a bug: 503, whichever code path met it.
  if (isDatabaseUnavailable(err)) return new UnavailableError('The database is unavailable right now; nothing was written. Please retry in a moment.');
  return new InternalError('Something went wrong on our side. The request was not applied; please try again.');
}
