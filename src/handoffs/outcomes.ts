/**
 * What became of each handoff command, told to observers after the fact (metrics today). An
 * observer sees the events a command committed, or the error that refused it; it cannot change
 * the outcome, and an observer that throws is logged and ignored.
 */
import type { DomainEvent } from '../events.js';

export type CommandOutcome =
  | {
      command: 'intake';
      /** The playbook transition asked for; undefined when the request named none that exists. */
      transition: string | undefined;
      /** created: committed with its events; replayed: an idempotent retry, nothing written. */
      outcome: 'created' | 'replayed';
      events: readonly DomainEvent[];
    }
  | { command: 'intake'; transition: string | undefined; outcome: 'failed'; error: unknown }
  | {
      command: 'action';
      action: string;
      /** The handoff's transition; left out by the one-statement post (it reads no row). */
      transition?: string;
      /** applied: committed with its events; unchanged: nothing to do (a later post of a posted handoff). */
      outcome: 'applied' | 'unchanged';
      events: readonly DomainEvent[];
    }
  | {
      command: 'action';
      /** As the request said it; not necessarily a known action. */
      action: string | undefined;
      outcome: 'failed';
      error: unknown;
      /** The caller's own in-transaction guard refused it (e.g. an SLA timer that had already fired). */
      aborted: boolean;
    };

export interface HandoffObserver {
  observe(outcome: CommandOutcome): void;
}
