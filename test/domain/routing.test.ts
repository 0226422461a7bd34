import { isAvailable, pickWeighted, routeHandoff, type RoutingContext } from '../../src/domain/routing.js';
import { loadPlaybook } from '../../src/playbook/load.js';
import type { Playbook, Transition } from '../../src/playbook/schema.js';

let pb: Playbook;
let t: Transition;
beforeAll(async () => {
  pb = await loadPlaybook('playbook.yml');
  t = pb.transitions.find((x) => x.id === 'marketing_to_sdr')!;
});

const now = new Date('2026-11-24T10:00:00Z');
const ctx = (over: Partial<RoutingContext> = {}): RoutingContext => ({
  playbook: pb,
  transition: t,
  now,
  accountOwnerId: null,
  queueCounts: async () => new Map(),
  ...over,
});
const subject = (region?: string) => ({ packet: {}, account: { name: 'Acme', ...(region ? { region } : {}) } });

describe('routeHandoff', () => {
  it('honours a named owner first', async () => {
    expect(await routeHandoff(subject('EMEA'), ctx({ accountOwnerId: 'sven' }), 'oliver')).toEqual({ ownerId: 'oliver', reason: 'named as the owner in the request', source: 'named' });
  });

  it('then the account owner for the receiving stage', async () => {
    const r = await routeHandoff(subject('EMEA'), ctx({ accountOwnerId: 'sven' }));
    expect(r).toMatchObject({ ownerId: 'sven', source: 'account_owner' });
    expect(r.reason).toMatch(/^owns this account at the .* stage$/);
  });

  it('skips an account owner who is away or inactive', async () => {
    const away = { ...pb, people: pb.people.map((p) => (p.id === 'sven' ? { ...p, awayUntil: '2026-12-01' } : p)) };
    const r = await routeHandoff(subject('EMEA'), ctx({ playbook: away, accountOwnerId: 'sven' }));
    expect(r).toMatchObject({ ownerId: 'amelia', source: 'rule', reason: 'routing rule "EMEA accounts go to the EMEA SDR"' });
  });

  it('then the first matching territory rule', async () => {
    expect(await routeHandoff(subject('APAC'), ctx())).toMatchObject({ ownerId: 'sven', source: 'rule' });
    expect(await routeHandoff(subject('dach'), ctx())).toMatchObject({ ownerId: 'amelia', source: 'rule' });
  });

  it('then weighted round-robin: 2:1 for amelia:sven over 30 picks', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await routeHandoff(subject('NA'), ctx({ queueCounts: async () => counts }));
      expect(r.source).toBe('queue');
      expect(r.queueKey).toBe('marketing_to_sdr:queue');
      counts.set(r.ownerId, (counts.get(r.ownerId) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ amelia: 20, sven: 10 });
  });

  it('falls back to the fallback owner when nobody in the queue is available', async () => {
    const nobody = { ...pb, people: pb.people.map((p) => (p.id === 'amelia' || p.id === 'sven' ? { ...p, active: false } : p)) };
    expect(await routeHandoff(subject('NA'), ctx({ playbook: nobody }))).toEqual({ ownerId: 'oliver', reason: 'fallback owner: nobody in the queue is available', source: 'fallback' });
  });
});

describe('availability and weighted picks', () => {
  it('treats awayUntil as inclusive in the person\'s own time zone', () => {
    const p = { ...pb.people.find((x) => x.id === 'sven')!, awayUntil: '2026-11-24' };
    expect(isAvailable(p, new Date('2026-11-24T23:30:00Z'))).toBe(true); // 00:30 on the 25th in Stockholm (UTC+1)
    expect(isAvailable(p, new Date('2026-11-24T22:30:00Z'))).toBe(false); // 23:30 on the 24th there
  });
  it('breaks ties by listing order', () => {
    const byId = new Map(pb.people.map((p) => [p.id, p]));
    const pick = pickWeighted([{ personId: 'sven', weight: 1 }, { personId: 'amelia', weight: 1 }], new Map(), (id) => byId.get(id));
    expect(pick?.id).toBe('sven');
  });
});
