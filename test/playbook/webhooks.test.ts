/** The playbook's webhooks: section — outbound event subscriptions — as loaded and as refused. */
import { parsePlaybook } from '../../src/playbook/load.js';
import { HANDOFF_EVENT_TYPES } from '../../src/events.js';
import { DEFAULT_TEXT, MINIMAL, at, problemsOf } from './helpers.js';

const WEBHOOKS = `
webhooks:
  - id: warehouse
    url: https://hooks.example.com/baton?token=abc
    events: [handoff.routed, handoff.accepted, handoff.escalated, handoff.accepted]
    secret: env:WAREHOUSE_WEBHOOK_SECRET
  - url: https://ops.example.com/in/baton/
    events: [handoff.*]
    secret: env:OPS_SECRET
`;

describe('the webhooks section', () => {
  it('is optional: the default playbook has none', () => {
    expect(parsePlaybook(DEFAULT_TEXT).webhooks).toBeUndefined();
    expect(parsePlaybook(MINIMAL).webhooks).toBeUndefined();
  });

  it('loads subscriptions: ids (given, or the URL host and path without the query), events (handoff.* expanded, repeats dropped), the secret by env name', () => {
    expect(parsePlaybook(MINIMAL + WEBHOOKS).webhooks).toEqual([
      {
        id: 'warehouse',
        url: 'https://hooks.example.com/baton?token=abc',
        events: ['handoff.routed', 'handoff.accepted', 'handoff.escalated'],
        secretEnv: 'WAREHOUSE_WEBHOOK_SECRET',
      },
      { id: 'ops.example.com/in/baton', url: 'https://ops.example.com/in/baton/', events: [...HANDOFF_EVENT_TYPES], secretEnv: 'OPS_SECRET' },
    ]);
  });

  it('refuses an unknown event type with its line and a hint, and digest events with why', () => {
    const text = MINIMAL + WEBHOOKS.replace('handoff.escalated, ', 'handoff.escalatd, digest.weekly, ');
    expect(problemsOf(text)).toEqual([
      {
        path: 'webhooks.0.events.2',
        message: `${at(text, 'handoff.escalatd')} unknown event type "handoff.escalatd"; did you mean "handoff.escalated"? (events: ${HANDOFF_EVENT_TYPES.join(', ')}, or handoff.* for all)`,
      },
      {
        path: 'webhooks.0.events.3',
        message: `${at(text, 'digest.weekly')} unknown event type "digest.weekly"; digest events are Baton's own schedule and are not sent to webhooks (events: ${HANDOFF_EVENT_TYPES.join(', ')}, or handoff.* for all)`,
      },
    ]);
  });

  it('takes the secret only as env:NAME, and never repeats a secret written into the file', () => {
    const literal = MINIMAL + WEBHOOKS.replace('env:WAREHOUSE_WEBHOOK_SECRET', 'whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==');
    const problems = problemsOf(literal);
    expect(problems).toEqual([
      {
        path: 'webhooks.0.secret',
        message: `${at(literal, 'secret: whsec_')} write the environment variable that holds the signing secret, as env:NAME (e.g. env:WAREHOUSE_WEBHOOK_SECRET); the secret itself never goes in the playbook`,
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain('c2VjcmV0');
    const badName = MINIMAL + WEBHOOKS.replace('env:OPS_SECRET', 'env:ops-secret');
    expect(problemsOf(badName)).toEqual([
      { path: 'webhooks.1.secret', message: `${at(badName, 'secret: env:ops-secret')} expected an environment variable name like WAREHOUSE_WEBHOOK_SECRET after "env:", got "ops-secret"` },
    ]);
  });

  it('refuses URLs that are not absolute http(s) or that carry credentials, unknown keys, missing keys and repeated ids', () => {
    const text = `${MINIMAL}
webhooks:
  - url: hooks.example.com/baton
    events: [handoff.routed]
    secret: env:A_SECRET
  - url: ftp://hooks.example.com/baton
    events: [handoff.routed]
    secret: env:A_SECRET
  - url: https://user:pw@hooks.example.com/baton
    events: [handoff.routed]
    secret: env:A_SECRET
  - url: https://hooks.example.com/x
    event: [handoff.routed]
    secret: env:A_SECRET
  - url: https://hooks.example.com/baton/
    events: []
    secret: env:A_SECRET
  - url: https://HOOKS.example.com/baton
    events: [handoff.routed]
    secret: env:B_SECRET
`;
    expect(problemsOf(text)).toEqual([
      { path: 'webhooks.0.url', message: `${at(text, 'url: hooks')} expected an absolute URL such as https://hooks.example.com/baton, got "hooks.example.com/baton"` },
      { path: 'webhooks.1.url', message: `${at(text, 'url: ftp')} the URL must start with https:// (or http://), got "ftp:"` },
      { path: 'webhooks.2.url', message: `${at(text, 'url: https://user')} the URL must not carry a user name or password; receivers authenticate Baton by the webhook-signature header` },
      { path: 'webhooks.3.events', message: `${at(text, 'url: https://hooks.example.com/x')} "events" is required` },
      { path: 'webhooks.3.event', message: `${at(text, 'event: [')} unknown key "event"; did you mean "events"?` },
      { path: 'webhooks.4.events', message: `${at(text, 'events: []')} needs at least 1 entry` },
      {
        path: 'webhooks.5.url',
        message: `${at(text, 'url: https://HOOKS')} webhook 6 has the same id "hooks.example.com/baton" as webhook 5; give each its own id (it names the subscription's deliveries)`,
      },
    ]);
  });

  it('refuses an empty section and a section that is not a list', () => {
    const empty = `${MINIMAL}\nwebhooks:\n`;
    expect(problemsOf(empty)).toEqual([
      { path: 'webhooks', message: `${at(empty, 'webhooks:')} the webhooks section is empty: list at least one subscription (url, events, secret) or remove the section` },
    ]);
    const mapping = `${MINIMAL}\nwebhooks:\n  url: https://hooks.example.com/baton\n`;
    expect(problemsOf(mapping)).toEqual([{ path: 'webhooks', message: `${at(mapping, 'webhooks:')} expected a list, got a mapping` }]);
  });
});
