/**
 * The Microsoft 365 tenants Baton serves (MICROSOFT_APP_TENANT_ID and BATON_TEAMS_TENANTS).
 *
 * The Bot Framework signs an activity from any tenant that has the app installed: a valid token
 * proves the activity came through Teams, not that it came from our organisation. So the tenant is
 * checked first in every turn, before identity and before anything is stored. An activity from
 * another tenant changes nothing and reveals nothing: an invoke gets an error card, a message one
 * line, anything else (installs, membership updates) no answer at all.
 */
import { ActivityTypes, type TurnContext } from 'botbuilder';
import type { Logger } from '../../src/logger.js';
import { errorCard } from '../../blocks/teams/commandCards.js';
import { tenantOf } from './activity.js';

export const NOT_SERVED = 'This Microsoft 365 tenant is not served by this Baton, so nothing was read or changed. Ask the Baton admins of your organisation if you expected it to work here.';

export class ServedTenants {
  private readonly served: ReadonlySet<string>;
  /**
   * The first tenant configured (MICROSOFT_APP_TENANT_ID when set): proactive posts default to
   * it. Undefined only with Teams off (the console renders Teams cards then), where none is served.
   */
  readonly home: string | undefined;

  constructor(tenants: readonly string[]) {
    this.served = new Set(tenants.map((t) => t.toLowerCase()));
    this.home = tenants[0]?.toLowerCase();
  }

  has(tenantId: string | undefined): tenantId is string {
    return tenantId !== undefined && this.served.has(tenantId.toLowerCase());
  }

  /**
   * The activity's tenant (lower-cased) when it is served; otherwise answers it as refused, logs
   * at warn, and returns undefined: the caller does nothing more with the activity.
   */
  async admit(context: TurnContext, log: Logger): Promise<string | undefined> {
    const tenantId = tenantOf(context)?.toLowerCase();
    if (this.has(tenantId)) return tenantId;
    const a = context.activity;
    log.warn(
      { tenantId: tenantId ?? null, activityType: a.type, name: a.name, teamsUserId: a.from?.id, aadObjectId: a.from?.aadObjectId },
      'refused a Teams activity: its Microsoft 365 tenant is not served (MICROSOFT_APP_TENANT_ID, BATON_TEAMS_TENANTS)',
    );
    if (a.type === ActivityTypes.Invoke) {
      // An error card rather than an HTTP error: Teams shows it to the user instead of a generic failure.
      const card = errorCard(NOT_SERVED);
      await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } } });
    } else if (a.type === ActivityTypes.Message) {
      // Plain text, no card: one line, no attachment that could carry anything.
      await context.sendActivity({ type: ActivityTypes.Message, text: NOT_SERVED });
    }
    return undefined;
  }
}

