import { PlaybookError } from '../../src/errors.js';
import { loadPlaybook, parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook, Transition } from '../../src/playbook/schema.js';
import { DEFAULT_TEXT, MINIMAL, at, patch, problemsOf } from './helpers.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

function transition(pb: Playbook, id: string): Transition {
  const found = pb.transitions.find((t) => t.id === id);
  if (!found) throw new Error(`no transition ${id}`);
  return found;
}

describe('the default playbook', () => {
  let pb: Playbook;
  beforeAll(async () => {
    pb = await loadPlaybook('playbook.yml');
  });

  it('describes Northwind Cloud with its stages, teams and people', () => {
    expect(pb.organization).toEqual({ name: 'Northwind Cloud', timeZone: 'America/New_York', emailDomains: ['northwind.example'] });
    expect(pb.stages.map((s) => s.id)).toEqual([
      'marketing',
      'sdr',
      'sales',
      'solutions',
      'implementation',
      'customer_success',
      'support',
      'renewal',
      'product',
    ]);
    expect(pb.teams.map((t) => [t.id, t.calendar.timeZone])).toEqual([
      ['marketing', 'America/New_York'],
      ['sdr', 'Europe/London'],
      ['sales', 'America/Chicago'],
      ['solutions', 'Europe/Berlin'],
      ['implementation', 'Asia/Kolkata'],
      ['customer_success', 'America/Los_Angeles'],
      ['support', 'Australia/Sydney'],
      ['renewals', 'America/New_York'],
      ['product', 'Europe/Berlin'],
    ]);
    expect(pb.people.length).toBeGreaterThanOrEqual(18);
    for (const team of pb.teams) {
      const members = pb.people.filter((p) => p.teamId === team.id);
      expect(members.length).toBeGreaterThanOrEqual(2);
      expect(pb.people.find((p) => p.id === team.leadId)?.active).toBe(true);
    }
    expect(pb.admins).toEqual(['sam']);
    expect(pb.digest).toEqual({ day: 1, time: '08:00', subscribers: ['rachel', 'diego'] });
  });

  it('normalises people: lower-case emails, team time zone by default, away and inactive people', () => {
    const person = (id: string) => pb.people.find((p) => p.id === id);
    for (const p of pb.people) expect(p.email).toBe(p.email.toLowerCase());
    expect(new Set(pb.people.map((p) => p.email)).size).toBe(pb.people.length);
    expect(person('liam')).toMatchObject({ teamId: 'marketing', managerId: 'maya', timeZone: 'America/New_York', active: true, awayUntil: null });
    expect(person('sven')?.timeZone).toBe('Europe/Stockholm');
    expect(person('tom')).toMatchObject({ active: false, teamsUserId: null, aadObjectId: null });
    expect(person('noah')?.awayUntil).toBe('2027-02-15');
    expect(person('rachel')?.managerId).toBeNull();
    expect(person('maya')?.slackUserId).toMatch(/^U0[A-Z0-9]+$/);
  });

  it('builds business calendars with lunch breaks, Saturday hours and holidays as plain date strings', () => {
    const team = (id: string) => pb.teams.find((t) => t.id === id);
    expect(team('implementation')?.calendar.weekly[1]).toEqual([
      { start: 9 * 60 + 30, end: 13 * 60 },
      { start: 14 * 60, end: 18 * 60 + 30 },
    ]);
    expect(team('implementation')?.calendar.weekly[6]).toEqual([]);
    expect(team('support')?.calendar.weekly[6]).toEqual([{ start: 9 * 60, end: 13 * 60 }]);
    expect(team('support')?.calendar.weekly[7]).toEqual([]);
    expect(team('sdr')?.calendar.weekly[5]).toEqual([{ start: 8 * 60 + 30, end: 16 * 60 }]);
    for (const t of pb.teams) {
      expect(t.calendar.holidays.length).toBeGreaterThan(0);
      for (const day of t.calendar.holidays) {
        expect(typeof day).toBe('string');
        expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }
      expect(t.calendar.holidays.some((d) => d.startsWith('2026-'))).toBe(true);
      expect(t.calendar.holidays.some((d) => d.startsWith('2027-'))).toBe(true);
    }
    // A team's own dates are added to its regions' calendars.
    expect(team('renewals')?.calendar.holidays).toEqual(expect.arrayContaining(['2026-11-26', '2026-12-24', '2027-12-23']));
    expect(team('sdr')?.calendar.holidays).toContain('2026-08-31');
  });

  it('has the eight transitions of the product brief, with packets covering every listed item', () => {
    const packets: Record<string, string[]> = {
      marketing_to_sdr: ['icp_fit', 'intent_signals', 'content_engaged', 'source', 'routing_reason', 'consent_given', 'next_best_action'],
      sdr_to_ae: ['confirmed_pains', 'stakeholders', 'buying_stage', 'objections', 'timeline', 'meeting_notes', 'discovery_success_criteria'],
      ae_to_solutions: ['use_case', 'requirements', 'constraints', 'evaluation_plan', 'proof_needed'],
      ae_to_implementation: ['scope', 'promised_outcomes', 'integrations', 'go_live_target', 'risks', 'stakeholders', 'definition_of_done'],
      implementation_to_cs: ['adoption_plan', 'enablement_artifacts', 'baseline_metrics', 'open_issues', 'next_milestones'],
      cs_to_support: ['severity', 'business_impact', 'environment', 'history', 'troubleshooting_performed', 'customer_comms_plan'],
      cs_to_renewal: ['value_realization', 'usage_adoption', 'stakeholder_map', 'risks', 'contract_terms', 'expansion_triggers'],
      support_to_product: ['recurring_friction', 'feature_gaps', 'voice_of_customer', 'win_loss_insights', 'proof_points_to_update'],
    };
    expect(pb.transitions.map((t) => t.id)).toEqual(Object.keys(packets));
    for (const [id, keys] of Object.entries(packets)) {
      expect(transition(pb, id).packet.map((f) => f.key)).toEqual(expect.arrayContaining(keys));
    }
    const field = (t: string, key: string) => transition(pb, t).packet.find((f) => f.key === key);
    expect(field('marketing_to_sdr', 'icp_fit')).toMatchObject({ type: 'enum', values: ['A', 'B', 'C'], label: 'ICP fit', required: true });
    expect(field('marketing_to_sdr', 'consent_given')?.type).toBe('boolean');
    expect(field('sdr_to_ae', 'stakeholders')?.type).toBe('list');
    expect(field('cs_to_support', 'severity')).toMatchObject({ type: 'enum', values: ['sev1', 'sev2', 'sev3', 'sev4'] });
    expect(field('marketing_to_sdr', 'lead_score')).toMatchObject({ type: 'number', required: false });
  });

  it('wires teams, stages, SLAs, nudges, escalation, routing, fallback owners and reject reasons', () => {
    const m2s = transition(pb, 'marketing_to_sdr');
    expect(m2s).toMatchObject({
      name: 'Marketing → SDR',
      fromTeamId: 'marketing',
      toTeamId: 'sdr',
      fromStage: 'marketing',
      toStage: 'sdr',
      sla: { acceptMs: HOUR, firstTouchMs: 4 * HOUR },
      nudgesAt: [0.5, 0.8],
      escalation: { chain: ['owner_lead', 'function_head'], repeatEveryMs: HOUR, reassignAfterMs: 2 * HOUR, restartSlaOnReassign: true },
      fallbackOwnerId: 'oliver',
    });
    expect(m2s.entryCriteria).toEqual([
      { field: 'packet.lifecycle_stage', op: 'equals', value: 'MQL', message: 'must equal "MQL"' },
      { field: 'packet.consent_given', op: 'equals', value: true, message: 'consent to be contacted must be recorded before sales outreach' },
      { field: 'packet.icp_fit', op: 'in', value: ['A', 'B'], message: 'C-fit leads stay in marketing nurture' },
    ]);
    expect(m2s.routing.rules[0]).toEqual({
      name: 'EMEA accounts go to the EMEA SDR',
      when: [{ field: 'account.region', op: 'in', value: ['EMEA', 'UK&I', 'DACH'], message: 'must be one of "EMEA", "UK&I", "DACH"' }],
      assignTo: 'amelia',
    });
    expect(m2s.routing.queue).toEqual([
      { personId: 'amelia', weight: 2 },
      { personId: 'sven', weight: 1 },
    ]);
    expect(m2s.rejectReasons).toContainEqual({ code: 'no_consent', label: 'No valid consent to contact' });

    // Defaults section: the SDR → AE transition sets no escalation of its own.
    expect(transition(pb, 'sdr_to_ae').escalation).toEqual({
      chain: ['owner_lead', 'function_head'],
      repeatEveryMs: 2 * HOUR,
      reassignAfterMs: 4 * HOUR,
      restartSlaOnReassign: true,
    });
    expect(transition(pb, 'sdr_to_ae').routing.rules[0]?.assignTo).toBe('priya');
    expect(transition(pb, 'cs_to_support')).toMatchObject({
      sla: { acceptMs: 30 * MINUTE, firstTouchMs: HOUR },
      escalation: { repeatEveryMs: 30 * MINUTE, reassignAfterMs: HOUR },
    });
    expect(transition(pb, 'cs_to_support').routing.rules[0]?.queue).toEqual([
      { personId: 'chloe', weight: 1 },
      { personId: 'jack', weight: 1 },
    ]);
    expect(transition(pb, 'support_to_product').escalation).toMatchObject({ chain: ['function_head'], reassignAfterMs: null });
    // No queue in the file: every active member of the receiving team, weight 1.
    expect(transition(pb, 'ae_to_solutions').routing.queue).toEqual([
      { personId: 'lena', weight: 1 },
      { personId: 'felix', weight: 1 },
    ]);

    expect(pb.transitions.filter((t) => t.routing.rules.length > 0).length).toBeGreaterThanOrEqual(6);
    for (const t of pb.transitions) {
      expect(t.nudgesAt).toEqual([0.5, 0.8]);
      expect(t.escalation.chain.length).toBeGreaterThan(0);
      expect(t.fallbackOwnerId).toBe(pb.teams.find((team) => team.id === t.toTeamId)?.leadId);
      expect(t.rejectReasons.length).toBeGreaterThanOrEqual(4);
      expect(t.rejectReasons.length).toBeLessThanOrEqual(6);
      expect(t.entryCriteria.length).toBeGreaterThan(0);
      expect(t.sla.firstTouchMs).toBeGreaterThanOrEqual(t.sla.acceptMs);
    }
  });
});

describe('a minimal playbook', () => {
  it('loads with every default applied', () => {
    const pb = parsePlaybook(MINIMAL);
    const t = pb.transitions[0];
    expect(t).toMatchObject({
      id: 'a_to_b',
      name: 'Alpha → Beta',
      description: '',
      fromStage: 'a',
      toStage: 'b',
      nudgesAt: [0.5, 0.8],
      escalation: { chain: ['owner_lead', 'function_head'], repeatEveryMs: HOUR, reassignAfterMs: null, restartSlaOnReassign: true },
      routing: { rules: [], queue: [{ personId: 'bob', weight: 1 }, { personId: 'cat', weight: 1 }] },
      fallbackOwnerId: 'bob',
      rejectReasons: [{ code: 'nope', label: 'Not for us' }],
    });
    expect(pb.teams[1]).toMatchObject({ leadId: 'bob', headId: 'bob', channels: {}, calendar: { holidays: [] } });
    expect(pb.people.find((p) => p.id === 'bob')).toMatchObject({ email: 'bob@test.example', timeZone: 'America/New_York', managerId: null });
    expect(pb.digest).toEqual({ day: 1, time: '08:00', subscribers: [] });
    expect(pb.admins).toEqual([]);
  });

  it('accepts people by email anywhere a person is referenced, in any case', () => {
    const text = patch(patch(MINIMAL, 'lead: bob', 'lead: BOB@test.example'), 'manager: bob', 'manager: bob@TEST.example');
    const pb = parsePlaybook(text + 'admins: [Ann@Test.Example]\n');
    expect(pb.teams[1]?.leadId).toBe('bob');
    expect(pb.people.find((p) => p.id === 'cat')?.managerId).toBe('bob');
    expect(pb.admins).toEqual(['ann']);
  });

  it('keeps unquoted dates and times as strings (YAML 1.2 core schema) and supports merge keys', () => {
    const text =
      patch(
        patch(MINIMAL, '      mon: "09:00-17:00"\n    lead: ann', '      <<: { tue: 09:00-17:00 }\n      mon: 09:00-17:00\n    lead: ann'),
        '    lead: ann',
        '    holidays: [2026-12-25, 2027-01-01]\n    lead: ann',
      ) + 'digest:\n  day: Friday\n  time: 16:30\n';
    const pb = parsePlaybook(text);
    expect(pb.teams[0]?.calendar.holidays).toEqual(['2026-12-25', '2027-01-01']);
    expect(pb.teams[0]?.calendar.weekly[2]).toEqual([{ start: 540, end: 1020 }]);
    expect(pb.digest).toEqual({ day: 5, time: '16:30', subscribers: [] });
    const withDateExample = patch(
      MINIMAL,
      '    entryCriteria:',
      '      due:\n        label: Due\n        type: date\n        description: Due date\n        example: 2026-03-01\n    entryCriteria:',
    );
    expect(parsePlaybook(withDateExample).transitions[0]?.packet.find((f) => f.key === 'due')?.example).toBe('2026-03-01');
  });
});

describe('playbook errors', () => {
  it('names the path and line of a bad duration, in a PlaybookError for the source file', () => {
    const text = patch(DEFAULT_TEXT, 'accept: 4h', 'accept: 4 hours', 'sdr_to_ae:');
    let caught: unknown;
    try {
      parsePlaybook(text, 'custom.yml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlaybookError);
    const err = caught as PlaybookError;
    expect(err.source).toBe('custom.yml');
    expect(err.code).toBe('invalid_playbook');
    const expected = `${at(text, 'accept: 4 hours')} expected a duration like "4h" or "30m", got "4 hours"`;
    expect(err.details).toEqual([{ path: 'transitions.sdr_to_ae.sla.accept', message: expected }]);
    expect(expected).toMatch(/^\(line \d+, column 7\) /);
    expect(err.message).toContain(`  - transitions.sdr_to_ae.sla.accept: ${expected}`);
  });

  it('reports an unknown manager with a suggestion', () => {
    const text = patch(DEFAULT_TEXT, 'manager: maya', 'manager: mya', '  liam:');
    expect(problemsOf(text)).toEqual([
      { path: 'people.liam.manager', message: `${at(text, 'manager: mya')} unknown person "mya"; did you mean "maya"?` },
    ]);
  });

  it('reports unknown teams on people and transitions', () => {
    const text = patch(patch(DEFAULT_TEXT, 'team: marketing', 'team: marketting', '  liam:'), 'to: sdr', 'to: sdrs', 'marketing_to_sdr:');
    expect(problemsOf(text)).toEqual([
      { path: 'people.liam.team', message: `${at(text, 'team: marketting')} unknown team "marketting"; did you mean "marketing"?` },
      { path: 'transitions.marketing_to_sdr.to', message: `${at(text, 'to: sdrs')} unknown team "sdrs"; did you mean "sdr"?` },
    ]);
    const far = patch(MINIMAL, 'team: beta', 'team: zz', '  cat:');
    expect(problemsOf(far)).toEqual([
      { path: 'people.cat.team', message: `${at(far, 'team: zz')} unknown team "zz" (teams: alpha, beta)` },
    ]);
  });

  it('reports an organization email domain that is not a bare domain name, and defaults to none', () => {
    const text = patch(DEFAULT_TEXT, 'emailDomains: [northwind.example]', 'emailDomains: [northwind.example, "@partner.example"]');
    expect(problemsOf(text)).toEqual([
      { path: 'organization.emailDomains.1', message: expect.stringContaining('expected a domain name like "northwind.example" (no "@"), got "@partner.example"') },
    ]);
    expect(parsePlaybook(MINIMAL, 'test.yml').organization.emailDomains).toEqual([]);
  });

  it('reports a duplicate email regardless of case', () => {
    const text = patch(DEFAULT_TEXT, 'email: liam.chen@northwind.example', 'email: Maya.Okafor@northwind.example');
    expect(problemsOf(text)).toEqual([
      {
        path: 'people.liam.email',
        message: `${at(text, 'email: Maya.Okafor')} email "maya.okafor@northwind.example" is already used by "maya"; each person needs their own`,
      },
    ]);
  });

  it('reports a duplicate id as a YAML error with its line', () => {
    const text = patch(DEFAULT_TEXT, '  support:\n    name: Support', '  sdr:\n    name: Support');
    expect(problemsOf(text)).toEqual([
      { path: '(file)', message: `${at(text, 'sdr:\n    name: Support')} duplicate key "sdr": each id or key may appear only once in its section` },
    ]);
  });

  it('reports a time zone that is not an IANA zone', () => {
    const text = patch(DEFAULT_TEXT, 'timeZone: Europe/London', 'timeZone: Europe/Londn');
    expect(problemsOf(text)).toEqual([
      {
        path: 'teams.sdr.timeZone',
        message: `${at(text, 'timeZone: Europe/Londn')} unknown time zone "Europe/Londn"; use an IANA name such as "America/New_York" or "Europe/London"`,
      },
    ]);
  });

  it('reports bad business hours and a week without any', () => {
    const text = patch(DEFAULT_TEXT, 'mon: "09:00-17:30"', 'mon: 9-5', '  marketing:\n    name');
    expect(problemsOf(text)).toEqual([
      {
        path: 'teams.marketing.businessHours.mon',
        message: `${at(text, 'mon: 9-5')} expected hours like "09:00-17:30" or "09:00-12:00, 13:00-17:00", got "9-5"`,
      },
    ]);
    const closed = patch(MINIMAL, 'mon: "09:00-17:00"\n    lead: ann', 'mon: closed\n      sat:\n    lead: ann');
    expect(problemsOf(closed)).toEqual([
      {
        path: 'teams.alpha.businessHours',
        message: `${at(closed, 'businessHours:')} no working hours on any day, so SLA clocks would never run; give at least one day hours like "09:00-17:00"`,
      },
    ]);
  });

  it('reports holiday dates that are not real dates, and unknown holiday calendars', () => {
    const text = patch(patch(DEFAULT_TEXT, '2026-02-16', '2026-02-30'), 'holidays: [uk]', 'holidays: [gb, 25/12/2026]');
    expect(problemsOf(text)).toEqual([
      { path: 'holidayCalendars.us.2', message: `${at(text, '2026-02-30')} "2026-02-30" is not a real calendar date` },
      {
        path: 'teams.sdr.holidays.0',
        message: `${at(text, 'gb, 25/12')} expected a date like 2026-12-25 or a holiday calendar name (us, uk, de_berlin, in, au_nsw), got "gb"`,
      },
      { path: 'teams.sdr.holidays.1', message: `${at(text, '25/12/2026')} expected a date like 2026-12-25, got "25/12/2026"` },
    ]);
    const typo = patch(DEFAULT_TEXT, 'holidays: [de_berlin]', 'holidays: [de_berln]');
    expect(problemsOf(typo)).toEqual([
      { path: 'teams.solutions.holidays.0', message: `${at(typo, 'de_berln')} unknown holiday calendar "de_berln"; did you mean "de_berlin"?` },
    ]);
  });

  it('turns YAML syntax errors into problems with a line number', () => {
    const text = patch(MINIMAL, '  name: Test Co', '  name: [Test Co');
    expect(problemsOf(text)).toEqual([
      { path: '(file)', message: '(line 4, column 3) Flow sequence in block collection must be sufficiently indented and end with a ]' },
    ]);
  });

  it('reports a missing required section, an empty file and unknown sections', () => {
    expect(problemsOf(MINIMAL.replace(/transitions:[\s\S]*$/, ''))).toEqual([
      { path: 'transitions', message: 'required section "transitions" is missing' },
    ]);
    expect(problemsOf('')).toEqual([{ path: '(file)', message: 'the file is empty; start from the default playbook.yml' }]);
    const extra = `${MINIMAL}transition:\n  x: 1\n`;
    expect(problemsOf(extra)).toEqual([{ path: 'transition', message: `${at(extra, 'transition:\n')} unknown key "transition"; did you mean "transitions"?` }]);
  });

  it('reports several problems at once, in file order', () => {
    const text = patch(
      patch(patch(MINIMAL, 'accept: 1h', 'accept: soon'), 'manager: bob', 'manager: zed'),
      'timeZone: America/New_York',
      'timeZone: Mars/Olympus',
    ).replace('stages:', 'stagez:');
    expect(problemsOf(text)).toEqual([
      { path: 'stages', message: 'required section "stages" is missing' },
      { path: 'stagez', message: `${at(text, 'stagez:')} unknown key "stagez"; did you mean "stages"?` },
      { path: 'teams.alpha.stage', message: `${at(text, 'stage: a')} unknown stage "a"` },
      { path: 'teams.beta.stage', message: `${at(text, 'stage: b')} unknown stage "b"` },
      {
        path: 'teams.beta.timeZone',
        message: `${at(text, 'timeZone: Mars')} unknown time zone "Mars/Olympus"; use an IANA name such as "America/New_York" or "Europe/London"`,
      },
      { path: 'people.cat.manager', message: `${at(text, 'manager: zed')} unknown person "zed" (use the id or email of someone under people)` },
      { path: 'transitions.a_to_b.sla.accept', message: `${at(text, 'accept: soon')} expected a duration like "4h" or "30m", got "soon"` },
    ]);
  });

  it('points at typos in keys and at missing keys', () => {
    const text = patch(MINIMAL, 'firstTouch: 2h', 'firstTuch: 2h');
    expect(problemsOf(text)).toEqual([
      { path: 'transitions.a_to_b.sla.firstTouch', message: `${at(text, 'sla:')} "firstTouch" is required` },
      { path: 'transitions.a_to_b.sla.firstTuch', message: `${at(text, 'firstTuch')} unknown key "firstTuch"; did you mean "firstTouch"?` },
    ]);
  });

  it("checks people's extra accounts (handles): known platforms, real ids, and each account one person's", () => {
    const listed = (entries: string) => patch(DEFAULT_TEXT, '    slackUserId: U0T75V2SEH6\n', `    slackUserId: U0T75V2SEH6\n    handles:\n${entries}`, '  liam:');
    const ok = parsePlaybook(listed('      - { platform: slack, workspace: T0SECOND01, id: U0LIAM2ND }\n      - { platform: teams, id: "29:liam-guest" }\n'), 'test.yml');
    expect(ok.people.find((p) => p.id === 'liam')?.handles).toEqual([
      { platform: 'slack', workspace: 'T0SECOND01', id: 'U0LIAM2ND' },
      { platform: 'teams', id: '29:liam-guest' },
    ]);
    expect(ok.people.find((p) => p.id === 'maya')).not.toHaveProperty('handles');

    const bad = listed('      - { platform: fax, id: "1" }\n      - { platform: teams, workspace: nope, id: "29:x" }\n');
    expect(problemsOf(bad)).toEqual([
      { path: 'people.liam.handles.0.platform', message: `${at(bad, 'platform: fax')} expected platform: slack, teams or aad, with id (and optionally workspace)` },
      { path: 'people.liam.handles.1.workspace', message: `${at(bad, 'workspace: nope')} expected an id like "6f1c2a9e-3b7d-4c55-9a0e-2d8b51f0c4aa", got "nope"` },
    ]);
    const taken = listed('      - { platform: slack, workspace: T0SECOND01, id: U0UJZDE8GXD }\n      - { platform: aad, id: 14F4733F-3E7D-4BFB-87A2-EA20B2F14C94 }\n');
    expect(problemsOf(taken)).toEqual([
      { path: 'people.liam.handles.0', message: `${at(taken, '{ platform: slack, workspace: T0SECOND01')} slack id "U0UJZDE8GXD" is already used by "maya"` },
      { path: 'people.liam.handles.1', message: `${at(taken, '{ platform: aad')} aad id "14F4733F-3E7D-4BFB-87A2-EA20B2F14C94" is already used by "maya"` },
    ]);
  });

  it('checks people: chat ids, manager loops, leads and fallback owners who left', () => {
    const slack = patch(DEFAULT_TEXT, 'slackUserId: U0T75V2SEH6', 'slackUserId: U0UJZDE8GXD');
    expect(problemsOf(slack)).toEqual([
      { path: 'people.liam.slackUserId', message: `${at(slack, 'slackUserId: U0UJZDE8GXD', '  liam:')} slackUserId "U0UJZDE8GXD" is already used by "maya"` },
    ]);
    const loop = patch(DEFAULT_TEXT, 'manager: null # Head of Revenue', 'manager: sam');
    expect(problemsOf(loop)).toEqual([
      { path: 'people.rachel.manager', message: `${at(loop, 'manager: sam')} managers form a loop: rachel → sam → rachel` },
    ]);
    const inactive = patch(patch(DEFAULT_TEXT, 'lead: oliver', 'lead: tom'), 'fallbackOwner: oliver', 'fallbackOwner: tom');
    expect(problemsOf(inactive)).toEqual([
      { path: 'teams.sdr.lead', message: `${at(inactive, 'lead: tom')} "tom" is inactive, so cannot be a team lead; pick someone active` },
      {
        path: 'transitions.marketing_to_sdr.fallbackOwner',
        message: `${at(inactive, 'fallbackOwner: tom')} "tom" is inactive, so cannot be the fallback owner; pick someone active`,
      },
    ]);
    const away = patch(DEFAULT_TEXT, 'awayUntil: 2027-02-15', 'awayUntil: 15/02/2027');
    expect(problemsOf(away)).toEqual([
      { path: 'people.noah.awayUntil', message: `${at(away, 'awayUntil:')} expected a date like 2026-12-25, got "15/02/2027"` },
    ]);
  });

  it('checks routing, escalation and digest references', () => {
    const text = patch(
      patch(patch(DEFAULT_TEXT, '- person: sven\n          weight: 1', '- person: svenn\n          weight: 0'), 'chain: [function_head]', 'chain: [function_heads]'),
      'subscribers: [rachel, diego]',
      'subscribers: [rachel, diego@northwind.example, dieg0]',
    );
    expect(problemsOf(text)).toEqual([
      { path: 'transitions.marketing_to_sdr.routing.queue.1.weight', message: `${at(text, 'weight: 0')} expected a whole number of 1 or more, got 0` },
      {
        path: 'transitions.support_to_product.escalation.chain.0',
        message: `${at(text, 'function_heads')} unknown escalation step "function_heads"; did you mean "function_head"?`,
      },
      { path: 'digest.subscribers.1', message: `${at(text, 'diego@northwind')} unknown person "diego@northwind.example" (use the id or email of someone under people)` },
      { path: 'digest.subscribers.2', message: `${at(text, 'dieg0')} unknown person "dieg0"; did you mean "diego"?` },
    ]);
    const twice = patch(
      DEFAULT_TEXT,
      '- name: APAC accounts go to the APAC SDR',
      '- name: EMEA accounts go to the EMEA SDR',
    );
    expect(problemsOf(twice)).toEqual([
      {
        path: 'transitions.marketing_to_sdr.routing.rules.1.name',
        message: `${at(twice, 'name: EMEA accounts go to the EMEA SDR', '      - field: account.region')} another rule of this transition is already called "EMEA accounts go to the EMEA SDR"; rule names must be unique`,
      },
    ]);
    const both = patch(DEFAULT_TEXT, 'assignTo: priya', 'assignTo: priya\n          queue: [marcus]');
    expect(problemsOf(both)).toEqual([
      {
        path: 'transitions.sdr_to_ae.routing.rules.0',
        message: `${at(both, 'name: Enterprise accounts go to the enterprise AE')} give a rule either assignTo (one person) or queue (round-robin), not both and not neither`,
      },
    ]);
  });

  it('checks packet fields: examples, enum values, ids', () => {
    const example = patch(MINIMAL, 'example: 5', 'example: five');
    expect(problemsOf(example)).toEqual([
      { path: 'transitions.a_to_b.packet.score.example', message: `${at(example, 'example: five')} example does not fit this number field: expected a number, got "five"` },
    ]);
    const noExample = patch(MINIMAL, '        example: gold\n', '');
    expect(problemsOf(noExample)).toEqual([
      {
        path: 'transitions.a_to_b.packet.tier.example',
        message: `${at(noExample, 'tier:')} "example" is required: it is shown in the API docs and checked against the field type`,
      },
    ]);
    const noValues = patch(MINIMAL, '        values: [gold, silver]\n', '');
    expect(problemsOf(noValues)).toEqual([
      { path: 'transitions.a_to_b.packet.tier.values', message: `${at(noValues, 'tier:')} an enum field needs values, e.g. values: [A, B, C]` },
    ]);
    const badType = patch(MINIMAL, 'type: number', 'type: integer');
    expect(problemsOf(badType)).toEqual([
      {
        path: 'transitions.a_to_b.packet.score.type',
        message: `${at(badType, 'type: integer')} expected one of string, text, number, boolean, enum, date, url, email, list, got "integer"`,
      },
    ]);
    const badKey = patch(MINIMAL, '      score:', '      Score:');
    expect(problemsOf(badKey)).toEqual([
      {
        path: 'transitions.a_to_b.packet.Score',
        message: `${at(badKey, 'Score:')} "Score" is not a valid packet field id: use lower-case letters, digits and underscores, starting with a letter`,
      },
      { path: 'transitions.a_to_b.entryCriteria.0.field', message: `${at(badKey, 'field: packet.score')} no packet field "score" in this transition; did you mean "Score"?` },
    ]);
  });

  it('checks maxLength: text fields only, a whole number up to 10,000, and the example within it', () => {
    const noteField = (extra: string, type = 'text', example = 'Some notes') =>
      patch(MINIMAL, '      score:', `      note:\n        label: Note\n        type: ${type}\n        description: A note\n        example: ${example}\n${extra}      score:`);
    const raised = parsePlaybook(noteField('        maxLength: 10000\n'));
    expect(raised.transitions[0]!.packet.find((f) => f.key === 'note')).toMatchObject({ type: 'text', maxLength: 10_000 });
    expect(parsePlaybook(noteField('')).transitions[0]!.packet.find((f) => f.key === 'note')).not.toHaveProperty('maxLength');
    const tooBig = noteField('        maxLength: 20000\n');
    expect(problemsOf(tooBig)).toEqual([
      { path: 'transitions.a_to_b.packet.note.maxLength', message: `${at(tooBig, 'maxLength')} must be at most 10,000 (the most a card or form shows)` },
    ]);
    const fraction = noteField('        maxLength: 12.5\n');
    expect(problemsOf(fraction)).toEqual([{ path: 'transitions.a_to_b.packet.note.maxLength', message: `${at(fraction, 'maxLength')} expected a whole number of characters, got 12.5` }]);
    const onUrl = noteField('        maxLength: 100\n', 'url', 'https://acme.example');
    expect(problemsOf(onUrl)).toEqual([
      { path: 'transitions.a_to_b.packet.note.maxLength', message: `${at(onUrl, 'maxLength')} maxLength only applies to text fields; a url field's cap comes from its type` },
    ]);
    const longExample = noteField('        maxLength: 5\n', 'text', 'Far too long');
    expect(problemsOf(longExample)).toEqual([
      { path: 'transitions.a_to_b.packet.note.example', message: `${at(longExample, 'example: Far')} example does not fit this text field: "Note" is 12 characters long; at most 5 are allowed` },
    ]);
  });

  it('checks entry criteria against the packet and the examples', () => {
    const criterion = (yaml: string) => patch(MINIMAL, '      - field: packet.score\n        gte: 1', yaml);
    const cases: [string, string, string, string][] = [
      ['      - field: packet.scor\n        gte: 1', 'entryCriteria.0.field', 'field: packet.scor', 'no packet field "scor" in this transition; did you mean "score"?'],
      [
        '      - field: account.industry\n        equals: retail',
        'entryCriteria.0.field',
        'field: account',
        'expected packet.<field> or account.<name|domain|crmId|segment|region>, got "account.industry"',
      ],
      ['      - field: packet.tier\n        in: gold', 'entryCriteria.0.in', 'in: gold', '"in" needs a list of values like [A, B], got "gold"'],
      ['      - field: packet.tier\n        notIn: [gold, bronze]', 'entryCriteria.0.notIn.1', 'bronze', '"bronze" is not one of this field\'s values (gold, silver)'],
      ['      - field: packet.score\n        gte: lots', 'entryCriteria.0.gte', 'gte: lots', '"gte" needs a number or a date like 2026-01-31, got "lots"'],
      ['      - field: packet.tier\n        lt: 3', 'entryCriteria.0.lt', 'lt: 3', '"lt" compares numbers or dates, but "tier" is an enum field'],
      ['      - field: packet.score\n        lte: 2026-01-01', 'entryCriteria.0.lte', 'lte:', 'expected a number to compare with, got "2026-01-01"'],
      ['      - field: packet.score\n        matches: "^5"', 'entryCriteria.0.matches', 'matches:', '"matches" works on text, but "score" is a number field'],
      [
        '      - field: account.domain\n        matches: "([a-z"',
        'entryCriteria.0.matches',
        'matches:',
        'not a valid regular expression: Invalid regular expression: /([a-z/: Unterminated character class',
      ],
      ['      - field: packet.score\n        equals: "5"', 'entryCriteria.0.equals', 'equals:', 'expected a number for a number field, got "5"'],
      ['      - field: packet.score\n        gte: 1\n        lte: 9', 'entryCriteria.0', 'field: packet.score', 'use one check per criterion, found gte and lte; split it into separate criteria'],
      [
        '      - field: packet.score',
        'entryCriteria.0',
        'field: packet.score',
        'say what to check: add one of equals, notEquals, in, notIn, exists, gte, lte, gt, lt, matches',
      ],
      ['      - field: packet.score\n        gt: 5', 'entryCriteria.0', 'field: packet.score', 'the example of "score" (5) does not meet this criterion (must be greater than 5); fix the example or the criterion'],
    ];
    for (const [yaml, path, needle, message] of cases) {
      const text = criterion(yaml);
      expect({ yaml, problems: problemsOf(text) }).toEqual({
        yaml,
        problems: [{ path: `transitions.a_to_b.${path}`, message: `${at(text, needle, 'entryCriteria:')} ${message}` }],
      });
    }
  });

  it('checks nudges and reject reasons', () => {
    const nudges = patch(MINIMAL, '    sla:', '    nudgesAt: [0.8, 0.5, 1.5]\n    sla:');
    expect(problemsOf(nudges)).toEqual([
      { path: 'transitions.a_to_b.nudgesAt.1', message: `${at(nudges, '0.5, 1.5')} nudge points must go up: 0.5 comes after 0.8` },
      { path: 'transitions.a_to_b.nudgesAt.2', message: `${at(nudges, '1.5]')} must be a fraction of the SLA between 0 and 1 (0.5 = half-way), got 1.5` },
    ]);
    const code = patch(MINIMAL, 'nope: Not for us', 'Nope!: Not for us');
    expect(problemsOf(code)).toEqual([
      {
        path: 'transitions.a_to_b.rejectReasons.Nope!',
        message: `${at(code, 'Nope!')} "Nope!" is not a valid reason code: use lower-case letters, digits and underscores`,
      },
    ]);
    const none = patch(MINIMAL, '    rejectReasons:\n      nope: Not for us\n', '    rejectReasons: {}\n');
    expect(problemsOf(none)).toEqual([
      { path: 'transitions.a_to_b.rejectReasons', message: `${at(none, 'rejectReasons')} list at least one reason, so a receiver can say why they reject` },
    ]);
  });
});

describe('loadPlaybook', () => {
  it('names a missing file', async () => {
    await expect(loadPlaybook('no/such/playbook.yml')).rejects.toMatchObject({
      source: 'no/such/playbook.yml',
      details: [{ path: '(file)', message: 'file not found: no/such/playbook.yml (start from the default playbook.yml at the repository root)' }],
    });
    await expect(loadPlaybook('no/such/playbook.yml')).rejects.toBeInstanceOf(PlaybookError);
  });
});
