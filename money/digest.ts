/** Keyed digests of the guards: HMAC-SHA256 under a key derived from the master secret. */
import { base64url, derivedCryptoKey, hmac, type SecretSource } from "../core/keys.ts";

/** A keyed digest of some labelled parts (base64url). */
export type Digest = (label: string, ...parts: string[]) => Promise<string>;

/** The guards' digest function under `secret`. */
export function keyedDigest(secret: SecretSource): Digest {
  const key = derivedCryptoKey(secret, "digest");
  return async (label, ...parts) =>
    base64url(await hmac(await key(), [label, ...parts].join("\u0000")));
}
