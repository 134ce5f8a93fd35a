import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { COOKIE_LENGTH } from '../../wire/index.js';

/**
 * Stateless admission cookies (docs/protocol.md, "Admission under load"). A cookie is
 *
 *   slot u32 | MAC 28 bytes,  MAC = HMAC-SHA256(key, "roam cookie 1" | slot | source | bind)
 *
 * where slot is the coarse time (now / slotMs), source the client's address as the
 * per-source limits count it, and bind the HELLO's client half of connId and its nonce.
 * The server keeps no record of the cookies it hands out: it recomputes the MAC. A cookie
 * is good in the slot it was made in and the next one, so it lives between lifetime / 2 and
 * lifetime. The key changes every KEY_SLOTS slots (made when first needed, so no timer);
 * the previous key is kept so cookies made just before a change still verify.
 */

const LABEL = Buffer.from('roam cookie 1', 'latin1');
const SLOT_LENGTH = 4;
const MAC_LENGTH = COOKIE_LENGTH - SLOT_LENGTH;
/** A new key every 12 slots (one minute at the default 10 s lifetime). */
const KEY_SLOTS = 12;

export type CookieVerdict = 'valid' | 'expired' | 'invalid';

export class CookieJar {
  private readonly slotMs: number;
  private readonly keys = new Map<number, Buffer>();

  constructor(
    lifetimeMs: number,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {
    this.slotMs = Math.max(1, Math.floor(lifetimeMs / 2));
  }

  /** A cookie for this source and HELLO, at time `now` (ms). */
  mint(source: string, bind: Buffer, now: number): Buffer {
    const slot = this.slotOf(now);
    const cookie = Buffer.alloc(COOKIE_LENGTH);
    cookie.writeUInt32BE(slot, 0);
    this.mac(this.currentKey(slot), slot, source, bind).copy(cookie, SLOT_LENGTH);
    return cookie;
  }

  /** Whether `cookie` was made by this jar for this source and HELLO, recently enough. */
  check(cookie: Buffer, source: string, bind: Buffer, now: number): CookieVerdict {
    if (cookie.length !== COOKIE_LENGTH) return 'invalid';
    const current = this.slotOf(now);
    const slot = cookie.readUInt32BE(0);
    if (slot > current) return 'invalid'; // from the future: not ours
    const key = this.keyFor(slot, current);
    // The MAC is checked before age, so "expired" is only said of cookies we made.
    if (key === undefined) return current - slot > 1 ? 'expired' : 'invalid';
    const expected = this.mac(key, slot, source, bind);
    if (!timingSafeEqual(expected, cookie.subarray(SLOT_LENGTH))) return 'invalid';
    return current - slot <= 1 ? 'valid' : 'expired';
  }

  private slotOf(now: number): number {
    return Math.floor(now / this.slotMs) >>> 0;
  }

  /** The key of the current generation, made when first needed; older ones are dropped. */
  private currentKey(current: number): Buffer {
    const generation = Math.floor(current / KEY_SLOTS);
    let key = this.keys.get(generation);
    if (key === undefined) {
      key = this.random(32);
      this.keys.set(generation, key);
      for (const g of this.keys.keys()) if (g < generation - 1) this.keys.delete(g);
    }
    return key;
  }

  /** The key `slot` was made with, if it is the current or the previous generation's. */
  private keyFor(slot: number, current: number): Buffer | undefined {
    this.currentKey(current);
    const generation = Math.floor(slot / KEY_SLOTS);
    return generation >= Math.floor(current / KEY_SLOTS) - 1
      ? this.keys.get(generation)
      : undefined;
  }

  private mac(key: Buffer, slot: number, source: string, bind: Buffer): Buffer {
    const head = Buffer.alloc(SLOT_LENGTH + 1);
    head.writeUInt32BE(slot, 0);
    head[SLOT_LENGTH] = Buffer.byteLength(source);
    return createHmac('sha256', key)
      .update(LABEL)
      .update(head)
      .update(source, 'latin1')
      .update(bind)
      .digest()
      .subarray(0, MAC_LENGTH);
  }
}
