/**
 * Keyed hashes of tokens: a stable, safe stand-in for a token wherever one
 * would otherwise be a key (caches, idempotency records, limits).
 *
 * Every keyed hash of this server comes from one master secret, split into
 * independent keys by purpose ({@link deriveKey}). The master secret is
 * `STATE_SECRET` when configured; otherwise one random secret kept in Deno KV
 * (so every instance sharing that database agrees on it), or a per-process
 * random one when there is no KV (see {@link resolveSecret}).
 */

import { whileLocked } from "./guard_store.ts";
import { hmacSha256 } from "./hmac.ts";

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
 * Create a hasher under `secret`, or under a fresh random 256-bit key. It runs
 * once per tool call, so it uses `hmac.ts` (about 1 µs) rather than
 * `crypto.subtle` (about 50 µs a call); see there.
 */
export function createPrincipalHasher(secret?: SecretSource): PrincipalHasher {
  const mac = memo(async () => hmacSha256(await readSecret(secret ?? randomBytes(32))));
  return async (token) => base64url((await mac())(token));
}

/** Where {@link resolveSecret} found the master secret. */
export type SecretOrigin = "configured" | "kv" | "process";

/** KV key of the shared fallback secret. */
const KV_SECRET_KEY = ["secrets", "master"];

/**
 * The master secret: `configured` when given (at least 32 bytes), else a
 * random secret created once in `kv` and shared by every instance that opens
 * it, else a fresh per-process random secret.
 */
export async function resolveSecret(
  configured: string,
  kv: Deno.Kv | null,
): Promise<{ secret: Uint8Array<ArrayBuffer>; origin: SecretOrigin }> {
  if (configured !== "") return { secret: encoder.encode(configured), origin: "configured" };
  if (!kv) return { secret: randomBytes(32), origin: "process" };
  for (;;) {
    const entry = await whileLocked(() => kv.get<Uint8Array>(KV_SECRET_KEY));
    if (entry.value instanceof Uint8Array) {
      return { secret: new Uint8Array(entry.value), origin: "kv" };
    }
    const fresh = randomBytes(32);
    // Several instances may start at once: the first write wins, the others read it.
    const won = await whileLocked(() =>
      kv.atomic().check(entry).set(KV_SECRET_KEY, fresh).commit()
    );
    if (won.ok) return { secret: fresh, origin: "kv" };
  }
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

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}
