/**
 * The console's Slack preview: Block Kit from blocks/slack rendered to HTML as Slack draws it, with
 * everything that came from a packet or a person inert (no markup, no pings, no disguised links).
 */
import type { HandoffView, PersonRef } from '../../../src/domain/view.js';
import { buildHandoffCard } from '../../../blocks/slack/card.js';
import { slackDate } from '../../../blocks/slack/format.js';
import { escapeMrkdwn } from '../../../blocks/slack/limits.js';
import { CHANNEL, viewFor, type AffordanceDirectory } from '../../../src/domain/affordances.js';
import { Policy } from '../../../src/domain/policy.js';
import { mrkdwnToHtml, slackMessageHtml, type SlackHtmlContext } from '../../../bots/console/slackHtml.js';

const ctx: SlackHtmlContext = {
  userName: (id) => ({ U0DANA1234: 'Dana Kim' })[id],
  channelName: (id) => ({ C0SALES: 'sales' })[id],
};
const html = (s: string) => mrkdwnToHtml(s, ctx);

describe('mrkdwn → HTML', () => {
  it('renders emphasis, strike, code, quotes and line breaks', () => {
    expect(html('*Owner*\nDana')).toBe('<b>Owner</b><br>Dana');
    expect(html('_soon_ and ~never~')).toBe('<i>soon</i> and <s>never</s>');
    expect(html('run `npm *start*`')).toBe('run <code>npm *start*</code>');
    expect(html('*Rejected* by X\n> no stakeholders\n> at all')).toBe('<b>Rejected</b> by X<blockquote class="sk-quote">no stakeholders<br>at all</blockquote>');
    expect(html('```\nline <1>\n```')).toBe('<pre class="sk-pre">line &lt;1&gt;\n</pre>');
    // Markers inside words are not emphasis (snake_case_names, 2*3*4).
    expect(html('snake_case_name and 2*3*4')).toBe('snake_case_name and 2*3*4');
  });

  it('resolves mentions to names, channels to names, and keeps special mentions visible', () => {
    expect(html('<@U0DANA1234> to accept')).toBe('<span class="sk-mention" data-user="U0DANA1234">@Dana Kim</span> to accept');
    expect(html('<@U0UNKNOWN1>')).toContain('@U0UNKNOWN1');
    expect(html('<#C0SALES>')).toBe('<span class="sk-mention sk-channel">#sales</span>');
    expect(html('<!here>')).toBe('<span class="sk-mention">@here</span>');
  });

  it('turns date tokens into <time> elements the page formats in the viewer\'s zone, keeping the fallback', () => {
    const token = slackDate('2026-03-04T16:00:00Z');
    expect(html(`due ${token}`)).toBe('due <time class="sk-date" datetime="2026-03-04T16:00:00.000Z" data-format="{date_short_pretty} at {time}" title="2026-03-04T16:00:00.000Z">2026-03-04 16:00 UTC</time>');
  });

  it('links http(s) and mailto only, and shows Slack-escaped user text literally', () => {
    expect(html('<https://crm.example/x?a=1&amp;b=2|the deal>')).toBe('<a href="https://crm.example/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">the deal</a>');
    expect(html('<javascript:alert(1)|click>')).toBe('click');
    // What blocks/slack does to packet text: escapeMrkdwn. It must come out as the same characters.
    const typed = '<script>alert(1)</script> & <!channel> <@U0EVIL> "q" \'s';
    const out = html(escapeMrkdwn(typed));
    expect(out).toBe('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt; &lt;@U0EVIL&gt; &quot;q&quot; &#39;s');
    expect(out).not.toContain('<script');
    expect(out).not.toContain('sk-mention');
  });

  it('shows the emoji Baton uses', () => {
    expect(html(':white_check_mark: *Accepted*')).toBe('✅ <b>Accepted</b>');
    expect(html(':not_an_emoji_we_know:')).toBe(':not_an_emoji_we_know:');
  });
});

describe('a real handoff card', () => {
  const dana: PersonRef = { id: 'dana', name: 'Dana Kim', email: 'dana@example.com', slackUserId: 'U0DANA1234', teamsUserId: null };
  const lee: PersonRef = { id: 'lee', name: 'Lee <b>Park</b>', email: 'lee@example.com', slackUserId: null, teamsUserId: null };
  const view: HandoffView = {
    id: 42,
    status: 'posted',
    version: 2,
    transition: 'sdr_to_ae',
    transitionName: 'SDR → Account Executive',
    fromStage: 'sdr',
    toStage: 'sales',
    teamId: 'sales',
    account: { id: 1, name: 'Acme & Co', domain: 'acme.example', crmId: '0015' },
    from: lee,
    owner: dana,
    routingReason: 'round-robin in the Account Executives queue',
    slaDueAt: '2026-03-04T16:00:00Z',
    slaAcceptDueAt: '2026-03-04T16:00:00Z',
    slaFirstTouchDueAt: null,
    escalationLevel: 0,
    packet: { note: 'Call <@U0EVIL> *today*', stakeholders: ['Dana Whitfield — CFO', 'Luis Ortega'] },
    externalId: null,
    createdAt: '2026-03-04T14:00:00Z',
    updatedAt: '2026-03-04T14:00:00Z',
    acceptedAt: null,
    firstTouchAt: null,
    closedAt: null,
    events: [
      { id: '1', version: 1, type: 'routed', actor: null, at: '2026-03-04T14:00:00Z', fromStatus: 'received', toStatus: 'routed', owner: dana, reasonCode: null, note: null, data: null },
      { id: '2', version: 2, type: 'posted', actor: null, at: '2026-03-04T14:00:01Z', fromStatus: 'routed', toStatus: 'posted', owner: dana, reasonCode: null, note: null, data: null },
    ],
  };
  // The shared card's buttons (Accept, Reject, Reassign while posted) come from the core's affordances.
  const nobody: AffordanceDirectory = { byId: new Map(), teams: new Map(), playbook: { admins: [], people: [] }, leadsOf: () => new Set(), isAdmin: () => false };
  const now = new Date('2026-03-04T15:00:00Z');
  const message = buildHandoffCard(viewFor(view, CHANNEL, { policy: new Policy(nobody), directory: nobody, transition: undefined, now }), { now, teamName: 'Account Executives' });
  const out = slackMessageHtml(message, ctx);

  it('draws every block, in order, as the kind of block it is', () => {
    const blockKinds = new Set(['sk-header', 'sk-section', 'sk-context', 'sk-divider', 'sk-actions']);
    const kinds = [...out.matchAll(/<(?:div|hr) class="(sk-[a-z]+)"/g)].map((m) => m[1]).filter((k) => blockKinds.has(k!));
    const expected = message.blocks.map((b) => ({ header: 'sk-header', section: 'sk-section', context: 'sk-context', divider: 'sk-divider', actions: 'sk-actions' })[b.type as string]);
    expect(kinds).toEqual(expected);
    expect(out).not.toContain('sk-unsupported');
  });

  it('has the header, the fields, the status line and the buttons with their action ids and values', () => {
    expect(out).toContain('<div class="sk-header" data-block-id="handoff_42_header">SDR → Account Executive · Acme &amp; Co</div>');
    expect(out).toContain('<b>Owner</b><br><span class="sk-mention" data-user="U0DANA1234">@Dana Kim</span> (Account Executives)');
    expect(out).toContain('Waiting for <span class="sk-mention" data-user="U0DANA1234">@Dana Kim</span> to accept');
    expect(out).toMatch(/<button type="button" class="sk-btn sk-btn-primary" data-action-id="handoff_accept" data-value="42:2">Accept<\/button>/);
    for (const id of ['handoff_reject', 'handoff_reassign', 'handoff_details']) expect(out).toContain(`data-action-id="${id}" data-value="42:2"`);
    expect(out).toContain('<time class="sk-date" datetime="2026-03-04T16:00:00.000Z"');
  });

  it('keeps what the sender typed inert', () => {
    expect(out).toContain('Call &lt;@U0EVIL&gt; <b>today</b>');
    expect(out).toContain('Lee &lt;b&gt;Park&lt;/b&gt;');
    expect(out).not.toContain('data-user="U0EVIL"');
  });
});
