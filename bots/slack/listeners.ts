/**
 * Bolt listeners: each acknowledges Slack first (well within its 3 seconds), then makes one core
 * call and renders the answer. Modals open straight away because trigger ids expire. Refusals
 * from the core become ephemeral messages; card updates come from the gateway (outbox), not here.
 */
import type { AckFn, App, BlockAction, ButtonAction, RespondFn, ViewResponseAction, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { HandoffService } from '../../src/handoffs.js';
import type { PlatformStore } from '../../src/platformStore.js';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import type { Person } from '../../src/playbook/schema.js';
import type { UserAction } from '../../src/domain/lifecycle.js';
import { parseCommand, runCommand, type CommandReports } from '../../src/commands.js';
import { CARD_ACTIONS, SLACK_VIEWS, slackButtonValue, slackModalMetadata, type SlackButtonValue, type SlackModalMetadata } from '../../blocks/actions.js';
import { buildDetailsModal, buildReassignModal, buildRejectModal, MODAL_INPUTS } from '../../blocks/slack/modals.js';
import { buildNotice, buildRefusal } from '../../blocks/slack/notices.js';
import { buildCommandReply, SLASH_COMMAND } from '../../blocks/slack/commands.js';
import { buildHomeView } from '../../blocks/slack/home.js';
import { lastChange } from '../../blocks/slack/format.js';
import type { SlackMessage } from '../../blocks/slack/card.js';
import { refusalFor } from './refusals.js';
import type { SlackUserMapper } from './users.js';
import { SLACK_PLATFORM } from './gateway.js';
import { safeParseUntrusted } from '../../src/untrusted.js';
import { resolveViewer, viewerOf, type Viewer } from '../../src/domain/policy.js';
import { viewHandoffFor } from '../../src/access.js';
import { InboxAlreadyAppliedError, type PlatformInbox } from '../../src/platformInbox.js';

export interface ListenerDeps {
  service: HandoffService;
  /** KPIs, timelines, digests for `/handoff stats|timeline|digest`. */
  reports?: CommandReports | undefined;
  store: PlatformStore;
  users: SlackUserMapper;
  clock: Clock;
  log: Logger;
  /** The workspace whose members are people to Baton (SLACK_TEAM_ID or the bot token's own). */
  servedWorkspace: () => Promise<string>;
  /** Clicks stored before their ack (HTTP receiver): an action marks its click applied in its own transaction. */
  inbox?: Pick<PlatformInbox, 'appliedIn'> | undefined;
}

/** The inbox row of a click the receiver stored (Bolt passes the receiver's customProperties in context). */
function inboxIdOf(context: Record<string, unknown>): number | undefined {
  return typeof context.inboxId === 'number' ? context.inboxId : undefined;
}

/** The workspace ids a payload carries: where it was sent from and the sender's home workspace. */
type WorkspaceIds = (string | null | undefined)[];

/** Where to answer the person who clicked: the response_url of a message, else an ephemeral in the channel, else their DM. */
interface Audience {
  userId: string;
  respond?: RespondFn | undefined;
  channelId?: string | undefined;
  client: WebClient;
}

/** What a button listener gets from Bolt, as far as the listeners read it. */
interface ButtonClick {
  ack: () => Promise<void>;
  body: BlockAction;
  action: ButtonAction;
  respond: RespondFn;
  client: WebClient;
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  const { service, store, users, clock, log } = deps;

  async function tell(to: Audience, message: SlackMessage): Promise<void> {
    try {
      if (to.respond) {
        await to.respond({ response_type: 'ephemeral', replace_original: false, text: message.text, blocks: message.blocks });
      } else if (to.channelId) {
        await to.client.chat.postEphemeral({ channel: to.channelId, user: to.userId, text: message.text, blocks: message.blocks });
      } else {
        await to.client.chat.postMessage({ channel: to.userId, text: message.text, blocks: message.blocks });
      }
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), userId: to.userId }, 'Slack: could not answer a user');
    }
  }

  /**
   * The clicker as the policy sees them (src/domain/policy.ts): an active playbook person of our
   * workspace, or undefined after telling them they are not in the directory and who can help.
   * A member of another workspace is never looked up (their profile email could be one of ours).
   */
  async function actor(to: Audience, workspaceIds: WorkspaceIds): Promise<Person | undefined> {
    let viewer: Viewer;
    try {
      viewer = await resolveViewer(() => users.personFor(to.userId), { workspaceIds, servedWorkspaceId: await deps.servedWorkspace() });
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'Slack: could not look up a user');
      await tell(to, buildRefusal({ kind: 'error', message: 'Slack did not answer when Baton looked you up. Please try again in a moment.' }));
      return undefined;
    }
    if (viewer.kind === 'person') return viewer.person;
    if (viewer.kind === 'unknown' && viewer.reason === 'foreign_workspace') log.warn({ slackUserId: to.userId, workspaceIds }, 'Slack: refused a request from another workspace');
    await tell(to, buildRefusal({ kind: 'unknown_user', message: service.policy.strangerMessage(viewer, `your Slack account (member id ${to.userId})`) }));
    return undefined;
  }

  async function refuse(to: Audience, err: unknown, handoffId: number): Promise<void> {
    const r = await refusalFor(err, handoffId, service);
    if (r.kind === 'error' && !(err instanceof Error && 'userMessage' in err)) log.error({ err, handoffId }, 'Slack: an action failed');
    await tell(to, buildRefusal(r));
  }

  function audienceOf(body: BlockAction, respond: RespondFn | undefined, client: WebClient): Audience {
    return { userId: body.user.id, respond: body.response_url ? respond : undefined, channelId: body.channel?.id, client };
  }

  /** A click's workspaces: the one it happened in and the clicker's own (they differ for a Slack Connect guest). */
  function workspacesOf(body: { team?: { id?: string } | null; user: { team_id?: string } }): WorkspaceIds {
    return [body.team?.id, body.user.team_id];
  }

  /**
   * A card button's click, acknowledged at once: where to answer, the card it came from (handoff
   * id and the version it showed) and the clicker as a playbook person; undefined once the clicker
   * has been told why not (a button from an unknown card, or not in the directory).
   */
  async function clicked(args: ButtonClick): Promise<{ to: Audience; card: SlackButtonValue; person: Person } | undefined> {
    await args.ack();
    const to = audienceOf(args.body, args.respond, args.client);
    const value = safeParseUntrusted(slackButtonValue, args.action.value);
    if (!value.success) {
      await tell(to, buildRefusal({ kind: 'invalid', message: 'This button is from an unknown card.' }));
      return undefined;
    }
    const person = await actor(to, workspacesOf(args.body));
    return person ? { to, card: value.data, person } : undefined;
  }

  // Slack retries an event it thinks we missed (X-Slack-Retry-Num); handle each event id once.
  app.use(async (args) => {
    const { body, next, context } = args;
    const b = body as { type?: unknown; event_id?: unknown; trigger_id?: unknown };
    if (b.type === 'event_callback' && typeof b.event_id === 'string' && !(await store.firstSeen(SLACK_PLATFORM, b.event_id))) {
      log.info({ eventId: b.event_id }, 'Slack: ignoring a retried event already handled');
      return;
    }
    // Slack does not retry button clicks, but a captured request can be replayed for as long as
    // its signature is fresh (5 minutes). Version checks refuse most replays; an annotation such
    // as Snooze would be applied again. Each click has its own trigger id: handle it once.
    // Acknowledged first (over HTTP the receiver already did), so the database never stands between
    // Slack and its 3-second deadline.
    // A click stored in the inbox was de-duplicated there, by the same trigger id, before its ack.
    if (b.type === 'block_actions' && typeof b.trigger_id === 'string' && inboxIdOf(context) === undefined) {
      const ack = 'ack' in args && typeof args.ack === 'function' ? (args.ack as () => Promise<void>) : undefined;
      await ack?.();
      if (!(await store.firstSeen(SLACK_PLATFORM, `trigger:${b.trigger_id}`))) {
        log.warn({ triggerId: b.trigger_id }, 'Slack: ignoring a replayed click already handled');
        return;
      }
    }
    await next();
  });

  // ---- Buttons that act directly: Accept, Log first touch, Complete, Snooze
  const direct: { action: UserAction; id: string; done?: string }[] = [
    { action: 'accept', id: CARD_ACTIONS.accept.slack },
    { action: 'touch', id: CARD_ACTIONS.touch.slack },
    { action: 'complete', id: CARD_ACTIONS.complete.slack },
    { action: 'snooze', id: CARD_ACTIONS.snooze.slack, done: 'Snoozed: the next reminder waits.' },
  ];
  for (const d of direct) {
    app.action<BlockAction<ButtonAction>>(d.id, async (args) => {
      const click = await clicked(args);
      if (!click) return;
      const { to, card, person } = click;
      const inboxId = inboxIdOf(args.context);
      try {
        // The version the card showed: Baton's own bookkeeping since (its post, reminders) keeps it.
        // Marked applied in the same transaction: a replay of this click (after a crash) can never apply it twice.
        const inTransaction = inboxId !== undefined && deps.inbox ? deps.inbox.appliedIn(inboxId) : undefined;
        await service.act(card.handoffId, { action: d.action, actor: person.id, expectedVersion: card.version }, inTransaction ? { inTransaction } : {});
        if (d.done) await tell(to, buildNotice(d.done));
      } catch (err) {
        if (err instanceof InboxAlreadyAppliedError) {
          log.info({ handoffId: card.handoffId, inboxId }, 'Slack: a replayed click was already applied; nothing to do');
          return;
        }
        await refuse(to, err, card.handoffId);
      }
    });
  }

  // ---- Buttons that open a modal: Reject, Reassign, Full packet
  async function openModal(kind: 'reject' | 'reassign' | 'details', args: ButtonClick): Promise<void> {
    const click = await clicked(args);
    if (!click) return;
    const { to, card, person } = click;
    const { body, client } = args;
    const viewer = viewerOf(person);
    let view;
    try {
      view = await viewHandoffFor(service, viewer, card.handoffId, clock.now());
    } catch (err) {
      return refuse(to, err, card.handoffId);
    }
    // A form to reject or reassign is for those who may: anyone else is told why not (who can, or
    // what became of the handoff), at once, rather than after filling it in.
    const affordance = kind === 'details' ? undefined : view.affordances.actions.find((a) => a.action === kind);
    if (affordance && !affordance.allowed) {
      if (affordance.refusedBy === 'policy') return tell(to, buildRefusal({ kind: 'forbidden', message: affordance.reason ?? '' }));
      const change = lastChange(view);
      return tell(to, buildRefusal({ kind: 'conflict', status: view.status, by: change?.actor?.name, at: change ? new Date(change.at) : undefined, message: affordance.reason ?? `This handoff is ${view.status}.` }));
    }
    const t = service.transition(view.transition);
    const channelId = body.channel?.id;
    const modal =
      kind === 'reject'
        ? buildRejectModal(view, { reasons: view.affordances.rejectReasons, channelId })
        : kind === 'reassign'
          ? buildReassignModal(view, { channelId })
          : buildDetailsModal(view, { transition: t, now: clock.now() });
    try {
      await client.views.open({ trigger_id: body.trigger_id, view: modal });
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), handoffId: view.id }, 'Slack: could not open a modal');
      await tell(to, buildRefusal({ kind: 'error', message: 'Slack did not open the form in time. Please click again.' }));
    }
  }
  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.reject.slack, (a) => openModal('reject', a));
  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.reassign.slack, (a) => openModal('reassign', a));
  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.details.slack, (a) => openModal('details', a));

  // ---- Modal submissions: check the form, close the modal at once, then act
  async function submit(kind: 'reject' | 'reassign', args: { ack: AckFn<ViewResponseAction>; body: ViewSubmitAction; client: WebClient }): Promise<void> {
    const { ack, body, client } = args;
    const values = body.view.state.values;
    let meta: SlackModalMetadata;
    try {
      meta = slackModalMetadata.parse(JSON.parse(body.view.private_metadata));
    } catch {
      await ack();
      return;
    }
    const pick = (ids: { block: string; action: string }) => values[ids.block]?.[ids.action];
    const errors: Record<string, string> = {};
    let reasonCode: string | undefined;
    let to: string | undefined;
    let note: string | undefined;
    if (kind === 'reject') {
      reasonCode = pick(MODAL_INPUTS.rejectReason)?.selected_option?.value;
      note = pick(MODAL_INPUTS.rejectNote)?.value?.trim() || undefined;
      if (!reasonCode) errors[MODAL_INPUTS.rejectReason.block] = 'Pick a reason.';
      if (!note) errors[MODAL_INPUTS.rejectNote.block] = 'Say what is missing or wrong.';
    } else {
      to = pick(MODAL_INPUTS.reassignTo)?.selected_option?.value;
      note = pick(MODAL_INPUTS.reassignNote)?.value?.trim() || undefined;
      if (!to) errors[MODAL_INPUTS.reassignTo.block] = 'Pick a person or the queue.';
      if (!note) errors[MODAL_INPUTS.reassignNote.block] = 'Give a reason.';
    }
    if (Object.keys(errors).length) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const audience: Audience = { userId: body.user.id, channelId: meta.channelId, client };
    const person = await actor(audience, workspacesOf(body));
    if (!person) return;
    try {
      await service.act(meta.handoffId, { action: kind, actor: person.id, expectedVersion: meta.version, note, ...(reasonCode ? { reasonCode } : {}), ...(to ? { to } : {}) });
    } catch (err) {
      await refuse(audience, err, meta.handoffId);
    }
  }
  app.view<ViewSubmitAction>(SLACK_VIEWS.reject, (a) => submit('reject', a));
  app.view<ViewSubmitAction>(SLACK_VIEWS.reassign, (a) => submit('reassign', a));

  // ---- /handoff owner|mine|team|show|help
  app.command(SLASH_COMMAND, async ({ ack, command, respond, client }) => {
    await ack();
    const to: Audience = { userId: command.user_id, respond, client };
    // A command carries the workspace it was typed in; a shared channel's guest may add their own.
    const person = await actor(to, [command.team_id, (command as { user_team_id?: string }).user_team_id]);
    if (!person) return;
    const now = clock.now();
    try {
      const result = await runCommand(service, person, parseCommand(command.text ?? ''), now, deps.reports);
      await tell(to, buildCommandReply(result, { now, transitionOf: (id) => service.transition(id) }));
    } catch (err) {
      log.error({ err }, 'Slack: a command failed');
      await tell(to, buildRefusal({ kind: 'error', message: 'Baton could not answer that right now. Please try again.' }));
    }
  });

  // ---- App Home
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const now = clock.now();
    let person: Person | undefined;
    try {
      person = await users.personFor(event.user);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'Slack: could not look up a user for App Home');
      return;
    }
    // An inactive person's home shows what a stranger's does: no handoffs.
    const viewer = viewerOf(person);
    let view;
    if (viewer.kind !== 'person' || !person) {
      const stranger = service.policy.strangerMessage(viewer, `your Slack account (member id ${event.user})`);
      view = buildHomeView({ now, person: undefined, stranger, slackUserId: event.user, mine: [] });
    } else {
      const mine = await runCommand(service, person, { kind: 'mine' }, now);
      const leads = service.playbook.teams.filter((t) => t.leadId === person.id || t.headId === person.id);
      let breaches;
      if (leads.length) {
        const team = await runCommand(service, person, { kind: 'team' }, now);
        if (team.kind === 'list') {
          const ids = new Set(team.breachedIds);
          breaches = { teams: leads.map((t) => t.name).join(', '), handoffs: team.handoffs.filter((h) => ids.has(h.id)) };
        }
      }
      view = buildHomeView({ now, person, slackUserId: event.user, mine: mine.kind === 'list' ? mine.handoffs : [], breaches });
    }
    await client.views.publish({ user_id: event.user, view });
  });

  app.error(async (err) => {
    log.error({ err: err.message, code: err.code }, 'Slack: a listener failed');
  });
}
