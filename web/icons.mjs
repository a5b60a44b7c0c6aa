/**
 * The app's icons, drawn here (no image files, nothing downloaded): a terminal prompt (`>_`) on a
 * rounded blue square, as PNGs of any size, with a minimal PNG encoder (zlib from Node).
 */
import { deflateSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Distance from point p to segment ab. */
function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** RGBA coverage of the icon at (x, y) in unit coordinates (0..1). */
function shade(x, y, px) {
  const r = 0.2; // corner radius
  const cx = Math.min(Math.max(x, r), 1 - r);
  const cy = Math.min(Math.max(y, r), 1 - r);
  const inside = Math.hypot(x - cx, y - cy) <= r ? 1 : 0;
  if (!inside) return [0, 0, 0, 0];
  const w = 0.055;
  const d = Math.min(
    segDist(x, y, 0.28, 0.32, 0.48, 0.5),
    segDist(x, y, 0.48, 0.5, 0.28, 0.68),
    segDist(x, y, 0.54, 0.7, 0.74, 0.7),
  );
  const ink = Math.max(0, Math.min(1, (w - d) / px + 0.5));
  const bg = [47, 111, 237];
  return [bg[0] + (255 - bg[0]) * ink, bg[1] + (255 - bg[1]) * ink, bg[2] + (255 - bg[2]) * ink, 255];
}

export function iconPng(size) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const ss = 3; // supersampling per axis
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++)
        for (let sx = 0; sx < ss; sx++) {
          const c = shade((x + (sx + 0.5) / ss) / size, (y + (sy + 0.5) / ss) / size, 1 / size);
          for (let i = 0; i < 4; i++) acc[i] += c[i] * (i < 3 ? c[3] / 255 : 1);
        }
      const a = acc[3] / (ss * ss);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      for (let i = 0; i < 3; i++) raw[o + i] = a ? Math.round(acc[i] / (ss * ss) / (a / 255)) : 0;
      raw[o + 3] = Math.round(a);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
