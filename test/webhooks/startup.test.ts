/**
 * Outbound webhooks at start-up, on the real database: a subscription without its secret refuses
 * the start; with webhooks turned off (a demo), events are written with no delivery for any
 * subscription, so none can ever reach a real subscriber.
 */
import { ConfigError } from '../../src/errors.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import { freshDatabase, startTestBaton, type TestDatabase } from '../helpers/baton.js';
import { DEFAULT_TEXT } from '../playbook/helpers.js';

const playbook = parsePlaybook(`${DEFAULT_TEXT}
webhooks:
  - id: warehouse
    url: http://127.0.0.1:9/baton
    events: [handoff.*]
    secret: env:WAREHOUSE_WEBHOOK_SECRET
`);

let fresh: TestDatabase;
beforeAll(async () => {
  fresh = await freshDatabase();
});
afterAll(async () => {
  await fresh?.drop();
});

it('refuses to start while a subscription has no secret', async () => {
  await expect(startTestBaton({ playbook, db: fresh.db })).rejects.toThrow(ConfigError);
  await expect(startTestBaton({ playbook, db: fresh.db })).rejects.toThrow(
    'WAREHOUSE_WEBHOOK_SECRET (webhook "warehouse"): is not set; it holds the signing secret of http://127.0.0.1:9/baton',
  );
});

it('writes no webhook deliveries when webhooks are off', async () => {
  const baton = await startTestBaton({ playbook, db: fresh.db, webhooks: false });
  try {
    const [transition] = (await baton.api('GET', '/api/transitions')).json;
    expect((await baton.api('POST', '/api/handoffs', transition.example)).status).toBe(201);
    const consumers = (await baton.db.sql.query<{ consumer: string }>('SELECT DISTINCT consumer FROM outbox_delivery ORDER BY consumer')).map((r) => r.consumer);
    expect(consumers).toContain('sla');
    expect(consumers.filter((c) => c.startsWith('webhook:'))).toEqual([]);
    expect((await baton.api('GET', '/api/webhooks/subscriptions')).json).toEqual({ subscriptions: [] });
  } finally {
    await baton.close();
  }
});
