/**
 * `npm run teams:package`: the Teams app package to upload (Teams admin center, or Apps →
 * Manage your apps → Upload an app). Fills bots/teams/manifest.json with this deployment's
 * MICROSOFT_APP_ID and BATON_PUBLIC_URL and zips it with the two icons at the root of
 * dist/teams-app.zip. A tiny zip writer on node:zlib keeps it free of dependencies.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from './teams-icons.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TEAMS_APP_DIR = join(ROOT, 'bots', 'teams');
export const PACKAGE_FILES = ['manifest.json', 'color.png', 'outline.png'] as const;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PackageError extends Error {}

export interface PackageInput {
  appId: string | undefined;
  publicUrl: string | undefined;
  dir?: string;
}

/** The filled manifest and the zip bytes. Throws PackageError naming what to set. */
export function buildTeamsPackage(input: PackageInput): { manifest: Record<string, unknown>; zip: Buffer } {
  const problems: string[] = [];
  const appId = input.appId?.trim();
  if (!appId) problems.push('MICROSOFT_APP_ID is not set: use the Microsoft App ID of your Azure Bot (Azure portal → your bot → Configuration).');
  else if (!GUID.test(appId)) problems.push(`MICROSOFT_APP_ID must be a GUID like 00000000-0000-0000-0000-000000000000 (got "${appId}").`);
  const publicUrl = input.publicUrl?.trim().replace(/\/+$/, '');
  let host = '';
  if (!publicUrl) problems.push('BATON_PUBLIC_URL is not set: the https address Teams reaches Baton at (its messaging endpoint is <BATON_PUBLIC_URL>/api/messages).');
  else {
    try {
      const u = new URL(publicUrl);
      if (u.protocol !== 'https:') problems.push(`BATON_PUBLIC_URL must be an https URL (Teams only calls https endpoints); got "${publicUrl}".`);
      host = u.host;
    } catch {
      problems.push(`BATON_PUBLIC_URL is not a URL: "${publicUrl}".`);
    }
  }
  if (problems.length) throw new PackageError(`Cannot build the Teams app package:\n${problems.map((p) => `  - ${p}`).join('\n')}`);

  const dir = input.dir ?? TEAMS_APP_DIR;
  const values: Record<string, string> = { MICROSOFT_APP_ID: appId!, BATON_PUBLIC_URL: publicUrl!, BATON_PUBLIC_HOST: host };
  const template = readFileSync(join(dir, 'manifest.json'), 'utf8');
  const filled = template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new PackageError(`manifest.json has an unknown placeholder ${whole}`);
    return JSON.stringify(v).slice(1, -1);
  });
  const manifest = JSON.parse(filled) as Record<string, unknown>;
  const zip = zipFiles([
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') },
    { name: 'color.png', data: readFileSync(join(dir, 'color.png')) },
    { name: 'outline.png', data: readFileSync(join(dir, 'outline.png')) },
  ]);
  return { manifest, zip };
}

/** What a zip's local header and its central directory entry both say about one file. */
interface ZipEntry {
  crc: number;
  compressedSize: number;
  size: number;
  nameLength: number;
}

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01

/**
 * The fields both headers of an entry carry, in the same order from "version needed" to the
 * extra field's length: at byte 4 of a local header, at byte 6 of a central directory entry.
 */
function writeEntryFields(header: Buffer, at: number, e: ZipEntry): void {
  header.writeUInt16LE(20, at); // version needed
  header.writeUInt16LE(0x0800, at + 2); // UTF-8 names
  header.writeUInt16LE(8, at + 4); // deflate
  header.writeUInt16LE(DOS_TIME, at + 6);
  header.writeUInt16LE(DOS_DATE, at + 8);
  header.writeUInt32LE(e.crc, at + 10);
  header.writeUInt32LE(e.compressedSize, at + 14);
  header.writeUInt32LE(e.size, at + 18);
  header.writeUInt16LE(e.nameLength, at + 22);
  header.writeUInt16LE(0, at + 24); // extra
}

/** A zip archive (deflate) of flat files; timestamps fixed so the same input gives the same bytes. */
export function zipFiles(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const compressed = deflateRawSync(f.data, { level: 9 });
    const entry: ZipEntry = { crc: crc32(f.data), compressedSize: compressed.length, size: f.data.length, nameLength: name.length };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeEntryFields(local, 4, entry);
    locals.push(local, name, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by
    writeEntryFields(central, 6, entry);
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(0, 38); // external attributes
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { zip, manifest } = buildTeamsPackage({ appId: process.env.MICROSOFT_APP_ID, publicUrl: process.env.BATON_PUBLIC_URL });
    const out = join(ROOT, 'dist', 'teams-app.zip');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, zip);
    console.log(`Wrote ${out} (Teams app ${String((manifest.name as { short: string }).short)} ${String(manifest.version)}, bot ${process.env.MICROSOFT_APP_ID}). Upload it in Teams: Apps → Manage your apps → Upload an app.`);
  } catch (err) {
    console.error(err instanceof PackageError ? err.message : err);
    process.exit(1);
  }
}
