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
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  readonly details?: ErrorDetail[];
  constructor(
    readonly userMessage: string,
    details?: ErrorDetail[],
  ) {
    super(userMessage);
    this.name = new.target.name;
    if (details) this.details = details;
  }
}

/** Input that fails validation. `details` names every offending field or rule. */
export class InvalidError extends BatonError {
  readonly code: string;
  readonly httpStatus = 422;
  constructor(message: string, details: ErrorDetail[] = [], code = 'invalid') {
    super(message, details);
    this.code = code;
  }
}

/** A request body that is not JSON at all, or not an object. */
export class MalformedError extends BatonError {
  readonly code = 'malformed_request';
  readonly httpStatus = 400;
}

export class NotFoundError extends BatonError {
  readonly code = 'not_found';
  readonly httpStatus = 404;
}

export class UnauthorizedError extends BatonError {
  readonly code = 'unauthorized';
  readonly httpStatus = 401;
}

/** The actor is known but may not do this; `ownerName` says who can. */
export class ForbiddenError extends BatonError {
  readonly code = 'forbidden';
  readonly httpStatus = 403;
  constructor(
    message: string,
    readonly ownerName?: string,
  ) {
    super(message);
  }
}

/** Someone else changed the handoff first (or the action does not apply to its state). */
export class ConflictError extends BatonError {
  readonly code: string;
  readonly httpStatus = 409;
  constructor(
    message: string,
    readonly by?: { id: string; name: string },
    readonly at?: Date,
    code = 'conflict',
  ) {
    super(message);
    this.code = code;
  }
}

export class PayloadTooLargeError extends BatonError {
  readonly code = 'payload_too_large';
  readonly httpStatus = 413;
}

export class UnsupportedMediaTypeError extends BatonError {
  readonly code = 'unsupported_media_type';
  readonly httpStatus = 415;
}

/** A dependency (the database) is down; the caller should retry later. Nothing was written. */
export class UnavailableError extends BatonError {
  readonly code = 'unavailable';
  readonly httpStatus = 503;
}

/** The playbook file is invalid; every issue names its path in the file (and line when known). */
export class PlaybookError extends BatonError {
  readonly code = 'invalid_playbook';
  readonly httpStatus = 500;
  constructor(
    readonly source: string,
    details: ErrorDetail[],
  ) {
    super(
      `The playbook ${source} is invalid:\n` + details.map((d) => `  - ${d.path}: ${d.message}`).join('\n'),
      details,
    );
  }
}

/** Environment configuration problems, all of them at once. */
export class ConfigError extends BatonError {
  readonly code = 'invalid_config';
  readonly httpStatus = 500;
  constructor(details: ErrorDetail[]) {
    super(
      'Baton cannot start; fix these environment variables:\n' +
        details.map((d) => `  - ${d.path}: ${d.message}`).join('\n'),
      details,
    );
  }
}

export class InternalError extends BatonError {
  readonly code = 'internal';
  readonly httpStatus = 500;
}

/** Wrap anything thrown into a BatonError without leaking internals to users. */
export function asBatonError(err: unknown): BatonError {
  if (err instanceof BatonError) return err;
  return new InternalError('Something went wrong on our side. The request was not applied; please try again.');
}
