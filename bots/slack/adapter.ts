/**
 * The Slack adapter proper: a Bolt app on Baton's HTTP server at /slack/events (or Socket Mode
 * when an app-level token is set, for local development), plus the outbox consumer that sends
 * every outbound Slack message. Loaded by ./plugin.ts only when Slack is configured.
 */
import { App, SocketModeReceiver } from '@slack/bolt';
import type { CoreContext, Plugin } from '../../src/app.js';
import type { Logger } from '../../src/logger.js';
import { NonRetriableError } from '../../src/retry.js';
import { boltLogger } from './logger.js';
import { BatonSlackReceiver, SLACK_EVENTS_PATH } from './receiver.js';
import { gatewayClient, interactiveClientOptions, normaliseApiUrl, toDeliveryError } from './api.js';
import { SlackUserMapper } from './users.js';
import { PersonHandles } from '../../src/personHandles.js';
import { SLACK_PLATFORM, SlackGateway } from './gateway.js';
import { rateLimiterFor } from '../../src/rateBuckets.js';
import { slackChannelLimits } from '../../src/rateLimit.js';
import { registerListeners } from './listeners.js';
import { SlackDigestDelivery } from './digest.js';
import type { SlackPluginOptions } from './options.js';
import { PlatformInbox, startInboxRecovery, type InboxRecovery } from '../../src/platformInbox.js';

export function startSlackAdapter(slack: NonNullable<CoreContext['config']['slack']>, { config, service, reports, platformStore, db, clock }: CoreContext, log: Logger, options: SlackPluginOptions): Plugin {
  const { botToken, signingSecret, appToken, apiUrl } = slack;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const logger = boltLogger(log);
  const client = gatewayClient(botToken, { apiUrl, timeoutMs, logger });
  // servedWorkspace is defined below; the mapper only calls it on a request, after start-up.
  const users = new SlackUserMapper(service.directory, client, { ttlMs: options.userCacheMs ?? 10 * 60_000, handles: new PersonHandles(db, clock), workspace: () => servedWorkspace() });
  const clientOptions = interactiveClientOptions({ apiUrl, timeoutMs: Math.min(timeoutMs, 5_000), logger });

  // The bot's own ids are only needed to ignore its own events; learn them once, never on the request path.
  const identity: { botId?: string; botUserId?: string } = {};
  const socketMode = Boolean(appToken);
  // Clicks over HTTP are stored before they are acknowledged (Socket Mode, for development, is not).
  const inbox = socketMode ? undefined : new PlatformInbox(db, clock, SLACK_PLATFORM, { leaseMs: options.inbox?.leaseMs });
  // Test only: the crash after a click's ack that the inbox exists for, made on purpose (never in production).
  const crashAfterClickAck = config.env.BATON_TEST_CRASH_AFTER_CLICK_ACK === '1' && !config.production;
  if (crashAfterClickAck) log.warn('BATON_TEST_CRASH_AFTER_CLICK_ACK=1: this process kills itself after acknowledging a Slack click (a test knob)');
  const httpReceiver = socketMode ? undefined : new BatonSlackReceiver({ signingSecret, clock, log, inbox, crashAfterClickAck });
  const receiver = appToken ? new SocketModeReceiver({ appToken, logger, installerOptions: { clientOptions } }) : httpReceiver!;
  const app = new App({
    receiver,
    socketMode,
    authorize: async () => ({ botToken, ...identity }),
    logger,
    clientOptions,
    convoStore: false,
  });
  // auth.test once, shared by start-up (the bot's own ids, a clear log line) and the request path
  // (which workspace Baton serves). A failed call is forgotten, so the next caller asks again.
  let authTest: ReturnType<typeof client.auth.test> | undefined;
  const askAuthTest = (): ReturnType<typeof client.auth.test> => {
    if (authTest) return authTest;
    const p = client.auth.test();
    authTest = p;
    p.catch(() => {
      if (authTest === p) authTest = undefined;
    });
    return p;
  };
  // The workspace whose members are people to Baton: SLACK_TEAM_ID, else the bot token's own.
  // Members of any other workspace (Slack Connect) are strangers, whatever email they show.
  const servedWorkspace = async (): Promise<string> => {
    if (slack.teamId) return slack.teamId;
    const r = await askAuthTest();
    if (!r.team_id) throw new Error('Slack auth.test did not say which workspace the bot token belongs to; set SLACK_TEAM_ID');
    return r.team_id;
  };
  registerListeners(app, { service, reports, store: platformStore, users, clock, log, servedWorkspace, inbox });
  let recovery: InboxRecovery | undefined;

  // Per-channel pacing shared by every process on PostgreSQL (src/rateBuckets.ts); in memory on PGlite.
  const pacer = rateLimiterFor(db, SLACK_PLATFORM, slackChannelLimits(options.postIntervalMs ?? 1000));
  // A claim on a post outlasts one chat.postMessage (the client's timeout) and recording it.
  const gateway = new SlackGateway({ service, store: platformStore, client, users, pacer, clock, log, claimMs: Math.max(30_000, 3 * timeoutMs) });

  return {
    name: 'slack',
    consumers: [gateway, new SlackDigestDelivery({ service, reports, store: platformStore, client, users, log })],
    mount(expressApp) {
      httpReceiver?.mount(expressApp);
    },
    async start() {
      // Checked in the background: a wrong token is reported clearly, and Baton still starts.
      void askAuthTest()
        .then((r) => {
          if (r.bot_id) identity.botId = r.bot_id;
          if (r.user_id) identity.botUserId = r.user_id;
          if (slack.teamId && r.team_id && r.team_id !== slack.teamId) {
            log.warn({ servedTeamId: slack.teamId, tokenTeamId: r.team_id }, 'Slack: SLACK_TEAM_ID is not the bot token\'s workspace; only members of SLACK_TEAM_ID are treated as playbook people');
          }
          log.info({ team: r.team, teamId: slack.teamId ?? r.team_id, bot: r.user, apiUrl: normaliseApiUrl(apiUrl), mode: socketMode ? 'socket' : `http ${SLACK_EVENTS_PATH}` }, 'Slack connected');
        })
        .catch((err: unknown) => {
          const e = toDeliveryError(err, 'auth.test');
          if (e instanceof NonRetriableError) log.error({ err: e.message }, 'Slack: the bot token was not accepted; Slack messages will fail until it is fixed');
          else log.warn({ err: e.message }, 'Slack: could not check the bot token now; deliveries will be retried');
        });
      if (socketMode) await app.start();
      // Clicks stored but not applied when a previous process died: replayed through the same
      // listeners (acknowledged long ago, so ack does nothing), with the row's id in context.
      if (inbox) {
        recovery = startInboxRecovery({
          inbox,
          log,
          everyMs: options.inbox?.recoveryEveryMs,
          replay: (payload, inboxId) => app.processEvent({ body: payload as Record<string, unknown>, ack: async () => {}, customProperties: { inboxId } }),
        });
      }
    },
    async stop() {
      await recovery?.stop();
      if (socketMode) await app.stop();
    },
  };
}
