/**
 * Offline replacement for `prisma migrate dev --create-only` and a drift check.
 *
 *   npx tsx scripts/migrations.ts create <name>   write prisma/migrations/<yyyyMMddHHmmss>_<name>/migration.sql
 *   npx tsx scripts/migrations.ts check           exit 1 if schema.prisma and the migrations differ
 *
 * The Prisma CLI would download its native schema-engine binary, which is impossible offline. The same
 * engine ships compiled to WebAssembly in @prisma/schema-engine-wasm (pinned to the CLI's engine
 * version); it talks to the database through a Prisma driver adapter. We give it in-memory PGlite
 * databases (main and shadow), so nothing here touches a real database or the network.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
// Not a direct dependency: the copy hoisted from @prisma/adapter-pg (same 7.10.x line as the engine).
import { bindMigrationAwareSqlAdapterFactory, DriverAdapterError, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { CreateMigrationOutput, MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { applyMigrations, projectRoot, readMigrations } from '../src/store/migrate.js';
import type { SqlClient } from '../src/store/sqlClient.js';

const root = projectRoot(path.dirname(fileURLToPath(import.meta.url)));
// Overridable with --schema / --migrations (relative to the current directory), e.g. to try a schema
// change on a copy without touching the committed files.
let schemaPath = path.join(root, 'prisma', 'schema.prisma');
let migrationsDir = path.join(root, 'prisma', 'migrations');
const LOCKFILE = 'migration_lock.toml';
const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

// ---------------------------------------------------------------------------------------------------
// Loading the wasm engine

/**
 * The package's entry point does `import * as wasm from "./schema_engine_bg.wasm"`, which Node 20 only
 * accepts with --experimental-wasm-modules. Instantiate the .wasm ourselves and hand it to the JS glue
 * (what that entry point does: set the instance, then run the start function).
 */
// The lib settings (ES2023, no DOM) and @types/node 20 do not declare WebAssembly; type what we use.
const wasmApi = (globalThis as unknown as {
  WebAssembly: {
    instantiate(
      bytes: Uint8Array,
      imports: Record<string, Record<string, unknown>>,
    ): Promise<{ instance: { exports: Record<string, unknown> } }>;
  };
}).WebAssembly;

class PanicRegistry {
  message = '';
  set_message(msg: string): void {
    this.message = `RuntimeError: ${msg}`;
  }
}

let engineModule: Promise<typeof engineGlue> | undefined;
function loadEngineModule(): Promise<typeof engineGlue> {
  engineModule ??= (async () => {
    // The wasm panic hook reports through this global (the Prisma CLI installs the same object).
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown };
    g.PRISMA_WASM_PANIC_REGISTRY ??= new PanicRegistry();
    const glueFile = fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bytes = await readFile(path.join(path.dirname(glueFile), 'schema_engine_bg.wasm'));
    const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': { ...engineGlue } });
    engineGlue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return engineGlue;
  })();
  return engineModule;
}

// ---------------------------------------------------------------------------------------------------
// PGlite adapter factory with two fixes

/**
 * pglite-prisma-adapter 0.7.2 has two flaws that matter for migrations:
 * - `executeScript` does not await `PGlite.exec`, so a migration that fails on the shadow database is
 *   reported as applied and the error surfaces later as an unhandled rejection (fatal in Node 20);
 * - `connectToShadowDb` creates a PGlite that nobody ever closes.
 * Wrap the adapters to await scripts and to close every shadow database we created.
 */
class PGliteMigrationFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName: string;
  private readonly inner: PrismaPGlite;
  private readonly shadows: PGlite[] = [];

  constructor(private readonly main: PGlite) {
    this.inner = new PrismaPGlite(main);
    this.adapterName = this.inner.adapterName;
  }

  connect(): Promise<SqlDriverAdapter> {
    return this.fixed(this.main);
  }

  connectToShadowDb(): Promise<SqlDriverAdapter> {
    const shadow = new PGlite(); // in memory
    this.shadows.push(shadow);
    return this.fixed(shadow);
  }

  async close(): Promise<void> {
    for (const db of this.shadows.splice(0)) if (!db.closed) await db.close();
  }

  private async fixed(db: PGlite): Promise<SqlDriverAdapter> {
    const adapter = await new PrismaPGlite(db).connect();
    adapter.executeScript = async (script: string) => {
      try {
        await db.exec(script);
      } catch (err) {
        // Same shape the adapter uses for query errors, so the engine prints the PostgreSQL message.
        const e = err as { code?: string; severity?: string; message: string; detail?: string; column?: string; hint?: string };
        if (typeof e.code === 'string') {
          throw new DriverAdapterError({
            kind: 'postgres',
            code: e.code,
            severity: e.severity ?? 'ERROR',
            message: e.message,
            detail: e.detail,
            column: e.column,
            hint: e.hint,
          });
        }
        throw err;
      }
    };
    return adapter;
  }
}

interface Engine {
  engine: SchemaEngine;
  close(): Promise<void>;
}

async function startEngine(schema: string): Promise<Engine> {
  const glue = await loadEngineModule();
  const main = new PGlite();
  const factory = new PGliteMigrationFactory(main);
  const debug = process.env.DEBUG_SCHEMA_ENGINE ? (msg: string) => console.error(msg) : () => {};
  const engine = await glue.SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    debug,
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  return {
    engine,
    async close() {
      engine.free();
      await factory.close();
      await main.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The migrations directory as the engine wants it (what the CLI's loader builds)

async function loadMigrationList(): Promise<MigrationList> {
  const lockPath = path.join(migrationsDir, LOCKFILE);
  const migrations = existsSync(migrationsDir) ? await readMigrations(migrationsDir) : [];
  return {
    baseDir: migrationsDir,
    lockfile: { path: LOCKFILE, content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: migrations.map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.script } },
    })),
  };
}

/** Byte for byte what `prisma migrate dev` writes. */
function lockfileContent(provider: string): string {
  return `# Please do not edit this file manually
# It should be added in your version-control system (e.g., Git)
provider = "${provider}"
`;
}

// ---------------------------------------------------------------------------------------------------
// Planning the next migration

/**
 * What `prisma migrate dev --create-only` computes, run on in-memory databases:
 *   1. applyMigrations: apply the committed migrations to the (empty) dev database;
 *   2. devDiagnostic: check the history and, on a shadow database, the schema the migrations produce;
 *   3. createMigration: diff that schema against schema.prisma and render the script (with the
 *      destructive-change warnings header `migrate dev` writes) and the <yyyyMMddHHmmss>_<name> name.
 * Step 2 is not optional: in the wasm build, createMigration cannot open a shadow database itself
 * ("PostgreSQL shadow DB must be provided through an external factory") and only succeeds because
 * devDiagnostic left the migrations' schema in the engine's cache, exactly as in the CLI's flow.
 */
async function planMigration(name: string): Promise<{ migrationsList: MigrationList; out: CreateMigrationOutput }> {
  const schema = await readFile(schemaPath, 'utf8');
  const migrationsList = await loadMigrationList();
  const { engine, close } = await startEngine(schema);
  try {
    await engine.applyMigrations({ migrationsList, filters: NO_FILTER });
    const diagnostic = await engine.devDiagnostic({ migrationsList, filters: NO_FILTER });
    if (diagnostic.action.tag === 'reset') {
      throw new Error(`the migration history is inconsistent: ${diagnostic.action.reason}`);
    }
    const out = await engine.createMigration({
      draft: false,
      migrationName: name,
      migrationsList,
      schema: { files: [{ path: schemaPath, content: schema }] },
      filters: NO_FILTER,
    });
    return { migrationsList, out };
  } finally {
    await close();
  }
}

/**
 * The CLI's name normalisation (@sindresorhus/slugify with "_" as separator, cut at 200 characters):
 * "Add owner index" and "addOwnerIndex" both become "add_owner_index". Its table of special
 * transliterations (ß → ss …) is left out; diacritics are stripped like it does.
 */
function migrationSlug(input: string): string {
  const s = input
    .replace(/&/g, ' and ')
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .normalize()
    // decamelize
    .replace(/([A-Z]{2,})(\d+)/g, '$1 $2')
    .replace(/([a-z\d]+)([A-Z]{2,})/g, '$1 $2')
    .replace(/([a-z\d])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-rt-z\d]+)/g, '$1 $2')
    .toLowerCase()
    .replace(/([a-zA-Z\d]+)'([ts])(\s|$)/g, '$1$2$3')
    .replace(/[^a-z\d]+/g, '_')
    .replace(/\\/g, '')
    .replace(/_{2,}/g, '_')
    .replace(/^_|_$/g, '');
  return s.substring(0, 200);
}

// ---------------------------------------------------------------------------------------------------
// Commands

async function create(rawName: string | undefined): Promise<number> {
  const name = migrationSlug(rawName ?? '');
  if (!name) {
    console.error('usage: tsx scripts/migrations.ts create <name>   (e.g. npm run db:migration -- add_owner_index)');
    return 2;
  }
  const { migrationsList, out } = await planMigration(name);
  const count = migrationsList.migrationDirectories.length;
  if (out.migrationScript === null) {
    console.log(`${path.relative(root, schemaPath)} already matches the ${count} committed migration(s): nothing written`);
    return 0;
  }
  const dir = path.join(migrationsDir, out.generatedMigrationName);
  if (existsSync(dir)) throw new Error(`The migration directory already exists at ${dir}`);
  const file = path.join(dir, `migration.${out.extension}`);
  await mkdir(dir, { recursive: true });
  await writeFile(file, out.migrationScript, 'utf8');
  await writeFile(path.join(migrationsDir, LOCKFILE), lockfileContent(out.connectorType), 'utf8');
  console.log(`wrote ${path.relative(root, file)}`);
  return 0;
}

async function check(): Promise<number> {
  const rel = path.relative(root, migrationsDir);
  const files = existsSync(migrationsDir) ? await readMigrations(migrationsDir) : [];
  if (files.length === 0) {
    console.error(`no migrations in ${rel}; create the first one with: npm run db:migration -- init`);
    return 1;
  }
  const lock = existsSync(path.join(migrationsDir, LOCKFILE)) ? await readFile(path.join(migrationsDir, LOCKFILE), 'utf8') : '';
  if (!/^provider\s*=\s*"postgresql"\s*$/m.test(lock)) {
    console.error(`${rel}/${LOCKFILE} is missing or does not say provider = "postgresql"`);
    return 1;
  }

  // 1. Each committed file applies, in order, on a fresh database, through the runner the
  //    application itself uses at start-up.
  const db = new PGlite();
  try {
    await applyMigrations(pgliteSqlClient(db), { dir: migrationsDir });
  } catch (err) {
    console.error(`a committed migration does not apply on a fresh database: ${(err as Error).message}`);
    return 1;
  } finally {
    await db.close();
  }

  // 2. Nothing left to migrate: the migrations produce exactly what schema.prisma describes.
  const { out } = await planMigration('drift');
  if (out.migrationScript !== null) {
    console.error(`${path.relative(root, schemaPath)} and ${rel} have drifted. The migration that would be needed:\n`);
    console.error(out.migrationScript);
    console.error('Create it with: npm run db:migration -- <name>');
    return 1;
  }
  console.log(`migrations match schema.prisma (${files.length} migrations)`);
  return 0;
}

function pgliteSqlClient(db: PGlite): SqlClient {
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Omit<SqlClient, 'transaction'> => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await q.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  const client: SqlClient = {
    ...wrap(db),
    transaction: (fn) =>
      db.transaction((tx) => {
        const inner: SqlClient = { ...wrap(tx), transaction: (f) => f(inner) };
        return fn(inner);
      }),
  };
  return client;
}

const USAGE = 'usage: tsx scripts/migrations.ts create <name> | check  [--schema <file>] [--migrations <dir>]';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { schema: { type: 'string' }, migrations: { type: 'string' } },
  });
  if (values.schema) schemaPath = path.resolve(values.schema);
  if (values.migrations) migrationsDir = path.resolve(values.migrations);
  const [cmd, name] = positionals;
  switch (cmd) {
    case 'create':
      return create(name);
    case 'check':
      return check();
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  },
);
