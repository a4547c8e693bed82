/**
 * HMAC-SHA256 for short messages, with the key's inner and outer hash states
 * computed once.
 *
 * Why not the platform: the server hashes the caller's token once per tool
 * call (a cache key must never be the token itself). `crypto.subtle.sign`
 * is asynchronous and costs about 50 µs a call in Deno, `node:crypto`'s
 * `createHmac` about 7 µs in a tight loop and over 20 µs inside a request
 * (about 10 % of a cached `get_sms_rates` call in the CPU profile). With the
 * keyed states precomputed, an HMAC of a token is two SHA-256 compressions:
 * about 1 µs. `hmac_test.ts` checks it against `node:crypto` and RFC 4231.
 */

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const IV = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

/** One SHA-256 compression of the 64-byte block at `offset` into `state`. */
function compress(state: Uint32Array, block: Uint8Array, offset: number, w: Uint32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!, b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * Finish a hash of `length` bytes whose first `done` bytes (whole blocks) are
 * already in `state`; `tail` holds the rest. Pads with 0x80, zeros and the bit length.
 */
function finish(
  state: Uint32Array,
  tail: Uint8Array,
  length: number,
  done: number,
  w: Uint32Array,
) {
  const rest = length - done;
  const blocks = rest + 9 <= 64 ? 1 : 2;
  const buf = new Uint8Array(blocks * 64);
  buf.set(tail.subarray(0, rest));
  buf[rest] = 0x80;
  const bits = length * 8;
  const view = new DataView(buf.buffer);
  view.setUint32(buf.length - 8, Math.floor(bits / 0x100000000));
  view.setUint32(buf.length - 4, bits >>> 0);
  for (let i = 0; i < blocks; i++) compress(state, buf, i * 64, w);
}

function digestBytes(state: Uint32Array): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, state[i]!);
  return out;
}

const encoder = new TextEncoder();

/** SHA-256 of bytes (used for keys longer than a block). */
function sha256(data: Uint8Array): Uint8Array {
  const state = new Uint32Array(IV);
  const w = new Uint32Array(64);
  const whole = data.length - (data.length % 64);
  for (let off = 0; off < whole; off += 64) compress(state, data, off, w);
  finish(state, data.subarray(whole), data.length, whole, w);
  return digestBytes(state);
}

/** An HMAC-SHA256 under a fixed key, returning the MAC of a string (UTF-8) as bytes. */
export function hmacSha256(key: Uint8Array): (message: string) => Uint8Array {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? sha256(key) : key);
  const inner = new Uint32Array(IV);
  const outer = new Uint32Array(IV);
  const w = new Uint32Array(64);
  const pad = new Uint8Array(64);
  for (let i = 0; i < 64; i++) pad[i] = k[i]! ^ 0x36;
  compress(inner, pad, 0, w);
  for (let i = 0; i < 64; i++) pad[i] = k[i]! ^ 0x5c;
  compress(outer, pad, 0, w);
  return (message) => {
    const data = encoder.encode(message);
    const state = new Uint32Array(inner);
    const whole = data.length - (data.length % 64);
    for (let off = 0; off < whole; off += 64) compress(state, data, off, w);
    finish(state, data.subarray(whole), 64 + data.length, 64 + whole, w);
    const mid = digestBytes(state);
    state.set(outer);
    finish(state, mid, 64 + 32, 64, w);
    return digestBytes(state);
  };
}
