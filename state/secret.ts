/**
 * The master secret every key of the server derives from (`core/keys.ts`),
 * and the check that keeps the instances sharing one state database on the
 * same one.
 *
 * - The secret: `STATE_SECRET` when configured; otherwise one random secret
 *   generated once and kept in the shared state, so every instance using it
 *   agrees; otherwise (no shared state) a per-process random one.
 * - The check: the database keeps a check value of the secret in use (a keyed
 *   hash, not the secret). An instance with another secret is refused with
 *   one line naming the database and the way out ({@link SecretMismatchError}).
 * - Rotation: `STATE_SECRET` set to the new secret and `STATE_SECRET_PREVIOUS`
 *   to the one in use (one rotation at a time: the next once the window of
 *   the last is over). The first instance to start so moves the check value
 *   to the new secret and records the move (the previous secret's check and
 *   when). For `windowMs` after it (the idempotency window) every instance
 *   keeps honouring the records made under the previous secret, so a repeated
 *   call is still answered from its record and never sent twice. Moving from
 *   the generated secret to an explicit `STATE_SECRET` is the same rotation:
 *   the generated secret, still in the database, stands as the previous one
 *   without being named.
 */
import { base64url, deriveKey, randomBytes } from "../core/keys.ts";
import type { SecretVault } from "./shared.ts";

/** Where the master secret came from. */
export type SecretOrigin = "configured" | "shared" | "process";

/** The verified master secret, and the previous one while it is still honoured. */
export interface StateSecrets {
  current: Uint8Array<ArrayBuffer>;
  origin: SecretOrigin;
  /** The secret the database was rotated from, and until when records made under it live. */
  previous?: { secret: Uint8Array<ArrayBuffer>; since: number; until: number };
  /** This start moved the database to `current`. */
  rotated?: boolean;
  /** `STATE_SECRET_PREVIOUS` was given but is not needed (no rotation from it is under way). */
  previousUnused?: boolean;
}

/** What {@link verifySecret} needs. */
export interface SecretOptions {
  /** `STATE_SECRET` (`""`: none). */
  configured: string;
  /** `STATE_SECRET_PREVIOUS` (`""`: none). */
  previous: string;
  /** The shared state's vault; `null`: state in this process only. */
  vault: SecretVault | null;
  /** The database, as a refusal names it. */
  where: string;
  /** How long after a rotation the previous secret is still honoured. */
  windowMs: number;
  now?: () => number;
}

/** This instance's secret is not the one the instances sharing its database use. */
export class SecretMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretMismatchError";
  }
}

/** The check value kept in the vault: the secret in use, and the rotation that led to it. */
interface Check {
  current: string;
  from?: string;
  at?: number;
}

const encoder = new TextEncoder();

function encodeCheck(check: Check): Uint8Array<ArrayBuffer> {
  const parts = check.from ? [check.current, check.from, String(check.at)] : [check.current];
  return encoder.encode(parts.join(" "));
}

function decodeCheck(raw: Uint8Array): Check {
  const [current = "", from, at] = new TextDecoder().decode(raw).split(" ");
  return from && at ? { current, from, at: Number(at) } : { current };
}

/** The check value of a secret: a keyed hash, not the secret. */
async function checkOf(secret: Uint8Array<ArrayBuffer>): Promise<string> {
  return base64url(await deriveKey(secret, "key-check")());
}

/** The random secret kept in the vault, created by the first instance that needs it. */
async function generated(vault: SecretVault): Promise<Uint8Array<ArrayBuffer>> {
  for (;;) {
    const found = await vault.get("master");
    if (found) return found;
    const fresh = randomBytes(32);
    // Several instances may start at once: the first write wins, the others read it.
    if (await vault.swap("master", null, fresh)) return fresh;
  }
}

const day = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/**
 * Resolve the master secret and verify it against the database's check
 * value, recording a rotation when this instance starts one. Throws
 * {@link SecretMismatchError} with the database and the remedy named.
 */
export async function verifySecret(options: SecretOptions): Promise<StateSecrets> {
  const { vault, windowMs } = options;
  const now = options.now ?? Date.now;
  const origin: SecretOrigin = options.configured ? "configured" : vault ? "shared" : "process";
  if (!vault) {
    const current = options.configured ? encoder.encode(options.configured) : randomBytes(32);
    return { current, origin, previousUnused: options.previous !== "" };
  }
  const current = options.configured ? encoder.encode(options.configured) : await generated(vault);
  const mine = await checkOf(current);
  // Secrets this instance may have been rotated from: the one named, and the generated one
  // (when an explicit secret replaces it).
  const candidates: Uint8Array<ArrayBuffer>[] = [];
  if (options.previous) candidates.push(encoder.encode(options.previous));
  const master = options.configured ? await vault.get("master") : null;
  if (master) candidates.push(master);
  const named = async (check: string) => {
    for (const c of candidates) if (await checkOf(c) === check) return c;
    return undefined;
  };
  const unused = async (used?: Uint8Array<ArrayBuffer>) =>
    options.previous !== "" && (!used || await checkOf(used) !== await checkOf(candidates[0]!));
  for (;;) {
    const raw = await vault.get("check");
    if (!raw) {
      if (await vault.swap("check", null, encodeCheck({ current: mine }))) {
        return { current, origin, previousUnused: await unused() };
      }
      continue;
    }
    const check = decodeCheck(raw);
    if (check.current === mine) {
      const until = (check.at ?? 0) + windowMs;
      if (!check.from || now() >= until) return { current, origin, previousUnused: await unused() };
      const secret = await named(check.from);
      if (!secret) throw new SecretMismatchError(previousMissing(options.where, check.at!, until));
      const previous = { secret, since: check.at!, until };
      return { current, origin, previous, previousUnused: await unused(secret) };
    }
    const secret = await named(check.current);
    if (secret && check.from && now() < (check.at ?? 0) + windowMs) {
      // Records of the secret before the one in use still live: a second move would lose them.
      throw new SecretMismatchError(
        rotationUnderWay(options.where, check.at!, check.at! + windowMs),
      );
    }
    if (secret) {
      const at = now();
      const next = encodeCheck({ current: mine, from: check.current, at });
      if (await vault.swap("check", raw, next)) {
        const previous = { secret, since: at, until: at + windowMs };
        return { current, origin, previous, rotated: true, previousUnused: await unused(secret) };
      }
      continue;
    }
    throw new SecretMismatchError(mismatch(options, check, mine, now()));
  }
}

function rotationUnderWay(where: string, at: number, until: number): string {
  return `Cannot move to a new STATE_SECRET yet: the state database ${where} was moved to the ` +
    `secret in use at ${day(at)}, and records made under the one before it live until ` +
    `${day(until)}. Keep STATE_SECRET as it is until then (see docs/operations.md).`;
}

function previousMissing(where: string, at: number, until: number): string {
  return `STATE_SECRET_PREVIOUS is needed: the state database ${where} was moved to this ` +
    `STATE_SECRET at ${day(at)}, and until ${day(until)} idempotency records made under the ` +
    "previous secret are still live. Set STATE_SECRET_PREVIOUS to that previous secret " +
    "(see docs/operations.md).";
}

/** The one line a mismatch is refused with: what differs, and the way out. */
function mismatch(options: SecretOptions, check: Check, mine: string, now: number): string {
  const db = `the state database ${options.where}`;
  const rotatedAway = check.from === mine && check.at !== undefined;
  if (!options.configured) {
    return rotatedAway
      ? `STATE_SECRET is not set, but ${db} was moved from its generated secret to an explicit ` +
        `STATE_SECRET at ${day(check.at!)}: set that STATE_SECRET here too.`
      : `STATE_SECRET is not set, but ${db} is used with an explicit STATE_SECRET: set the same ` +
        "STATE_SECRET here, or use another database (KV_PATH, STATE_URL).";
  }
  if (rotatedAway) {
    const until = check.at! + options.windowMs;
    return `STATE_SECRET is the secret ${db} was moved away from at ${day(check.at!)}: set the ` +
      "new STATE_SECRET here" +
      (now < until ? ` (with this one as STATE_SECRET_PREVIOUS until ${day(until)}).` : ".");
  }
  const also = options.previous ? ", nor is STATE_SECRET_PREVIOUS" : "";
  return `STATE_SECRET is not the secret ${db} is used with${also}. Set that secret as ` +
    "STATE_SECRET; to move the database to a new one, set STATE_SECRET to the new one and " +
    "STATE_SECRET_PREVIOUS to the one in use; or use another database (KV_PATH, STATE_URL). " +
    "Secret lost: see docs/operations.md.";
}
