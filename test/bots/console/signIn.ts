/**
 * Signing a test into the console the way a person does, over real HTTP: ask the running Baton for
 * a single-use link with the API token (what `npm run console:link` does), then open it. Opening it
 * answers a session cookie and a redirect to /console; the cookie is what later requests send.
 */
import type { BrowserContext } from 'playwright-core';
import { TEST_TOKEN, type TestBaton } from '../../helpers/baton.js';

/** A fresh single-use sign-in link from POST /console/login-link (bearer API token). */
export async function consoleLoginLink(baton: Pick<TestBaton, 'url'>, token = TEST_TOKEN): Promise<string> {
  const res = await fetch(`${baton.url}/console/login-link`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { link?: string; error?: { message: string } };
  if (res.status !== 201 || !body.link) throw new Error(`POST /console/login-link answered ${res.status}: ${JSON.stringify(body)}`);
  return body.link;
}

/** Opens a fresh link without following the redirect; returns the `Cookie` header value (`baton_console=…`). */
export async function signIn(baton: Pick<TestBaton, 'url'>): Promise<string> {
  const link = await consoleLoginLink(baton);
  const res = await fetch(link, { redirect: 'manual' });
  const setCookie = res.headers.get('set-cookie');
  if (res.status !== 303 || !setCookie) throw new Error(`Opening the sign-in link answered ${res.status} without a session cookie`);
  return setCookie.split(';')[0]!;
}

/** Signs a real browser in: it opens a fresh link, as a person clicks the one Baton printed. */
export async function signInBrowser(baton: Pick<TestBaton, 'url'>, context: BrowserContext): Promise<void> {
  const page = context.pages()[0] ?? (await context.newPage());
  const link = await consoleLoginLink(baton);
  await page.goto(link);
  const url = new URL(page.url());
  if (url.pathname !== '/console' || url.search.includes('token')) throw new Error(`The sign-in link led to ${page.url()}, not the console`);
  const cookies = await context.cookies(baton.url + '/console');
  if (!cookies.some((c) => c.name === 'baton_console')) throw new Error('The browser has no console session cookie after opening the sign-in link');
}
