/**
 * Draws the Teams app icons and writes them next to the manifest (bots/teams/color.png 192×192,
 * outline.png 32×32 white on transparent), with a tiny PNG encoder on node:zlib: no native or
 * downloaded dependencies. The PNGs are committed; run `tsx scripts/teams-icons.ts` after
 * changing the drawing.
 */
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

export const ACCENT = { r: 0x4f, g: 0x46, b: 0xe5 }; // #4F46E5, the manifest's accentColor

// ---------------------------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array, crc = 0xffffffff): number {
  let c = crc;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([len, typed, crc]);
}

/** RGBA pixels (row-major, 4 bytes each) → PNG bytes (8-bit RGBA, no interlace). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (rgba.length !== width * height * 4) throw new Error('pixel buffer does not match the size');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** Width, height, bit depth and colour type from a PNG's IHDR. */
export function pngHeader(png: Uint8Array): { width: number; height: number; bitDepth: number; colorType: number } {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a' || b.subarray(12, 16).toString('ascii') !== 'IHDR') throw new Error('not a PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bitDepth: b[24]!, colorType: b[25]! };
}

// ---------------------------------------------------------------------------------------------
// Drawing: a relay baton (a capsule on the diagonal with a grip band), anti-aliased by 4×4 supersampling.

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): { d: number; t: number } {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return { d: Math.hypot(px - (ax + t * dx), py - (ay + t * dy)), t };
}

/** Coverage of the baton at a point in unit coordinates (0..1 on both axes). */
function inBaton(x: number, y: number): boolean {
  const { d, t } = distanceToSegment(x, y, 0.27, 0.73, 0.73, 0.27);
  if (d > 0.115) return false;
  // A thin gap near one end reads as the grip of a relay baton.
  return !(t > 0.66 && t < 0.72);
}

function draw(size: number, pixel: (covered: number, x: number, y: number) => [number, number, number, number]): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let hits = 0;
      for (let sy = 0; sy < n; sy++) for (let sx = 0; sx < n; sx++) if (inBaton((x + (sx + 0.5) / n) / size, (y + (sy + 0.5) / n) / size)) hits++;
      const [r, g, b, a] = pixel(hits / (n * n), x, y);
      out.set([r, g, b, a], (y * size + x) * 4);
    }
  }
  return out;
}

/** 192×192, full-bleed accent colour with the baton in white. */
export function colorIcon(): Buffer {
  const size = 192;
  return encodePng(size, size, draw(size, (c) => [Math.round(ACCENT.r + (255 - ACCENT.r) * c), Math.round(ACCENT.g + (255 - ACCENT.g) * c), Math.round(ACCENT.b + (255 - ACCENT.b) * c), 255]));
}

/** 32×32, white baton on a transparent background (Teams' rule for outline icons). */
export function outlineIcon(): Buffer {
  const size = 32;
  return encodePng(size, size, draw(size, (c) => [255, 255, 255, Math.round(255 * c)]));
}

export const ICON_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'bots', 'teams');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(join(ICON_DIR, 'color.png'), colorIcon());
  writeFileSync(join(ICON_DIR, 'outline.png'), outlineIcon());
  console.log(`wrote ${join(ICON_DIR, 'color.png')} and outline.png`);
}
