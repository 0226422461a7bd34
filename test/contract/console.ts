/**
 * The console driver: the console's JSON API at /console/api, with the session cookie a person
 * gets by opening a single-use sign-in link (test/bots/console/signIn.ts), the way the page in
 * bots/console/public/console.js calls it. The console previews a handoff as a person (`?as=`) and
 * acts as the person it previews, so its answers are per viewer.
 *
 * What the page offers is read from what it is given: the act bar draws one button per entry of
 * the detail's `actions` (and the others the status allows, disabled, from `unavailable`), the
 * reassign form the detail's `queueChoice` first, then one option per `reassignTo` entry.
 */
import { signIn } from '../bots/console/signIn.js';
import { PERSON, STRANGER, type ContractRig, type ViewerRole } from './rig.js';
import { CARD_ACTIONS, type ActArgs, type ActResult, type CardActionName, type Candidates, type Offer, type Surface } from './surfaces.js';

export function consoleSurface(rig: ContractRig): Surface {
  let cookie: string | undefined;
  const actor = (viewer: ViewerRole) => (viewer === 'stranger' ? STRANGER.console : PERSON[viewer]);

  async function request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const baton = rig.platforms.baton;
    cookie ??= await signIn(baton);
    return baton.api(method, `/console${path}`, body, { cookie, 'x-baton-console': '1' });
  }

  async function detail(handoffId: number, viewer: ViewerRole): Promise<any> {
    const r = await request('GET', `/api/handoffs/${handoffId}?as=${encodeURIComponent(actor(viewer))}`);
    if (r.status !== 200) throw new Error(`the console preview of #${handoffId} as ${viewer} answered ${r.status}: ${JSON.stringify(r.json)}`);
    return r.json;
  }

  return {
    name: 'console',

    async offeredActions(handoffId, viewer) {
      const d = await detail(handoffId, viewer);
      const offered = new Set(d.actions as string[]);
      return { scope: 'viewer', actions: CARD_ACTIONS.filter((a: CardActionName) => offered.has(a)) } satisfies Offer;
    },

    async reassignCandidates(handoffId, viewer) {
      const d = await detail(handoffId, viewer);
      // fillForms() in console.js: the queue choice first, then one option per reassignTo entry.
      const queue = (d.queueChoice as { label: string } | null)?.label;
      return {
        queue: queue === undefined ? undefined : { label: queue, index: 0 },
        people: (d.reassignTo as { id: string }[]).map((p) => p.id),
      } satisfies Candidates;
    },

    async act(handoffId, viewer, action, args: ActArgs): Promise<ActResult> {
      const body = {
        action,
        actor: actor(viewer),
        expectedVersion: args.version,
        ...(args.reasonCode ? { reasonCode: args.reasonCode } : {}),
        ...(args.note ? { note: args.note } : {}),
        ...(args.to ? { to: args.to } : {}),
      };
      const r = await request('POST', `/api/handoffs/${handoffId}/actions`, body);
      const raw = JSON.stringify(r.json);
      if (r.status === 200) return { outcome: 'applied', message: '', raw };
      // What the page's toast says: the error's message and its details (console.js act()).
      const e = r.json?.error ?? {};
      const details = Array.isArray(e.details) && e.details.length ? ` (${e.details.map((x: any) => `${x.path}: ${x.message}`).join('; ')})` : '';
      return { outcome: r.status === 409 ? 'conflict' : 'refused', message: `${e.message ?? ''}${details}`, raw };
    },
  };
}
