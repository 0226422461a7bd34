/**
 * The console in a real browser: Chromium driven by playwright-core, against a real
 * Baton (console plugin only, no Slack or Teams credentials). Acting as the owner, a click on the
 * Slack card's Accept goes through the core and both cards change; the Teams card (rendered by
 * the official Adaptive Cards renderer) takes a reject with its own form; a stranger's click is
 * refused with the core's message. A screenshot is kept in test-artifacts/console.png.
 *
 * The Chromium is the one `npm install` brings (@sparticuz/chromium, see test/helpers/browser.ts),
 * so these run on a fresh machine with no browser installed; BATON_TEST_CHROMIUM picks another.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { jest } from '@jest/globals';
import { consolePlugin } from '../../../bots/console/plugin.js';
import { exampleRequest } from '../../../src/playbook/packet.js';
import { startTestBaton, type TestBaton } from '../../helpers/baton.js';
import { launchTestBrowser } from '../../helpers/browser.js';
import { signInBrowser } from './signIn.js';

jest.setTimeout(120_000);

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

describe('the console in Chromium', () => {
  let baton: TestBaton;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let page: Page;

  beforeAll(async () => {
    baton = await startTestBaton({ plugins: [consolePlugin] });
    profile = mkdtempSync(join(tmpdir(), 'baton-chromium-'));
    ({ context } = await launchTestBrowser(profile, { width: 1500, height: 1100 }));
    // As a person does: open a single-use sign-in link; the session cookie then carries every page.
    await signInBrowser(baton, context);
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await baton?.stop();
  });

  async function newHandoff(transition = 'sdr_to_ae', account = 'Harbor Robotics'): Promise<{ id: number; ownerId: string; ownerName: string }> {
    const t = baton.service.transition(transition)!;
    const body = { ...exampleRequest(t, baton.playbook), account: { name: `${account} ${Date.now()}` } };
    const r = await baton.api('POST', '/api/handoffs', body);
    expect(r.status).toBe(201);
    return { id: r.json.id, ownerId: r.json.owner.id, ownerName: r.json.owner.name };
  }

  const slack = () => page.locator('[data-testid=slack-card]');
  const teams = () => page.locator('[data-testid=teams-card]');

  it('accepting as the owner from the Slack card changes both the Slack card and the Teams card', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const h = await newHandoff();
    await page.goto(`${baton.url}/console#/handoff/${h.id}?as=${h.ownerId}`);

    // Before: awaiting acceptance, with Accept on both cards (the Teams one drawn for the owner).
    await slack().locator('button[data-action-id="handoff_accept"]').waitFor();
    await expect(slack().innerText()).resolves.toContain(`Waiting for @${h.ownerName} to accept`);
    await teams().locator('button', { hasText: /^Accept$/ }).waitFor();
    await expect(teams().innerText()).resolves.toContain(`Awaiting acceptance by ${h.ownerName}`);
    await expect(page.locator('#d-roles').innerText()).resolves.toContain('the owner');
    // The list shows it, and the page names the pending SLA timers from the jobs port.
    await expect(page.locator(`#handoff-list li[data-id="${h.id}"]`).innerText()).resolves.toMatch(/awaiting acceptance/i);
    // In words, not step ids (accept:nudge:0.8, accept:escalate:1), and every time in one labelled zone.
    await page.locator('#timers tbody tr', { hasText: 'the accept SLA breached: escalation step 1' }).waitFor();
    await expect(page.locator('#timers tbody').innerText()).resolves.toContain('nudge at 80 % of the accept SLA');
    await expect(page.locator('#timers tbody').innerText()).resolves.not.toMatch(/accept:(nudge|escalate)/);
    const owner = baton.playbook.people.find((p) => p.id === h.ownerId)!;
    await expect(page.locator('#zone-note').innerText()).resolves.toBe(`Times in ${owner.timeZone} — ${h.ownerName}'s zone`);
    await expect(teams().innerText()).resolves.not.toContain('{{');

    await slack().locator('button[data-action-id="handoff_accept"]').click();

    // After: the Slack card has no Accept/Reject/Reassign, its status line says who accepted;
    // the Teams card lost its Accept button and says Accepted.
    // (Locators, not page.waitForFunction: the console's CSP rightly forbids eval.)
    await slack().locator('button[data-action-id="handoff_accept"]').waitFor({ state: 'detached' });
    await page.locator('[data-testid=slack-card]', { hasText: 'Accepted' }).waitFor();
    const slackText = await slack().innerText();
    expect(slackText).toContain(`Accepted by @${h.ownerName}`);
    await expect(slack().locator('button[data-action-id="handoff_reject"]').count()).resolves.toBe(0);
    await expect(slack().locator('button[data-action-id="handoff_touch"]').count()).resolves.toBe(1);
    await page.locator('[data-testid=teams-card]', { hasText: 'Accepted by' }).waitFor();
    await expect(teams().locator('button', { hasText: /^Accept$/ }).count()).resolves.toBe(0);
    await expect(teams().locator('button', { hasText: 'Log first touch' }).count()).resolves.toBe(1);
    // The timeline shows the audit event, and the new phase's timers replaced the old ones.
    await page.locator('#timeline li', { hasText: `accepted by ${h.ownerName}` }).waitFor();
    await page.locator('#timers tbody tr', { hasText: 'of the first-touch SLA' }).first().waitFor();
    await expect(page.locator('#timeline').innerText()).resolves.toContain('Awaiting acceptance → Accepted');
    // The switch: the playbook's zone for the whole screen.
    await page.locator('#zone').selectOption('organization');
    await expect(page.locator('#zone-note').innerText()).resolves.toBe(`Times in ${baton.playbook.organization.timeZone} — the playbook's zone (${baton.playbook.organization.name})`);
    await page.locator('#zone').selectOption('person');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#d-title').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'console.png'))).toBe(true);

    // The click went through the core: the state and the audit trail say so.
    const view = await baton.service.get(h.id);
    expect(view.status).toBe('accepted');
    expect(view.events?.at(-1)).toMatchObject({ type: 'accepted', actor: { id: h.ownerId } });
    expect(errors).toEqual([]);
  });

  it('rejects from the Teams card form (Adaptive Cards renderer, Action.Execute with inputs)', async () => {
    const h = await newHandoff('sdr_to_ae', 'Copperleaf Health');
    await page.goto(`${baton.url}/console#/handoff/${h.id}?as=${h.ownerId}`);
    await page.reload();
    await teams().locator('button', { hasText: /^Reject$/ }).waitFor();
    await teams().locator('button', { hasText: /^Reject$/ }).click();
    // The ShowCard form: a reason and a note, both required by the card.
    await teams().locator('select').first().selectOption('meeting_not_confirmed');
    await teams().locator('textarea').first().fill('The meeting was never confirmed by the buyer.');
    await teams().locator('button', { hasText: 'Reject handoff' }).click();

    await page.locator('[data-testid=teams-card]', { hasText: 'Rejected by' }).waitFor();
    await page.locator('[data-testid=slack-card]', { hasText: 'Rejected' }).waitFor();
    await expect(slack().innerText()).resolves.toContain('The meeting was never confirmed by the buyer.');
    const view = await baton.service.get(h.id);
    expect(view.status).toBe('rejected');
    expect(view.events?.at(-1)).toMatchObject({ type: 'rejected', reasonCode: 'meeting_not_confirmed', actor: { id: h.ownerId } });
  });

  it('a person who may not act gets the core\'s refusal naming who can, and nothing changes', async () => {
    const h = await newHandoff('sdr_to_ae', 'Driftwood Studios');
    // Someone from another team, not a lead of the owner, not an admin.
    const stranger = baton.playbook.people.find((p) => p.teamId === 'support' && p.active && !baton.service.directory.isAdmin(p.id))!;
    await page.goto(`${baton.url}/console#/handoff/${h.id}?as=${stranger.id}`);
    await page.reload();
    await slack().locator('button[data-action-id="handoff_accept"]').waitFor();
    // Their Teams card is the read-only one: no Accept for them.
    await page.locator('[data-testid=teams-card]', { hasText: 'Awaiting acceptance' }).waitFor();
    await expect(teams().locator('button', { hasText: /^Accept$/ }).count()).resolves.toBe(0);
    await slack().locator('button[data-action-id="handoff_accept"]').click();
    await page.locator('#toast.error').waitFor();
    await expect(page.locator('#toast').innerText()).resolves.toContain(`${h.ownerName} (owner)`);
    expect((await baton.service.get(h.id)).status).toBe('routed');
  });

  it('fits at 1280 and 390 px: the timers table stays inside its panel and a toast covers nothing', async () => {
    const h = await newHandoff('sdr_to_ae', 'Northwind Logistics');
    // Reassigned with a reason, so both cards carry the reassign line.
    const moved = await baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'reassign', actor: h.ownerId, to: 'queue', note: 'Out of office until Monday' });
    expect(moved.status).toBe(200);
    const stranger = baton.playbook.people.find((p) => p.teamId === 'support' && p.active && !baton.service.directory.isAdmin(p.id))!;
    mkdirSync(ARTIFACTS, { recursive: true });
    type Box = { x: number; y: number; width: number; height: number } | null;
    const measured: { width: number; table: { scrollWidth: number; containerWidth: number }; toastBox: Box; titleBox: Box }[] = [];
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${baton.url}/console#/handoff/${h.id}?as=${stranger.id}`);
      await page.reload();
      await page.locator('#timers tbody tr').first().waitFor();
      // A toast: the stranger's click on the shared Slack card is refused.
      await slack().locator('button[data-action-id="handoff_accept"]').click();
      await page.locator('#toast.error').waitFor();
      await page.locator('#d-title').scrollIntoViewIfNeeded();
      // The console's own words carry no ids or enum values (step ids, status or transition keys).
      for (const part of ['#handoff-list', '#d-meta', '#d-roles', '#zone-note', '#act-bar', '#timeline', '#timers']) {
        const text = await page.locator(part).innerText();
        expect({ part, ids: text.match(/\b[a-z]+(?:_[a-z]+)+\b|\b[a-z_]+:[a-z_]+:\S+/g) }).toEqual({ part, ids: null });
      }
      const file = join(ARTIFACTS, `console-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      expect(existsSync(file)).toBe(true);

      const table = await page.locator('#timers').evaluate((t) => ({ scrollWidth: t.scrollWidth, containerWidth: t.parentElement!.clientWidth }));
      const toastBox = await page.locator('#toast').boundingBox();
      const titleBox = await page.locator('#d-title').boundingBox();
      measured.push({ width, table, toastBox, titleBox });
    }
    await page.setViewportSize({ width: 1500, height: 1100 });
    // Checked after both screenshots are taken, so a failure still leaves both in the artefacts.
    for (const m of measured) {
      expect({ width: m.width, fits: m.table.scrollWidth <= m.table.containerWidth }).toEqual({ width: m.width, fits: true });
      expect(m.toastBox).not.toBeNull();
      expect(m.titleBox).not.toBeNull();
      const t = m.toastBox!;
      const h1 = m.titleBox!;
      const intersects = t.x < h1.x + h1.width && h1.x < t.x + t.width && t.y < h1.y + h1.height && h1.y < t.y + t.height;
      expect({ width: m.width, toastCoversTitle: intersects }).toEqual({ width: m.width, toastCoversTitle: false });
    }
  });

  it('Sign out ends the session: the page goes to the sign-in page and /console asks to sign in again', async () => {
    await page.goto(`${baton.url}/console`);
    await page.locator('#sign-out').click();
    await page.waitForURL('**/console/login?signed-out');
    await expect(page.locator('body').innerText()).resolves.toContain('You signed out');
    await page.goto(`${baton.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    expect((await context!.cookies(baton.url + '/console')).some((c) => c.name === 'baton_console')).toBe(false);
  });
});
