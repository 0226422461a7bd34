/**
 * The Teams driver: Bot Framework activities signed by the fake Entra ID, sent to /api/messages as
 * the Teams client sends them — `adaptiveCard/action` invokes (Universal Actions) with a verb and
 * the data of the button clicked, the card's inputs merged in. What Baton answers is the invoke's
 * card; what it posted is read from the fake Bot Connector.
 *
 * Teams' card is per viewer: the card posted to the team channel is the read-only one, and lists
 * in `refresh.userIds` who gets their own card through a `handoff.refresh` invoke. So a viewer's
 * buttons are those of their refreshed card if they are listed, else those of the posted card.
 */
import { CARD_ACTIONS as IDS, QUEUE_TARGET, TEAMS_INPUTS } from '../../blocks/actions.js';
import { STATUS_LABEL } from '../../blocks/statusText.js';
import type { HandoffStatus } from '../../src/domain/lifecycle.js';
import { until } from '../reliability/helpers.js';
import { teamsChannel } from '../reliability/playbook.js';
import { cardOf, handoffIdOfCard, teamsInvoke } from '../reliability/platforms.js';
import { NAME, PERSON, STRANGER, teamsUser, type ContractRig, type ViewerRole } from './rig.js';
import { CARD_ACTIONS, type ActArgs, type ActResult, type CardActionName, type Candidates, type Offer, type Surface } from './surfaces.js';

const CHANNEL = teamsChannel(1);
const ACTION_OF = new Map<string, CardActionName>(CARD_ACTIONS.map((a) => [IDS[a].teams, a]));

export function teamsSurface(rig: ContractRig): Surface {
  const p = () => rig.platforms;
  const from = (viewer: ViewerRole) => (viewer === 'stranger' ? { id: STRANGER.teams, name: 'Stranger' } : { id: teamsUser(PERSON[viewer]), name: NAME[PERSON[viewer]]! });

  async function invoke(viewer: ViewerRole, verb: string, data: Record<string, unknown>): Promise<{ card: any; error: string | undefined; raw: string }> {
    const r = await p().teamsPost(teamsInvoke(p(), from(viewer), verb, data));
    if (r.status !== 200) throw new Error(`the ${verb} invoke answered ${r.status}: ${JSON.stringify(r.json)}`);
    const body = r.json as { statusCode: number; type: string; value: any };
    if (body.type === 'application/vnd.microsoft.error') return { card: undefined, error: String(body.value?.message), raw: JSON.stringify(body) };
    return { card: body.value, error: undefined, raw: JSON.stringify(body) };
  }

  /** The card Baton last posted or updated in the team channel, once it shows the handoff's current status. */
  async function channelCard(handoffId: number): Promise<any> {
    return until(`the Teams channel card of #${handoffId} in its current status`, async () => {
      const status = (await rig.readState(handoffId)).status as HandoffStatus;
      const posts = p().teams.calls.filter(
        (c) => (c.kind === 'createConversation' && c.body?.channelData?.channel?.id === CHANNEL) || ((c.kind === 'update' || c.kind === 'send') && c.baseConversationId === CHANNEL),
      );
      const card = posts
        .map((c) => cardOf(c.kind === 'createConversation' ? c.body?.activity : c.body))
        .filter((x) => handoffIdOfCard(x) === handoffId)
        .at(-1);
      return card && String(card.fallbackText).includes(`— ${STATUS_LABEL[status]} (`) ? card : undefined;
    }, 15_000);
  }

  /** The card this viewer sees: their own through refresh if the posted card lists them, else the posted one. */
  async function cardFor(handoffId: number, viewer: ViewerRole): Promise<any> {
    const posted = await channelCard(handoffId);
    const refreshFor: string[] = posted.refresh?.userIds ?? [];
    if (!refreshFor.includes(from(viewer).id)) return posted;
    const { card, raw } = await invoke(viewer, IDS.refresh.teams, posted.refresh.action.data);
    if (!card) throw new Error(`the refresh for ${viewer} answered no card: ${raw}`);
    return card;
  }

  return {
    name: 'teams',

    async offeredActions(handoffId, viewer) {
      const card = await cardFor(handoffId, viewer);
      const verbs = new Set(executes(card.actions ?? []).map((a) => ACTION_OF.get(a.verb)));
      return { scope: 'viewer', actions: CARD_ACTIONS.filter((a) => verbs.has(a)) } satisfies Offer;
    },

    async reassignCandidates(handoffId, viewer) {
      const card = await cardFor(handoffId, viewer);
      const show = (card.actions ?? []).find((a: any) => a.type === 'Action.ShowCard' && executes(a.card?.actions ?? []).some((e) => e.verb === IDS.reassign.teams));
      if (!show) throw new Error(`${viewer}'s Teams card has no Reassign form: ${JSON.stringify(card.actions)}`);
      const choices = ((show.card.body as any[]).find((b) => b.id === TEAMS_INPUTS.reassignTo)?.choices ?? []) as { title: string; value: string }[];
      const q = choices.findIndex((c) => c.value === QUEUE_TARGET);
      return {
        queue: q < 0 ? undefined : { label: choices[q]!.title, index: q },
        people: choices.filter((c) => c.value !== QUEUE_TARGET).map((c) => c.value),
      } satisfies Candidates;
    },

    async act(handoffId, viewer, action, args: ActArgs) {
      // The data the card's button carries ({ handoffId, version }) with the form's inputs merged in,
      // as Teams sends it. Built here rather than read off the viewer's card: a person who is not
      // offered the button can still click it on a card they kept from before (that is the refusal
      // being tested), and a stale click is a click on an older card.
      const data: Record<string, unknown> = { handoffId, version: args.version };
      if (action === 'reject') Object.assign(data, { [TEAMS_INPUTS.rejectReason]: args.reasonCode, [TEAMS_INPUTS.rejectNote]: args.note });
      if (action === 'reassign') Object.assign(data, { [TEAMS_INPUTS.reassignTo]: args.to, [TEAMS_INPUTS.reassignNote]: args.note });
      const { card, error, raw } = await invoke(viewer, IDS[action].teams, data);
      if (error !== undefined) return { outcome: 'refused', message: error, raw };
      const notice = noticeOf(card);
      if (!notice) {
        // The error card (blocks/teams/commandCards.ts errorCard): one attention container, one run.
        const only = card.body?.length === 1 && card.body[0].style === 'attention' ? card.body[0].items?.[0]?.inlines?.[0]?.text : undefined;
        if (typeof only === 'string') return { outcome: 'refused', message: only, raw };
        throw new Error(`Teams answered ${viewer}'s ${action} with a card that says nothing: ${raw.slice(0, 500)}`);
      }
      if (notice.tone === 'good') return { outcome: 'applied', message: notice.text, raw };
      // Teams answers a refusal and a stale click alike (the card with an attention notice); the
      // wire tells them apart only by the version the card's buttons now carry: a newer one than
      // the click's means the handoff had moved on.
      const now = executes(card.actions ?? []).map((e) => e.data?.version).find((v) => typeof v === 'number');
      return { outcome: typeof now === 'number' && now !== args.version ? 'conflict' : 'refused', message: notice.text, raw };
    },
  };
}

/** Every Action.Execute on a card, those inside ShowCards included. */
function executes(actions: any[]): { verb: string; data: any }[] {
  return actions.flatMap((a) => (a.type === 'Action.Execute' ? [{ verb: a.verb, data: a.data }] : a.type === 'Action.ShowCard' ? executes(a.card?.actions ?? []) : []));
}

/** The one-line notice for this viewer (blocks/teams/handoffCard.ts header): a bold run coloured Good or Attention. */
function noticeOf(card: any): { text: string; tone: 'good' | 'attention' } | undefined {
  for (const el of card?.body ?? []) {
    if (el.type !== 'Container') continue;
    for (const item of el.items ?? []) {
      if (item.type !== 'RichTextBlock') continue;
      const r = (item.inlines ?? [])[0];
      if (r?.weight === 'Bolder' && (r.color === 'Good' || r.color === 'Attention') && el.items.length === 1) return { text: r.text, tone: r.color === 'Good' ? 'good' : 'attention' };
    }
  }
  return undefined;
}
