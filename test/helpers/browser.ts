/**
 * The Chromium the browser tests drive. By default the one that `npm install` brings inside the
 * @sparticuz/chromium package (a headless-shell build shipped in the tarball, unpacked to the
 * temp directory on first use; no download at install or run time), so `npm install` then
 * `npm test` runs the console's browser tests on a machine with no browser installed.
 * BATON_TEST_CHROMIUM=/path/to/chromium runs them in another build (Debian's, a developer's own).
 * The system Chromium is never looked for: what passes here passes on a fresh machine.
 */
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export interface TestBrowser {
  context: BrowserContext;
  executablePath: string;
  source: 'bundled' | 'BATON_TEST_CHROMIUM';
}

/** Flags for a headless browser in a test: no sandbox (root in CI), no network side traffic. */
const QUIET = ['--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export async function launchTestBrowser(profileDir: string, viewport: { width: number; height: number }): Promise<TestBrowser> {
  const own = process.env.BATON_TEST_CHROMIUM;
  let executablePath: string;
  let args: string[];
  let source: TestBrowser['source'];
  if (own) {
    if (!existsSync(own)) throw new Error(`BATON_TEST_CHROMIUM=${own}: no such file. Unset it to use the Chromium that npm install brings.`);
    executablePath = own;
    args = ['--no-sandbox', '--disable-gpu', ...QUIET];
    source = 'BATON_TEST_CHROMIUM';
  } else {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new Error(
        `The Chromium that npm install brings (@sparticuz/chromium) runs on Linux x64 only, and this is ${process.platform} ${process.arch}: ` +
          'set BATON_TEST_CHROMIUM to a Chromium or Chrome executable to run the console\'s browser tests.',
      );
    }
    const bundled = (await import('@sparticuz/chromium')).default;
    executablePath = await bundled.executablePath();
    args = [...bundled.args, ...QUIET];
    source = 'bundled';
  }
  const context = await chromium.launchPersistentContext(profileDir, { executablePath, headless: true, args, viewport });
  // Written down so CI can check which browser a run used (.ci/run asserts the bundled one).
  const artifacts = join(process.cwd(), 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, 'browser.json'), JSON.stringify({ source, executablePath, version: context.browser()?.version() ?? null }) + '\n');
  return { context, executablePath, source };
}
