#!/usr/bin/env node
// `npx baton <command>` (package.json "bin") and `npm run init`. Plain JavaScript so it runs right
// after `npm install`, with no build step: the commands themselves are TypeScript (scripts/baton/)
// because they check playbooks with Baton's own loader (src/playbook/load.ts), so they run through
// tsx, a dev dependency that a plain `npm install` brings.
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  console.error(
    'The baton command needs the dev dependencies (it runs TypeScript through tsx), and this install has none (npm install --omit=dev).\n' +
      'Run `npm install` in the Baton directory, then try again.',
  );
  process.exit(1);
}
register();
const { main } = await import('./baton/cli.ts');
process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
});
