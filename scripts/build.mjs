// Compiles src/, bots/ and blocks/ to dist/ (tsc -p tsconfig.build.json) and, on success only,
// writes dist/.build-stamp: `npm start` (scripts/start.mjs) compares it with the sources' newest
// change to decide whether to build again. Runs at `npm install` (prepare) and on a first start.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const stampPath = join(root, 'dist', '.build-stamp');
const tscPath = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Builds; returns true on success. `tsc` absent (a production install): false with a message. */
export function build() {
  if (!existsSync(tscPath)) {
    console.error('Cannot build Baton: TypeScript is not installed (an install with --omit=dev). Build where dev dependencies are installed, then copy dist/.');
    return false;
  }
  const started = Date.now();
  const r = spawnSync(process.execPath, [tscPath, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('Building Baton failed (the TypeScript errors are above); dist/ was not marked as built.');
    return false;
  }
  mkdirSync(dirname(stampPath), { recursive: true });
  writeFileSync(stampPath, JSON.stringify({ builtAt: new Date().toISOString(), ms: Date.now() - started }) + '\n');
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // During `npm install` of a production image (no dev dependencies) there is nothing to build.
  if (process.argv.includes('--if-possible') && !existsSync(tscPath)) process.exit(0);
  process.exit(build() ? 0 : 1);
}
