/**
 * Keyed hashes of tokens: a stable, safe stand-in for a token wherever one
 * would otherwise be a key (caches, idempotency records, limits).
 *
 * HMAC-SHA256 under a secret: a per-process random key by default (caches),
 * or a configured key shared by every instance (state kept in Deno KV). It
 * runs once per tool call; see `hmac.ts` for why it is not `crypto.subtle`.
 */
import { hmacSha256 } from "./hmac.ts";

/** Maps a token to its keyed hash (base64url, 43 characters). */
export type PrincipalHasher = (token: string) => string;

/** Create a hasher under `secret`, or under a fresh random 256-bit key. */
export function createPrincipalHasher(secret?: Uint8Array): PrincipalHasher {
  const mac = hmacSha256(secret ?? crypto.getRandomValues(new Uint8Array(32)));
  return (token) => base64url(mac(token));
}

/** Unpadded base64url of some bytes. */
export function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** A fresh unguessable identifier (256 random bits, base64url). */
export function randomId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}
