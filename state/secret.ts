/**
 * The master secret every key of the server derives from (`core/keys.ts`):
 * `STATE_SECRET` when configured; otherwise one random secret kept in the
 * shared store, so every instance using it agrees; otherwise a per-process
 * random one.
 */
import { base64url, deriveKey, randomBytes } from "../core/keys.ts";
import { whileLocked } from "./kv.ts";

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
  if (configured !== "") {
    return { secret: new TextEncoder().encode(configured), origin: "configured" };
  }
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

/** KV key of the check value every instance compares its secret with. */
const KV_CHECK_KEY = ["secrets", "check"];

/** Instances sharing one database with different secrets: their guards would not meet. */
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
 * Check that `secret` is the one every other instance on `kv` uses: the
 * first instance records a check value (a keyed hash, not the secret); the
 * others compare theirs. Throws {@link SecretMismatchError} on a mismatch.
 */
export async function checkSecret(kv: Deno.Kv, secret: Uint8Array<ArrayBuffer>): Promise<void> {
  const check = base64url(await deriveKey(secret, "key-check")());
  for (;;) {
    const entry = await whileLocked(() => kv.get<string>(KV_CHECK_KEY));
    if (typeof entry.value === "string") {
      if (entry.value !== check) throw new SecretMismatchError();
      return;
    }
    const won = await whileLocked(() => kv.atomic().check(entry).set(KV_CHECK_KEY, check).commit());
    if (won.ok) return;
  }
}
