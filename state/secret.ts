/**
 * The master secret every key of the server derives from (`core/keys.ts`):
 * `STATE_SECRET` when configured; otherwise one random secret kept in the
 * shared state, so every instance using it agrees; otherwise a per-process
 * random one. Instances sharing state must share the secret: a check value
 * kept beside it tells them apart.
 */
import { base64url, deriveKey, randomBytes } from "../core/keys.ts";
import type { SecretVault } from "./shared.ts";

/** Where {@link resolveSecret} found the master secret. */
export type SecretOrigin = "configured" | "shared" | "process";

/**
 * The master secret: `configured` when given (at least 32 bytes), else a
 * random secret created once in the vault and shared by every instance that
 * uses it, else a fresh per-process random secret.
 */
export async function resolveSecret(
  configured: string,
  vault: SecretVault | null,
): Promise<{ secret: Uint8Array<ArrayBuffer>; origin: SecretOrigin }> {
  if (configured !== "") {
    return { secret: new TextEncoder().encode(configured), origin: "configured" };
  }
  if (!vault) return { secret: randomBytes(32), origin: "process" };
  for (;;) {
    const found = await vault.get("master");
    if (found) return { secret: found, origin: "shared" };
    const fresh = randomBytes(32);
    // Several instances may start at once: the first write wins, the others read it.
    if (await vault.putIfAbsent("master", fresh)) return { secret: fresh, origin: "shared" };
  }
}

/** Instances sharing one state with different secrets: their guards would not meet. */
export class SecretMismatchError extends Error {
  constructor() {
    super(
      "STATE_SECRET differs from the one other instances sharing this state database use: their " +
        "idempotency keys, limits and confirmations would not meet. Give every instance the same " +
        "STATE_SECRET (or a separate database).",
    );
    this.name = "SecretMismatchError";
  }
}

/**
 * Check that `secret` is the one every other instance sharing the vault
 * uses: the first instance records a check value (a keyed hash, not the
 * secret); the others compare theirs. Throws {@link SecretMismatchError} on a
 * mismatch.
 */
export async function checkSecret(
  vault: SecretVault,
  secret: Uint8Array<ArrayBuffer>,
): Promise<void> {
  const check = new TextEncoder().encode(base64url(await deriveKey(secret, "key-check")()));
  for (;;) {
    const found = await vault.get("check");
    if (found) {
      if (base64url(found) !== base64url(check)) throw new SecretMismatchError();
      return;
    }
    if (await vault.putIfAbsent("check", check)) return;
  }
}
