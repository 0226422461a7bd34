/**
 * Platform users linked to playbook people by their sign-in name (the `identity_link` table), and
 * the directory audit log (`directory_event`) where every link and every refused link is written.
 * A port like PlatformStore, so bots/ never talks to the database. The rules for when a link may
 * be made live with the platform (bots/teams/identity.ts); this only guarantees that a link, once
 * made, is never re-pointed: the first writer wins and a second one is told who holds it.
 */
import type { Prisma } from './generated/prisma/client.js';
import type { Database } from './store/database.js';
import type { Clock } from './clock.js';

export interface IdentityKey {
  platform: string;
  tenantId: string;
  externalUserId: string;
}

export type DirectoryEventType = 'identity.linked' | 'identity.link_refused';

export interface DirectoryEventInput {
  type: DirectoryEventType;
  platform: string;
  tenantId?: string | undefined;
  externalUserId?: string | undefined;
  personId?: string | undefined;
  detail: string;
  data?: Record<string, unknown>;
}

export class IdentityLinks {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** The person this user was linked to, if any. */
  async find(key: IdentityKey): Promise<string | undefined> {
    const row = await this.db.prisma.identityLink.findUnique({ where: { platform_tenantId_externalUserId: key } });
    return row?.personId;
  }

  /**
   * Links the user to `personId` by `linkedBy` and audits it, in one transaction. Returns the
   * person the user is linked to afterwards: `personId`, or whoever an earlier (or concurrent)
   * link named, in which case nothing was written and the caller refuses.
   */
  async link(key: IdentityKey, personId: string, linkedBy: 'upn', detail: string, data?: Record<string, unknown>): Promise<string> {
    const now = this.clock.now();
    return this.db.prisma.$transaction(async (tx) => {
      // ON CONFLICT DO NOTHING: a concurrent link of the same user never overwrites the first one.
      const inserted = await tx.$executeRaw`
        INSERT INTO identity_link (platform, tenant_id, external_user_id, person_id, linked_by, created_at)
        VALUES (${key.platform}, ${key.tenantId}, ${key.externalUserId}, ${personId}, ${linkedBy}, ${now})
        ON CONFLICT DO NOTHING`;
      if (inserted !== 1) {
        const holder = await tx.identityLink.findUnique({ where: { platform_tenantId_externalUserId: key } });
        return holder?.personId ?? personId;
      }
      await tx.directoryEvent.create({ data: eventRow({ type: 'identity.linked', ...key, personId, detail, ...(data ? { data } : {}) }, now) });
      return personId;
    });
  }

  /** Appends to the directory audit log. */
  async audit(event: DirectoryEventInput): Promise<void> {
    await this.db.prisma.directoryEvent.create({ data: eventRow(event, this.clock.now()) });
  }
}

function eventRow(e: DirectoryEventInput, at: Date): Prisma.DirectoryEventCreateInput {
  return {
    at,
    type: e.type,
    platform: e.platform,
    tenantId: e.tenantId ?? null,
    externalUserId: e.externalUserId ?? null,
    personId: e.personId ?? null,
    detail: e.detail,
    ...(e.data ? { data: e.data as Prisma.InputJsonValue } : {}),
  };
}
