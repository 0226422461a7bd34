/**
 * The Teams app package: the manifest against Microsoft's v1.30 schema (offline, through
 * @microsoft/app-manifest) plus what that schema does not check — semver version, icon sizes and
 * transparency, command list ↔ COMMAND_HELP, command scopes ↔ bot scopes, the zip layout.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMAND_HELP } from '../../../src/commands.js';
import { PackageError, TEAMS_APP_DIR, buildTeamsPackage } from '../../../scripts/teams-package.js';
import { colorIcon, crc32, outlineIcon, pngHeader } from '../../../scripts/teams-icons.js';

const APP = 'b470b470-0000-4000-8000-00000000b470';
const template = JSON.parse(readFileSync(join(TEAMS_APP_DIR, 'manifest.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));

/**
 * `AppManifestUtils.validateAgainstSchema` from @microsoft/app-manifest@1.1.2. It require()s an
 * ES module (strip-bom 5), which Node 20 allows but jest's module runtime does not, so it runs
 * in a plain Node child process; the schemas it checks against ship inside the package.
 */
function validateAgainstSchema(manifest: unknown): string[] {
  const code = [
    "import { AppManifestUtils } from '@microsoft/app-manifest';",
    "import { readFileSync } from 'node:fs';",
    'const errors = await AppManifestUtils.validateAgainstSchema(JSON.parse(readFileSync(0, "utf8")));',
    'process.stdout.write(JSON.stringify(errors));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    input: JSON.stringify(manifest),
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== 0) throw new Error(`the manifest validator failed to run: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

describe('manifest.json', () => {
  it('uses the current schema (v1.30) with the URL the validator resolves offline, and the app\'s semver version', () => {
    expect(template.$schema).toBe('https://developer.microsoft.com/en-us/json-schemas/teams/v1.30/MicrosoftTeams.schema.json');
    expect(template.manifestVersion).toBe('1.30');
    expect(template.version).toMatch(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/);
    expect(template.version).toBe(pkg.version);
    expect(template.id).toBe('{{MICROSOFT_APP_ID}}');
    expect(template.bots[0].botId).toBe('{{MICROSOFT_APP_ID}}');
  });

  it('lists exactly the bot commands of COMMAND_HELP, in every scope the bot has', () => {
    const bot = template.bots[0];
    expect(bot.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    const expected = COMMAND_HELP.map((c) => ({ title: c.usage.split(' ')[0], description: c.description }));
    for (const list of bot.commandLists) {
      expect(list.commands).toEqual(expected);
      for (const s of list.scopes) expect(bot.scopes).toContain(s);
      for (const c of list.commands) {
        expect(c.title.length).toBeLessThanOrEqual(32);
        expect(c.description.length).toBeLessThanOrEqual(128);
      }
    }
    expect(bot.commandLists.flatMap((l: { scopes: string[] }) => l.scopes).sort()).toEqual(['groupChat', 'personal', 'team']);
  });

  it('the package script is wired in package.json', () => {
    expect(pkg.scripts['teams:package']).toBe('tsx scripts/teams-package.ts');
  });
});

describe('icons', () => {
  const color = readFileSync(join(TEAMS_APP_DIR, 'color.png'));
  const outline = readFileSync(join(TEAMS_APP_DIR, 'outline.png'));

  it('color.png is 192×192 and outline.png 32×32', () => {
    expect(pngHeader(color)).toMatchObject({ width: 192, height: 192 });
    expect(pngHeader(outline)).toMatchObject({ width: 32, height: 32, colorType: 6 });
  });

  it('the outline icon is white on a transparent background', () => {
    const px = decodeRgba(outline);
    let transparent = 0;
    let opaque = 0;
    for (let i = 0; i < px.length; i += 4) {
      const a = px[i + 3]!;
      if (a === 0) transparent++;
      else {
        expect([px[i], px[i + 1], px[i + 2]]).toEqual([255, 255, 255]);
        if (a === 255) opaque++;
      }
    }
    expect(transparent).toBeGreaterThan(32 * 32 * 0.5);
    expect(opaque).toBeGreaterThan(50);
    // The color icon fills its square (no transparency at the corners).
    const c = decodeRgba(color);
    expect(c[3]).toBe(255);
  });

  it('the committed icons are what scripts/teams-icons.ts draws', () => {
    expect(colorIcon().equals(color)).toBe(true);
    expect(outlineIcon().equals(outline)).toBe(true);
  });
});

describe('npm run teams:package', () => {
  const { manifest, zip } = buildTeamsPackage({ appId: APP, publicUrl: 'https://baton.northwind.example/' });

  it('fills the app id and URLs, and the result passes Microsoft\'s schema', () => {
    expect(manifest.id).toBe(APP);
    expect((manifest.bots as { botId: string }[])[0]!.botId).toBe(APP);
    expect(manifest.developer).toMatchObject({ websiteUrl: 'https://baton.northwind.example', privacyUrl: 'https://baton.northwind.example' });
    expect(manifest.validDomains).toEqual(['baton.northwind.example']);
    expect(JSON.stringify(manifest)).not.toContain('{{');
    const errors = validateAgainstSchema(manifest);
    expect(errors).toEqual([]);
  });

  it('the validator is not vacuous: a broken manifest fails it', () => {
    const broken = { ...manifest, id: 'not-a-guid', accentColor: 'blue', bots: [{ botId: APP, scopes: ['everywhere'] }] };
    const errors = validateAgainstSchema(broken);
    expect(errors.length).toBeGreaterThanOrEqual(3);
  });

  it('writes a zip with the manifest and both icons at its root, intact', () => {
    const entries = readZip(zip);
    expect(entries.map((e) => e.name)).toEqual(['manifest.json', 'color.png', 'outline.png']);
    expect(JSON.parse(entries[0]!.data.toString('utf8'))).toEqual(manifest);
    expect(entries[1]!.data.equals(readFileSync(join(TEAMS_APP_DIR, 'color.png')))).toBe(true);
    expect(entries[2]!.data.equals(readFileSync(join(TEAMS_APP_DIR, 'outline.png')))).toBe(true);
  });

  it('refuses clearly without an app id, with a non-GUID one, or without an https public URL', () => {
    expect(() => buildTeamsPackage({ appId: undefined, publicUrl: 'https://x.example' })).toThrow(PackageError);
    expect(() => buildTeamsPackage({ appId: undefined, publicUrl: 'https://x.example' })).toThrow(/MICROSOFT_APP_ID is not set/);
    expect(() => buildTeamsPackage({ appId: 'my-bot', publicUrl: 'https://x.example' })).toThrow(/must be a GUID/);
    expect(() => buildTeamsPackage({ appId: APP, publicUrl: 'http://x.example' })).toThrow(/must be an https URL/);
    expect(() => buildTeamsPackage({ appId: APP, publicUrl: undefined })).toThrow(/BATON_PUBLIC_URL is not set/);
  });
});

/** Reads a zip through its central directory, checking each entry's CRC. */
function readZip(zip: Buffer): { name: string; data: Buffer }[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = zip.readUInt16LE(end + 10);
  let p = zip.readUInt32LE(end + 16);
  const out: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(p)).toBe(0x02014b50);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const localNameLen = zip.readUInt16LE(local + 26);
    const localExtraLen = zip.readUInt16LE(local + 28);
    const start = local + 30 + localNameLen + localExtraLen;
    const raw = zip.subarray(start, start + size);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    expect(crc32(data)).toBe(crc);
    out.push({ name, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Decodes an 8-bit RGBA PNG (any filter type) to pixels. */
function decodeRgba(png: Buffer): Uint8Array {
  const { width, height, bitDepth, colorType } = pngHeader(png);
  expect([bitDepth, colorType]).toEqual([8, 6]);
  const idat: Buffer[] = [];
  for (let p = 8; p < png.length; ) {
    const len = png.readUInt32BE(p);
    const type = png.subarray(p + 4, p + 8).toString('ascii');
    if (type === 'IDAT') idat.push(png.subarray(p + 8, p + 8 + len));
    p += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= 4 ? out[y * stride + x - 4]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? out[(y - 1) * stride + x - 4]! : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      if (pred === undefined) throw new Error(`bad PNG filter ${filter}`);
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return out;
}
