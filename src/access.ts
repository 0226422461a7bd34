/**
 * The policy (src/domain/policy.ts) applied to reads: every surface that shows a handoff gets it
 * through here, so the question "may this viewer see it" is asked before the database is.
 */
import type { HandoffService } from './handoffs.js';
import type { HandoffView } from './domain/view.js';
import type { Viewer } from './domain/policy.js';
import { NotInDirectoryError } from './errors.js';
import { viewFor, type Audience, type ViewerHandoffView } from './domain/affordances.js';

/**
 * Refuses a viewer who may see no handoff, with who can help. Asked before any read, so the
 * refusal is the same whether or not the handoff exists.
 */
export function assertMaySeeHandoffs(service: HandoffService, viewer: Viewer, account = 'you'): void {
  if (!service.policy.canView(viewer)) throw new NotInDirectoryError(service.policy.strangerMessage(viewer, account));
}

/** A handoff as `viewer` may see it, or NotInDirectoryError / NotFoundError. */
export async function viewHandoff(service: HandoffService, viewer: Viewer, id: number, opts?: { events?: boolean; account?: string }): Promise<HandoffView> {
  assertMaySeeHandoffs(service, viewer, opts?.account);
  const view = await service.get(id, opts?.events === undefined ? undefined : { events: opts.events });
  // Asked again with the handoff for rules that look at it (none today: persons see every one).
  if (!service.policy.canView(viewer, view)) throw new NotInDirectoryError(service.policy.strangerMessage(viewer, opts?.account ?? 'you'));
  return view;
}

/**
 * A handoff view with what `audience` may do on it (src/domain/affordances.ts): the one call every
 * surface makes before drawing buttons, pickers or refusals. `account` names the viewer's platform
 * account in the stranger copy.
 */
export function withAffordances(service: Pick<HandoffService, 'policy' | 'directory' | 'transition'>, view: HandoffView, audience: Audience, now: Date, account?: string): ViewerHandoffView {
  return viewFor(view, audience, { policy: service.policy, directory: service.directory, transition: service.transition(view.transition), now, account });
}

/** `viewHandoff` with the viewer's affordances. */
export async function viewHandoffFor(service: HandoffService, viewer: Viewer, id: number, now: Date, opts?: { events?: boolean; account?: string }): Promise<ViewerHandoffView> {
  return withAffordances(service, await viewHandoff(service, viewer, id, opts), viewer, now, opts?.account);
}
