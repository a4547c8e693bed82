/**
 * Sealed text (AES-256-GCM): what the server keeps in shared state that
 * must not sit in clear there (idempotent outcomes, HLR results in
 * hand-over). The additional data binds a box to its place: a box copied to
 * another key does not open.
 */
import { base64url, fromBase64url } from "./keys.ts";

const encoder = new TextEncoder();

/** Import 32 raw bytes as an AES-GCM key. */
export function aesKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Seal `text` under `key`, bound to `place`: base64url of IV and ciphertext. */
export async function seal(key: CryptoKey, place: string, text: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const cipher = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(place) },
    key,
    encoder.encode(text),
  );
  const out = new Uint8Array(12 + cipher.byteLength);
  out.set(iv);
  out.set(new Uint8Array(cipher), 12);
  return base64url(out);
}

/** Open a box sealed for `place`; throws when the key, the place or the box is wrong. */
export async function unseal(key: CryptoKey, place: string, box: string): Promise<string> {
  const bytes = fromBase64url(box);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: encoder.encode(place) },
    key,
    bytes.slice(12),
  );
  return new TextDecoder().decode(plain);
}
