/**
 * The Microsoft Teams adapter proper: botbuilder's CloudAdapter at POST /api/messages on the
 * shared HTTP server, plus the `teams` outbox consumer that posts and updates cards. Loaded by
 * ./plugin.ts only when Teams is configured.
 *
 * Authentication is checked here, before botbuilder sees the activity: CloudAdapter answers 500
 * for some bad tokens (a bad signature under a known key id, `alg: none`, a future `nbf`), and
 * without an app id it would accept anonymous requests. So: no MICROSOFT_APP_ID, no route; and
 * any authentication failure is a 401 before anything is read or written.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type InvokeResponse, type TurnContext } from 'botbuilder';
import type { AuthenticateRequestResult } from 'botframework-connector';
import { z } from 'zod';
import type { CoreContext, Plugin } from '../../src/app.js';
import type { Logger } from '../../src/logger.js';
import { MESSAGES_PATH } from './paths.js';
import { MalformedError, UnauthorizedError } from '../../src/errors.js';
import { BODY_LIMIT } from '../../src/api/server.js';
import { botbuilderSettings, customLoginCredentials } from './settings.js';
import { connectorHttpClient } from './transport.js';
import { rateLimiterFor } from '../../src/rateBuckets.js';
import { TEAMS_CONVERSATION_LIMITS } from '../../src/rateLimit.js';
import { ConversationBook } from './conversations.js';
import { TeamsIdentity } from './identity.js';
import { ServedTenants } from './tenants.js';
import { PersonHandles } from '../../src/personHandles.js';
import { TeamsViews } from './views.js';
import { TeamsDigestDelivery } from './digest.js';
import { TeamsBot } from './bot.js';
import { TeamsGateway } from './gateway.js';
import { refuseDeepJson, safeParseUntrusted } from '../../src/untrusted.js';

const PUBLIC_CLOUD_SCOPE = 'https://api.botframework.com';

/** Runs activities that were authenticated beforehand and hands back the invoke response. */
class PreAuthenticatedCloudAdapter extends CloudAdapter {
  run(auth: AuthenticateRequestResult, activity: Activity, logic: (context: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(auth, activity, logic);
  }
}

/** Just enough shape to authenticate and route; botbuilder reads the rest. */
const activityShape = z.looseObject({
  type: z.string().min(1).max(100),
  serviceUrl: z.string().max(2000).optional(),
  channelId: z.string().max(100).optional(),
});

export function startTeamsAdapter(teams: NonNullable<CoreContext['config']['teams']>, { config, service, reports, platformStore, db, clock }: CoreContext, log: Logger): Plugin {
  const settings = botbuilderSettings(teams, config.env);
  // Shared by every process on PostgreSQL (src/rateBuckets.ts); in memory on PGlite.
  const pacer = rateLimiterFor(db, 'teams', TEAMS_CONVERSATION_LIMITS);
  const auth = new ConfigurationBotFrameworkAuthentication(settings, customLoginCredentials(settings), undefined, undefined, {
    httpClient: connectorHttpClient({ pacer }),
  });
  const adapter = new PreAuthenticatedCloudAdapter(auth);
  const appId = teams.appId;
  const tenants = new ServedTenants(teams.tenants);
  const book = new ConversationBook(platformStore, appId, tenants);
  const identity = new TeamsIdentity(service.directory, book, new PersonHandles(db, clock), tenants, log);
  const views = new TeamsViews(service, identity, clock);
  const bot = new TeamsBot({ service, reports, clock, log, book, tenants, identity, views });
  const audience = typeof settings.ToChannelFromBotOAuthScope === 'string' ? settings.ToChannelFromBotOAuthScope : PUBLIC_CLOUD_SCOPE;
  const gateway = new TeamsGateway({ adapter, appId, audience, service, store: platformStore, book, identity, views, log });

  async function messages(req: Request, res: Response, next: NextFunction): Promise<void> {
    const parsed = safeParseUntrusted(activityShape, req.body);
    if (!parsed.success) return next(new MalformedError('The body is not a Bot Framework activity.'));
    const activity = parsed.data as unknown as Activity;
    let authResult: AuthenticateRequestResult;
    try {
      authResult = await auth.authenticateRequest(activity, req.get('authorization') ?? '');
    } catch (err) {
      log.warn({ reason: err instanceof Error ? err.message : String(err), ip: req.ip }, 'refused a Teams request: authentication failed');
      return next(new UnauthorizedError('The request is not signed by the Bot Framework for this bot.'));
    }
    const invoke = await adapter.run(authResult, activity, (context) => bot.onTurn(context));
    if (invoke) {
      res.status(invoke.status);
      if (invoke.body === undefined) res.end();
      else res.json(invoke.body);
      return;
    }
    res.status(200).end();
  }

  log.info({ appId, appType: teams.appType, tenants: teams.tenants, path: MESSAGES_PATH, customEndpoints: Boolean(settings.ToBotFromChannelOpenIdMetadataUrl) }, 'Microsoft Teams is enabled');
  return {
    name: 'teams',
    consumers: [gateway, new TeamsDigestDelivery({ service, reports, store: platformStore, gateway, log })],
    mount(app: Express) {
      // Mounted before the /api router: this path has its own JSON parser and its own auth.
      app.post(MESSAGES_PATH, express.json({ limit: BODY_LIMIT, type: () => true, verify: refuseDeepJson }), messages);
      app.all(MESSAGES_PATH, (_req, res) => {
        res.status(405).set('Allow', 'POST').json({ error: { code: 'method_not_allowed', message: `Teams sends activities to ${MESSAGES_PATH} with POST.` } });
      });
    },
  };
}
