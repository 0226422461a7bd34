/**
 * The Slack driver: signed block_actions and view_submission requests to /slack/events, as Slack
 * sends them for a click on the card in the receiving team's channel; what Baton answered is read
 * from the fake Slack Web API (response_url answers, ephemerals, modals opened, the card as
 * last posted or updated).
 *
 * Slack's channel card is shared: everyone in the channel sees the same buttons. So `offeredActions`
 * is the card's buttons ('shared'), and what a given viewer may do shows only when they click.
 * A click that succeeds gets no answer on Slack (the card is updated for everyone), so `act`
 * tells "applied" from the audit trail growing.
 */
import { CARD_ACTIONS as IDS, SLACK_VIEWS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { MODAL_INPUTS } from '../../blocks/slack/modals.js';
import { until } from '../reliability/helpers.js';
import { slackChannel } from '../reliability/playbook.js';
import { FORM } from '../reliability/platforms.js';
import { PERSON, STRANGER, slackUser, type ContractRig, type ViewerRole } from './rig.js';
import { CARD_ACTIONS, plainSlackText, type ActArgs, type ActResult, type CardActionName, type Candidates, type Offer, type Surface } from './surfaces.js';

const CHANNEL = slackChannel(1);
const ACTION_OF = new Map<string, CardActionName>(CARD_ACTIONS.map((a) => [IDS[a].slack, a]));
const CLOSED = ['rejected', 'completed', 'withdrawn'];

let seq = 0;

export function slackSurface(rig: ContractRig): Surface {
  const p = () => rig.platforms;
  const userId = (viewer: ViewerRole) => (viewer === 'stranger' ? STRANGER.slack : slackUser(PERSON[viewer]));

  function click(viewer: ViewerRole, actionId: string, value: string): { body: string; key: string; trigger: string } {
    const n = ++seq;
    const slack = p().slack;
    const user = userId(viewer);
    const key = `contract-click-${n}`;
    const trigger = `${n}.31337.contract`;
    const payload = {
      type: 'block_actions',
      user: { id: user, username: 'x', name: 'x', team_id: slack.teamId },
      api_app_id: 'ABATONAPP1',
      token: 'legacy-verification-token',
      trigger_id: trigger,
      team: { id: slack.teamId, domain: 'rel' },
      enterprise: null,
      is_enterprise_install: false,
      container: { type: 'message', message_ts: '1.000001', channel_id: CHANNEL, is_ephemeral: false },
      channel: { id: CHANNEL, name: 'r1' },
      message: { type: 'message', ts: '1.000001', text: 'card', user: slack.botUserId },
      response_url: slack.responseUrl(key),
      actions: [{ type: 'button', action_id: actionId, block_id: 'handoff_actions', text: { type: 'plain_text', text: 'x', emoji: true }, value, action_ts: `${Date.now() / 1000}` }],
    };
    return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), key, trigger };
  }

  function submission(viewer: ViewerRole, callbackId: string, privateMetadata: string, values: Record<string, Record<string, unknown>>): string {
    const n = ++seq;
    const slack = p().slack;
    const user = userId(viewer);
    const payload = {
      type: 'view_submission',
      team: { id: slack.teamId, domain: 'rel' },
      user: { id: user, username: 'x', name: 'x', team_id: slack.teamId },
      api_app_id: 'ABATONAPP1',
      token: 'legacy-verification-token',
      trigger_id: `${n}.555.contract`,
      view: { id: `VCTR${n}`, team_id: slack.teamId, type: 'modal', callback_id: callbackId, private_metadata: privateMetadata, state: { values }, hash: '1.2', title: { type: 'plain_text', text: 'Modal' }, blocks: [], app_id: 'ABATONAPP1', bot_id: slack.botId },
      response_urls: [],
      is_enterprise_install: false,
    };
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  async function post(body: string): Promise<void> {
    const r = await p().slackPost(body, FORM);
    if (r.status !== 200) throw new Error(`Slack request answered ${r.status}: ${r.text}`);
  }

  /** What a click or submission led to: an answer to the person, a modal, or a change in the audit trail. */
  async function answerTo(viewer: ViewerRole, handoffId: number, eventsBefore: number, where: { key?: string; trigger?: string; ephemeralsFrom?: number }) {
    const slack = p().slack;
    return until(`Slack's answer to ${viewer} on #${handoffId}`, async () => {
      const response = where.key ? slack.responses.find((r) => r.key === where.key) : undefined;
      if (response) return { kind: 'told' as const, text: String(response.body.text ?? ''), raw: JSON.stringify(response.body) };
      const ephemeral = where.ephemeralsFrom !== undefined ? slack.ephemerals.slice(where.ephemeralsFrom).find((e) => e.user === userId(viewer)) : undefined;
      if (ephemeral) return { kind: 'told' as const, text: ephemeral.text, raw: JSON.stringify(ephemeral) };
      const modal = where.trigger ? slack.views.find((v) => v.triggerId === where.trigger) : undefined;
      if (modal) return { kind: 'modal' as const, view: modal.view, raw: JSON.stringify(modal.view) };
      if ((await rig.readState(handoffId)).events.length > eventsBefore) return { kind: 'applied' as const, raw: '' };
      return undefined;
    }, 15_000);
  }

  function told(text: string, raw: string): ActResult {
    // Baton's refusal kinds carry their own emoji (blocks/slack/notices.ts): ℹ️ a conflict, the rest refusals.
    return { outcome: text.startsWith(':information_source:') ? 'conflict' : 'refused', message: plainSlackText(text), raw };
  }

  /** The channel card once it shows the handoff as it is now (the gateway re-renders it after each change). */
  async function currentCard(handoffId: number): Promise<unknown[]> {
    return until(`the Slack channel card of #${handoffId} at its current version`, async () => {
      const state = await rig.readState(handoffId);
      const card = p().slack.cardsFor(handoffId).find((m) => m.channel === CHANNEL);
      if (!card) return undefined;
      const values = buttonsOf(card.blocks).map((b) => b.value);
      const current = values.length ? values.every((v) => v === encodeSlackButtonValue(handoffId, state.version)) : CLOSED.includes(state.status);
      return current ? card.blocks : undefined;
    }, 15_000);
  }

  return {
    name: 'slack',

    async offeredActions(handoffId) {
      const blocks = await currentCard(handoffId);
      const offered = new Set(buttonsOf(blocks).map((b) => ACTION_OF.get(b.action_id)));
      return { scope: 'shared', actions: CARD_ACTIONS.filter((a) => offered.has(a)) } satisfies Offer;
    },

    async reassignCandidates(handoffId, viewer) {
      const state = await rig.readState(handoffId);
      const c = click(viewer, IDS.reassign.slack, encodeSlackButtonValue(handoffId, state.version));
      await post(c.body);
      const answer = await answerTo(viewer, handoffId, state.events.length, { key: c.key, trigger: c.trigger });
      if (answer.kind !== 'modal') throw new Error(`Slack opened no reassign form for ${viewer}: ${answer.raw}`);
      const input = (answer.view.blocks as any[]).find((b) => b.block_id === MODAL_INPUTS.reassignTo.block);
      const options = (input?.element?.options ?? []) as { text: { text: string }; value: string }[];
      const q = options.findIndex((o) => o.value === 'queue');
      return {
        queue: q < 0 ? undefined : { label: options[q]!.text.text, index: q },
        people: options.filter((o) => o.value !== 'queue').map((o) => o.value),
      } satisfies Candidates;
    },

    async act(handoffId, viewer, action, args: ActArgs) {
      const before = (await rig.readState(handoffId)).events.length;
      const c = click(viewer, IDS[action].slack, encodeSlackButtonValue(handoffId, args.version));
      await post(c.body);
      const answer = await answerTo(viewer, handoffId, before, { key: c.key, trigger: c.trigger });
      if (answer.kind === 'applied') return { outcome: 'applied', message: '', raw: '' };
      if (answer.kind === 'told') return told(answer.text, answer.raw);
      // Reject and Reassign open a form first; the person fills it in and submits it.
      const metadata = String(answer.view.private_metadata);
      const values: Record<string, Record<string, unknown>> =
        action === 'reject'
          ? {
              [MODAL_INPUTS.rejectReason.block]: { [MODAL_INPUTS.rejectReason.action]: { type: 'static_select', selected_option: args.reasonCode ? { value: args.reasonCode } : null } },
              [MODAL_INPUTS.rejectNote.block]: { [MODAL_INPUTS.rejectNote.action]: { type: 'plain_text_input', value: args.note ?? '' } },
            }
          : {
              [MODAL_INPUTS.reassignTo.block]: { [MODAL_INPUTS.reassignTo.action]: { type: 'static_select', selected_option: args.to ? { value: args.to } : null } },
              [MODAL_INPUTS.reassignNote.block]: { [MODAL_INPUTS.reassignNote.action]: { type: 'plain_text_input', value: args.note ?? '' } },
            };
      const ephemeralsFrom = p().slack.ephemerals.length;
      await post(submission(viewer, action === 'reject' ? SLACK_VIEWS.reject : SLACK_VIEWS.reassign, metadata, values));
      const after = await answerTo(viewer, handoffId, before, { ephemeralsFrom });
      if (after.kind === 'told') return told(after.text, after.raw);
      return { outcome: 'applied', message: '', raw: '' };
    },
  };
}

function buttonsOf(blocks: unknown[]): { action_id: string; value: string }[] {
  const out: { action_id: string; value: string }[] = [];
  for (const b of blocks as any[]) if (b.type === 'actions') for (const e of b.elements) if (ACTION_OF.has(e.action_id)) out.push({ action_id: e.action_id, value: e.value });
  return out;
}
