/**
 * Keyed hashes of tokens: a stable, safe stand-in for a token wherever one
 * would otherwise be a key (caches, idempotency records, limits).
 *
 * HMAC-SHA256 under a secret: a per-process random key by default (caches),
 * or a configured key shared by every instance (state kept in Deno KV).
 */

const encoder = new TextEncoder();

/** Maps a token to its keyed hash (base64url, 43 characters). */
export type PrincipalHasher = (token: string) => Promise<string>;

/** Create a hasher under `secret`, or under a fresh random 256-bit key. */
export function createPrincipalHasher(secret?: Uint8Array<ArrayBuffer>): PrincipalHasher {
  const raw = secret ?? crypto.getRandomValues(new Uint8Array(32));
  const key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return async (token) => {
    const mac = await crypto.subtle.sign("HMAC", await key, encoder.encode(token));
    return base64url(new Uint8Array(mac));
  };
}

/** Unpadded base64url of some bytes. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh unguessable identifier (256 random bits, base64url). */
export function randomId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}
