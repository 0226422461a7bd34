// Generates the Prisma client during `npm install` with no network access.
// `prisma generate` does not need the schema engine, but the CLI insists on finding one and would
// try to download it; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file satisfies it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('node_modules/prisma')) process.exit(0); // production install without dev deps: dist already has the client
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true', CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
const r = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate', '--schema', 'prisma/schema.prisma'], { env, stdio: 'inherit' });
process.exit(r.status ?? 1);
