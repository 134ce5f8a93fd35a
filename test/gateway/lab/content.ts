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

/** What the page's own script does once loaded: the results land in window.__roam. */
const PAGE_SCRIPT = `
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const t0 = performance.now();
const img = document.getElementById('image');
const media = document.getElementById('media');
const download = document.body.dataset.download;
window.__roam = {
  // a download with fetch(), hashed in the page
  download: (async () => {
    const r = await fetch('/' + download, { cache: 'no-store' });
    const body = await r.arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', body);
    return { status: r.status, bytes: body.byteLength, sha256: hex(digest), ms: performance.now() - t0 };
  })().catch((e) => ({ error: String(e), ms: performance.now() - t0 })),
  // the image as decoded, and the bytes Chromium stored for it (from its cache, no network)
  image: new Promise((resolve, reject) => {
    if (img.complete && img.naturalWidth > 0) resolve();
    img.addEventListener('load', () => resolve());
    img.addEventListener('error', () => reject(new Error('image failed to load')));
  })
    .then(async () => {
      const r = await fetch(img.getAttribute('src'), { cache: 'only-if-cached', mode: 'same-origin' });
      const body = await r.arrayBuffer();
      const digest = await crypto.subtle.digest('SHA-256', body);
      return { width: img.naturalWidth, bytes: body.byteLength, sha256: hex(digest), ms: performance.now() - t0 };
    })
    .catch((e) => ({ error: String(e), ms: performance.now() - t0 })),
  // the media element played to its end (fast, so that it keeps downloading)
  media: new Promise((resolve) => {
    media.addEventListener('ended', () =>
      resolve({ ended: true, duration: media.duration, played: media.currentTime, ms: performance.now() - t0 }));
    media.addEventListener('error', () =>
      resolve({ error: 'media error ' + media.error.code + ': ' + media.error.message, ms: performance.now() - t0 }));
  }),
};
media.playbackRate = 8;
media.play().catch(() => undefined);
`;

/**
 * The page Chromium loads: a large image, a media element, and a script that also downloads
 * a file with fetch() and records what each of them got in window.__roam.
 */
export function writePage(
  dir: string,
  items: { image: string; media: string; download: string },
): Served {
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>roam gateway lab</title></head>
<body data-download="${items.download}">
<img id="image" src="/${items.image}" alt="large image">
<video id="media" src="/${items.media}" preload="auto" muted></video>
<script>${PAGE_SCRIPT}</script>
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
