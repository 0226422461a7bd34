/**
 * The one Baton the contract suite drives: Slack, Teams and the console plugins side by side on
 * one real database, with the local fake Slack Web API and fake Bot Connector in front of them
 * (test/reliability/platforms.ts). Every surface acts on the same handoffs, so "the same click
 * gives the same result" is a comparison of one truth, not of three set-ups.
 *
 * Besides the surfaces, two things speak for the core itself, over the HTTP API with the bearer
 * token (an integration, no actor of its own): `readState`, the truth every outcome is checked
 * against, and `reference`, the core's own answer to an action, whose copy every surface should
 * pass on to the person unchanged.
 */
import { consolePlugin } from '../../bots/console/plugin.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';
import { until } from '../reliability/helpers.js';
import { intakeBody, reliabilityPlaybookYaml, slackUser, teamsUser } from '../reliability/playbook.js';
import { useInstalledRig, type PlatformRig } from '../reliability/platforms.js';

/** Who looks at or clicks a handoff, by what they are to it. */
export type ViewerRole = 'owner' | 'ownerLead' | 'sender' | 'admin' | 'unrelated' | 'inactive' | 'stranger';

/** The playbook person behind each role (the stranger is nobody's). */
export const PERSON: Record<Exclude<ViewerRole, 'stranger'>, string> = {
  owner: 'own1a',
  ownerLead: 'lead1',
  sender: 'sally',
  admin: 'adam',
  unrelated: 'olga',
  inactive: 'ivy',
};

/** Names as the playbook spells them (what copy and pickers show). */
export const NAME: Record<string, string> = {
  own1a: 'Oona Owner1a',
  own1b: 'Otto Owner1b',
  lead1: 'Lee Lead1',
  sally: 'Sally Sender',
  sol: 'Sol Senderlead',
  adam: 'Adam Admin',
  olga: 'Olga Other',
  ivy: 'Ivy Inactive',
  quinn: 'Quinn Queue',
  fern: 'Fern Fallback',
};

/** The stranger on each platform: an id the playbook does not know. */
export const STRANGER = { slack: 'U0NOBODY77', teams: '29:contract-stranger', console: 'nobody@elsewhere.example' };
export { slackUser, teamsUser };

/**
 * The reliability playbook (one receiving team r1: lead1, own1a, own1b; sender sally of alpha,
 * led by sol; adam the admin and olga of ops) plus what tells reassign-candidate rules apart:
 * Quinn (ops) in r1's round-robin queue, Fern (ops) as r1's fallback owner, and Ivy, an inactive
 * member of r1.
 */
export function contractPlaybook(): Playbook {
  const person = (key: string, team: string, manager: string, active = true) =>
    `  ${key}:\n    name: ${NAME[key]}\n    email: ${key}@rel.example\n    team: ${team}\n    manager: ${manager}\n    slackUserId: ${slackUser(key)}\n    teamsUserId: "${teamsUser(key)}"\n${active ? '' : '    active: false\n'}`;
  const yaml = reliabilityPlaybookYaml({ teams: 1 })
    .replace('people:\n', `people:\n${person('quinn', 'ops', 'adam')}${person('fern', 'ops', 'adam')}${person('ivy', 'r1', 'lead1', false)}`)
    .replaceAll('      queue: [own1a, own1b]\n    fallbackOwner: lead1', '      queue: [own1a, own1b, quinn]\n    fallbackOwner: fern');
  return parsePlaybook(yaml, 'contract.yml');
}

export interface HandoffState {
  id: number;
  status: string;
  version: number;
  ownerId: string;
  routingReason: string;
  /** Audit event types, oldest first. */
  events: string[];
  lastEvent: { type: string; actorId: string | null; reasonCode: string | null; note: string | null } | undefined;
}

export interface ContractRig {
  platforms: PlatformRig;
  playbook: Playbook;
  /** The handoff as the core holds it (GET /api/handoffs/:id with its events). */
  readState(handoffId: number): Promise<HandoffState>;
  /** The core's own answer to an action (POST /api/handoffs/:id/actions as `actor`): its HTTP status and user message. */
  reference(handoffId: number, body: Record<string, unknown>): Promise<{ status: number; code: string | undefined; message: string | undefined }>;
  /** A fresh handoff owned by Oona (own1a), in `status`, set up through the API (no surface involved). */
  handoff(status: 'posted' | 'accepted' | 'closed'): Promise<HandoffState & { account: string; domain: string; tag: string }>;
}

/** The rig for the whole test file: started in beforeAll, stopped in afterAll. */
export function useContractRig(): ContractRig {
  const playbook = contractPlaybook();
  const platforms = useInstalledRig(playbook, { baton: { plugins: [consolePlugin] } });
  let seq = 0;

  async function readState(handoffId: number): Promise<HandoffState> {
    const r = await platforms.baton.api('GET', `/api/handoffs/${handoffId}`);
    if (r.status !== 200) throw new Error(`GET /api/handoffs/${handoffId} answered ${r.status}: ${JSON.stringify(r.json)}`);
    const v = r.json;
    const events = (v.events ?? []) as { type: string; actor: { id: string } | null; reasonCode: string | null; note: string | null }[];
    const last = events.at(-1);
    return {
      id: v.id,
      status: v.status,
      version: v.version,
      ownerId: v.owner.id,
      routingReason: v.routingReason,
      events: events.map((e) => e.type),
      lastEvent: last && { type: last.type, actorId: last.actor?.id ?? null, reasonCode: last.reasonCode, note: last.note },
    };
  }

  async function act(handoffId: number, body: Record<string, unknown>): Promise<void> {
    const r = await platforms.baton.api('POST', `/api/handoffs/${handoffId}/actions`, body);
    if (r.status !== 200) throw new Error(`setting up #${handoffId}: ${JSON.stringify(body)} answered ${r.status}: ${JSON.stringify(r.json)}`);
  }

  return {
    get platforms() {
      return platforms;
    },
    playbook,
    readState,
    async reference(handoffId, body) {
      const r = await platforms.baton.api('POST', `/api/handoffs/${handoffId}/actions`, body);
      return { status: r.status, code: r.json?.error?.code, message: r.json?.error?.message };
    },
    async handoff(status) {
      const tag = `ctr${++seq}p${process.pid}`;
      const body = intakeBody({ team: 1, to: PERSON.owner, tag, packet: { note: `Packet ${tag}` } });
      const r = await platforms.baton.api('POST', '/api/handoffs', body);
      if (r.status !== 201) throw new Error(`intake answered ${r.status}: ${JSON.stringify(r.json)}`);
      const id = r.json.id as number;
      // Posted: the card reached Slack and Teams (Slack's channel card is what its surface reads).
      await until(`#${id} posted`, async () => (await readState(id)).status === 'posted' && platforms.slack.cardsFor(id).length > 0);
      if (status !== 'posted') await act(id, { action: 'accept', actor: PERSON.owner });
      if (status === 'closed') await act(id, { action: 'complete', actor: PERSON.owner });
      const account = body.account as { name: string; domain: string };
      return { ...(await readState(id)), account: account.name, domain: account.domain, tag };
    },
  };
}
