/**
 * Agenda backend over Baton's SqlClient: our SqlJobRepository plus an in-process notification
 * channel. This is the embedded PGlite path, on the same PGlite instance Prisma uses.
 *
 * PGlite is one process and one session, so every scheduler that can see its jobs lives in this
 * process: an in-memory channel reaches all of them, which is what NOTIFY does on a server. Agenda
 * still polls (processEvery) for jobs that come due later; the channel only makes a job saved for
 * "now" or the next poll period fire without waiting for the poll.
 *
 * Also used on PostgreSQL when the app is handed an open database without its URL (tests that
 * share one Database): same SQL, other instances then see new jobs at their next poll.
 */
import { InMemoryNotificationChannel, type AgendaBackend, type NotificationChannel } from 'agenda';
import type { SqlClient } from '../store/sqlClient.js';
import { SqlJobRepository, type SqlJobRepositoryOptions } from './sqlJobRepository.js';

export class SqlBackend implements AgendaBackend {
  readonly repository: SqlJobRepository;
  readonly notificationChannel: NotificationChannel;
  /** The SqlClient belongs to the app (Prisma shares it); Agenda must never close it. */
  readonly ownsConnection = false;

  constructor(
    readonly name: string,
    sql: SqlClient,
    opts: SqlJobRepositoryOptions = {},
  ) {
    this.repository = new SqlJobRepository(sql, opts);
    this.notificationChannel = new InMemoryNotificationChannel({ channelName: opts.table ?? 'agenda_jobs' });
  }

  async connect(): Promise<void> {
    await this.repository.connect();
  }

  async disconnect(): Promise<void> {
    // Nothing of our own to close.
  }
}
