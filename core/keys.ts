/**
 * Keys and keyed hashes. Every key of this server derives from one master
 * secret, split into independent keys by purpose ({@link deriveKey}); a
 * token's keyed hash ({@link createPrincipalHasher}) is the safe stand-in for
 * the token wherever one would otherwise be a key (caches, idempotency
 * records, limits). Where the master secret comes from is `state/secret.ts`.
 */
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

const encoder = new TextEncoder();

/** Maps a token to its keyed hash (base64url, 43 characters). */
export type PrincipalHasher = (token: string) => Promise<string>;

/** Key material: bytes, or how to get them (resolved on first use). */
export type SecretSource = Uint8Array<ArrayBuffer> | (() => Promise<Uint8Array<ArrayBuffer>>);

/** The bytes of a {@link SecretSource}. */
export async function readSecret(source: SecretSource): Promise<Uint8Array<ArrayBuffer>> {
  return typeof source === "function" ? await source() : source;
}

/**
 * An async value computed on first use and kept; a failure is not kept (the
 * next use tries again), and nothing is left rejecting unobserved.
 */
export function memo<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () =>
    value ??= make().catch((error) => {
      value = undefined;
      throw error;
    });
}

/**
 * Create a hasher under `secret`, or under a fresh random 256-bit key. It
 * runs once per tool call, so it is synchronous HMAC-SHA256 from
 * `@noble/hashes` with the key's state computed once and cloned per token
 * (about 5 µs here), not `crypto.subtle.sign` (asynchronous, about 50 µs).
 */
export function createPrincipalHasher(secret?: SecretSource): PrincipalHasher {
  const keyed = memo(async () =>
    nobleHmac.create(sha256, await readSecret(secret ?? randomBytes(32)))
  );
  return async (token) => base64url((await keyed()).clone().update(encoder.encode(token)).digest());
}

/** An independent 256-bit key for one purpose, derived from the master secret (on first use). */
export function deriveKey(
  master: SecretSource,
  purpose: string,
): () => Promise<Uint8Array<ArrayBuffer>> {
  return memo(async () =>
    await hmac(await hmacKey(await readSecret(master)), `vertexsms-mcp/${purpose}`)
  );
}

/**
 * A key for one purpose, derived from `master` and imported on first use
 * (`hmacKey`, or `aesKey` from `seal.ts`).
 */
export function derivedCryptoKey(
  master: SecretSource,
  purpose: string,
  importKey: (raw: Uint8Array<ArrayBuffer>) => Promise<CryptoKey> = hmacKey,
): () => Promise<CryptoKey> {
  const raw = deriveKey(master, purpose);
  return memo(async () => await importKey(await raw()));
}

/** Import raw bytes as an HMAC-SHA256 signing key. */
export function hmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** HMAC-SHA256 of a UTF-8 string. */
export async function hmac(key: CryptoKey, data: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
}

/** Unpadded base64url of some bytes. */
export function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** Bytes of an unpadded base64url string. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromBase64(text, { alphabet: "base64url" });
}

/** A fresh unguessable identifier (256 random bits, base64url). */
export function randomId(): string {
  return base64url(randomBytes(32));
}

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}
