/**
 * "New demo handoff": a normal handoff of a normal transition, created through the core's intake,
 * whose SLA is minutes long so a nudge, an escalation and an automatic reassignment can be watched
 * in the console.
 *
 * How: the core copies the transition's SLA and escalation policy onto each handoff when it is
 * created (the policy snapshot), and every later timer and reassignment reads that snapshot. So
 * the demo intake runs through a second HandoffService — same database, same outbox consumers,
 * same code — whose playbook is the real one with shorter durations and round-the-clock business
 * hours (so the minutes pass even at night or at the weekend). The playbook file is untouched,
 * no transition is added, and handoffs created any other way get the real SLAs.
 */
import type { CoreContext } from '../../src/app.js';
import { HandoffService, type IntakeResult } from '../../src/handoffs.js';
import { InvalidError } from '../../src/errors.js';
import { exampleRequest } from '../../src/playbook/packet.js';
import type { BusinessCalendar } from '../../src/sla/businessCalendar.js';
import type { Playbook } from '../../src/playbook/schema.js';

export interface DemoTimings {
  acceptMs: number;
  firstTouchMs: number;
  /** Between escalation steps. */
  repeatEveryMs: number;
  /** After the breach, for transitions that reassign automatically. */
  reassignAfterMs: number;
}

export const MINUTE = 60_000;

/**
 * Accept within `acceptMinutes` (2: nudges at the transition's points, e.g. 1:00 and 1:36; the breach
 * at 2:00; the next escalation step at 3:00; automatic reassignment at 4:00), first touch within twice that.
 */
export function demoTimings(acceptMinutes = 2): DemoTimings {
  const acceptMs = Math.round(acceptMinutes * MINUTE);
  return { acceptMs, firstTouchMs: acceptMs * 2, repeatEveryMs: Math.round(acceptMs / 2), reassignAfterMs: acceptMs };
}

const ALWAYS_OPEN: BusinessCalendar = {
  timeZone: 'UTC',
  weekly: { 1: [{ start: 0, end: 1440 }], 2: [{ start: 0, end: 1440 }], 3: [{ start: 0, end: 1440 }], 4: [{ start: 0, end: 1440 }], 5: [{ start: 0, end: 1440 }], 6: [{ start: 0, end: 1440 }], 7: [{ start: 0, end: 1440 }] },
  holidays: [],
};

/** The real playbook with demo durations and a 24/7 calendar; routing, packets and people unchanged. */
export function demoPlaybook(pb: Playbook, t: DemoTimings): Playbook {
  return {
    ...pb,
    teams: pb.teams.map((team) => ({ ...team, calendar: ALWAYS_OPEN })),
    transitions: pb.transitions.map((tr) => ({
      ...tr,
      sla: { acceptMs: t.acceptMs, firstTouchMs: t.firstTouchMs },
      escalation: { ...tr.escalation, repeatEveryMs: t.repeatEveryMs, reassignAfterMs: tr.escalation.reassignAfterMs === null ? null : t.reassignAfterMs },
    })),
  };
}

const COMPANIES = ['Bluebird Freight', 'Copperleaf Health', 'Driftwood Studios', 'Evergreen Analytics', 'Foxglove Retail', 'Granite Payroll', 'Harbor Robotics', 'Ironbark Energy', 'Juniper Labs', 'Kestrel Travel'];

export class DemoHandoffs {
  private readonly services = new Map<number, HandoffService>();
  /** Ids created here (a badge in the console; lost on restart, which is fine for a demo). */
  readonly ids = new Set<number>();
  private seq = 0;

  constructor(private readonly core: Pick<CoreContext, 'service' | 'db' | 'outbox' | 'clock' | 'log'>) {}

  private serviceFor(acceptMinutes: number): HandoffService {
    const key = Math.round(acceptMinutes * 10);
    let s = this.services.get(key);
    if (!s) {
      const { db, outbox, clock, log } = this.core;
      s = new HandoffService({
        db,
        playbook: demoPlaybook(this.core.service.playbook, demoTimings(acceptMinutes)),
        clock,
        log: log.child({ component: 'console-demo' }),
        consumers: () => outbox.list(),
        afterCommit: () => outbox.wake(),
      });
      this.services.set(key, s);
    }
    return s;
  }

  /** Creates a demo handoff of `transitionId` (default: the first transition) from its playbook example. */
  async create(opts: { transition?: string | undefined; acceptMinutes?: number | undefined } = {}): Promise<IntakeResult> {
    const pb = this.core.service.playbook;
    const t = opts.transition ? this.core.service.transition(opts.transition) : pb.transitions[0];
    if (!t) {
      throw new InvalidError(`There is no transition "${opts.transition}".`, [{ path: 'transition', message: `use one of ${pb.transitions.map((x) => x.id).join(', ')}` }]);
    }
    const minutes = opts.acceptMinutes ?? 2;
    if (!Number.isFinite(minutes) || minutes < 0.5 || minutes > 60) {
      throw new InvalidError('The demo SLA must be between 0.5 and 60 minutes.', [{ path: 'acceptMinutes', message: 'must be between 0.5 and 60' }]);
    }
    const example = exampleRequest(t, pb);
    const now = this.core.clock.now();
    const stamp = now.toISOString().slice(11, 19);
    const company = COMPANIES[this.seq++ % COMPANIES.length]!;
    // A new account each time (no domain or CRM id): its owner history does not route the next demo.
    const result = await this.serviceFor(minutes).intake({ ...example, account: { name: `${company} (demo ${stamp})` } });
    this.ids.add(result.handoff.id);
    return result;
  }
}
