/** Core errors → what the person who clicked is told (rendered by blocks/slack/notices.ts). */
import type { HandoffService } from '../../src/handoffs.js';
import { BatonError, ConflictError, ForbiddenError, InvalidError, NotFoundError, NotInDirectoryError } from '../../src/errors.js';
import { STATUSES, type HandoffStatus } from '../../src/domain/lifecycle.js';
import type { ActionRefusal } from '../../blocks/slack/notices.js';

function statusFromCode(code: string): HandoffStatus | undefined {
  const s = code.startsWith('already_') ? code.slice('already_'.length) : '';
  return (STATUSES as readonly string[]).includes(s) ? (s as HandoffStatus) : undefined;
}

export async function refusalFor(err: unknown, handoffId: number, service: HandoffService): Promise<ActionRefusal> {
  if (err instanceof ForbiddenError) return { kind: 'forbidden', message: err.userMessage };
  if (err instanceof NotInDirectoryError) return { kind: 'unknown_user', message: err.userMessage };
  if (err instanceof ConflictError) {
    // A stale click says "changed since you saw it"; the person wants to know what it is now.
    let status = statusFromCode(err.code);
    if (!status) {
      try {
        status = (await service.get(handoffId, { events: false })).status;
      } catch {
        status = undefined;
      }
    }
    return { kind: 'conflict', status, by: err.by?.name, at: err.at, message: err.userMessage };
  }
  if (err instanceof InvalidError || err instanceof NotFoundError) {
    const details = err.details?.length ? ` (${err.details.map((d) => d.message).join('; ')})` : '';
    return { kind: 'invalid', message: err.userMessage + details };
  }
  if (err instanceof BatonError) return { kind: 'error', message: err.userMessage };
  return { kind: 'error', message: 'Something went wrong on Baton\'s side; nothing was changed. Please try again.' };
}
