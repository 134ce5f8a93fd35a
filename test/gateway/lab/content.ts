import { createHash, randomBytes } from 'node:crypto';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

// What the origins serve: random bytes (incompressible, so no layer can shortcut them), a real
// PNG, a WAV for the page's media element, and the page that loads them.

export const MiB = 1024 * 1024;

export interface Served {
  name: string;
  size: number;
  sha256: string;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function writeServed(dir: string, name: string, data: Buffer): Served {
  writeFileSync(join(dir, name), data);
  return { name, size: data.length, sha256: sha256(data) };
}

export function writeRandom(dir: string, name: string, size: number): Served {
  return writeServed(dir, name, randomBytes(size));
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid RGB PNG of random pixels (stored, not compressed): about 3 × side² bytes. */
export function pngImage(side: number): Buffer {
  const row = 1 + side * 3;
  const raw = randomBytes(row * side);
  for (let y = 0; y < side; y++) raw[y * row] = 0; // filter type None
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 0 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 16-bit stereo 44.1 kHz PCM WAV of quiet noise, `seconds` long (176 400 bytes a second). */
export function wavAudio(seconds: number): Buffer {
  const rate = 44_100;
  const bytes = Math.floor(seconds * rate) * 4;
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(36 + bytes, 4);
  head.write('WAVEfmt ', 8, 'latin1');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20); // PCM
  head.writeUInt16LE(2, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 4, 28);
  head.writeUInt16LE(4, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'latin1');
  head.writeUInt32LE(bytes, 40);
  return Buffer.concat([head, randomBytes(bytes)]);
}

export interface Site {
  files: Map<string, Served>;
}

/**
 * The page Chromium loads: a large image and a media element, both fetched by the browser
 * itself; the test's worker also downloads a file with fetch() from the page.
 */
export function writePage(dir: string, image: string, media: string): Served {
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>roam gateway lab</title></head>
<body>
<img id="image" src="/${image}" alt="large image">
<video id="media" src="/${media}" preload="auto" muted></video>
</body></html>
`;
  return writeServed(dir, 'page.html', Buffer.from(html));
}

export function writeBuffer(dir: string, name: string, data: Buffer): Served {
  return writeServed(dir, name, data);
}

/**
 * Replace a file the way a site deploys a new version (write aside, rename over): a server
 * still sending the old file keeps its open inode, new requests get the new file, and the
 * modification time moves on so that nginx's ETag (mtime-size) changes even within a second.
 */
export function replaceFile(dir: string, name: string, data: Buffer): Served {
  const path = join(dir, name);
  const aside = `${path}.new`;
  writeFileSync(aside, data);
  const later = new Date(Date.now() + 60_000);
  utimesSync(aside, later, later);
  renameSync(aside, path);
  return { name, size: data.length, sha256: sha256(data) };
}
