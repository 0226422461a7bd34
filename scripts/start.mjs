// `npm start`: reads .env if there is one, then runs dist/bots/main.js in this process, building first only when dist/ is missing or
// older than the sources (a first start, or after a `git pull`). `npm install` builds already
// (prepare), so a normal start does no compilation: reading mtimes takes a few milliseconds.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, root, stampPath } from './build.mjs';

const SOURCES = ['src', 'bots', 'blocks'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The newest modification time of the files the build reads, in ms. */
function newestSourceMtime() {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (/\.(ts|mts|cts|json|js|mjs)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCES) if (existsSync(join(root, d))) visit(join(root, d));
  for (const f of CONFIGS) if (existsSync(join(root, f))) newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  return newest;
}

function isStale() {
  if (!existsSync(stampPath) || !existsSync(join(root, 'dist', 'bots', 'main.js'))) return 'dist/ has not been built yet';
  if (newestSourceMtime() > statSync(stampPath).mtimeMs) return 'the sources changed since the last build';
  return undefined;
}

// A `.env` beside package.json (what `npx baton init` writes; see .env.example), or the file
// BATON_ENV_FILE names, is read first; a variable already set in the environment wins over the file.
const envFile = process.env.BATON_ENV_FILE || join(root, '.env');
if (existsSync(envFile)) {
  process.loadEnvFile(envFile);
  console.error(`Read settings from ${envFile} (variables already set in the environment win).`);
}

const why = isStale();
if (why) {
  const tscMissing = !existsSync(join(root, 'node_modules', 'typescript'));
  if (tscMissing && existsSync(join(root, 'dist', 'bots', 'main.js'))) {
    // A production install ships dist/ and no compiler: run what is there.
  } else {
    console.error(`Building Baton first (${why}); this happens once…`);
    if (!build()) process.exit(1);
  }
}
await import(pathToFileURL(join(root, 'dist', 'bots', 'main.js')).href);
