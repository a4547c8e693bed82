/**
 * What an idempotency key leaves in the store, and how it is found and read
 * (the protocol that claims, waits for and records it is `idempotency.ts`):
 *
 * - the key itself: the `idempotencyKey` argument or the `Idempotency-Key`
 *   header, which must agree;
 * - its record, one per token and key under each secret (during a rotation
 *   of the server secret, the same key is addressed under both): the state,
 *   a keyed digest of the tool and arguments, and the outcome, sealed
 *   (AES-GCM, key derived from the server secret and the token's keyed
 *   hash) — never the arguments, the SMS text or the token;
 * - what a finished call keeps: its output; a stopped batch's progress; a
 *   definite refusal, only until the lease is over (it frees the key);
 *   anything that may have been billed, as an unknown outcome; nothing for
 *   a token VertexSMS rejected.
 */
import { canonicalJson } from "../core/canonical_json.ts";
import { asServiceError, type ErrorFacts, ServiceError } from "../core/errors.ts";
import { deriveKey, hmac, hmacKey, memo, type SecretSource } from "../core/keys.ts";
import { aesKey, seal, unseal } from "../core/seal.ts";
import type { Expiring, StoreEntry, StoreKey } from "../state/mod.ts";
import { type Digest, keyedDigest } from "./digest.ts";
import { asUnknownOutcome, definitelyNotBilled, tokenRejected } from "./outcome.ts";
import type { GuardedCall } from "./types.ts";

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** An idempotency key: 1–255 printable ASCII characters, no spaces (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

/** The one idempotency key of a call: argument and header must agree. */
export function idempotencyKeyOf(argument: string | undefined, header: string | undefined) {
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) {
    throw new ServiceError(
      "INVALID_INPUT",
      "The Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces.",
      { details: [{ path: "Idempotency-Key", message: "1 to 255 printable ASCII characters" }] },
    );
  }
  if (argument !== undefined && header !== undefined && argument !== header) {
    throw new ServiceError(
      "INVALID_INPUT",
      "The idempotencyKey argument and the Idempotency-Key header differ; send one key (or the same in both).",
      { details: [{ path: "idempotencyKey", message: "differs from the Idempotency-Key header" }] },
    );
  }
  return argument ?? header;
}

/** The keys records are addressed and sealed with under one secret. */
export interface Keys {
  digest: Digest;
  sealBase: () => Promise<CryptoKey>;
}

/** The keys of `secret`: its digest, and the base of its sealing keys. */
export function keysOf(secret: SecretSource, digest: Digest = keyedDigest(secret)): Keys {
  const seal = deriveKey(secret, "seal");
  return { digest, sealBase: memo(async () => await hmacKey(await seal())) };
}

/** One idempotency key of one token under one secret. */
export interface Part {
  key: StoreKey;
  /** `key` as a string, for the in-process map. */
  id: string;
  /** Keyed digest of the tool and arguments. */
  fp: string;
  /** AES-GCM key sealing this token's records. */
  seal: Promise<CryptoKey>;
}

/** One idempotency key of one token, as the guards address it (during a rotation, twice). */
export interface Slot extends Part {
  /** The same key under the previous secret, during a rotation. */
  previous?: Part;
  /** How long a claim on it counts (a batch takes longer than one call). */
  leaseMs: number;
}

/** One key of one token under one secret's keys. */
export async function part(
  keys: Keys,
  principal: string,
  key: string,
  call: GuardedCall,
): Promise<Part> {
  const storeKey = ["idem", principal, await keys.digest("key", key)];
  return {
    key: storeKey,
    id: JSON.stringify(storeKey),
    fp: await keys.digest("args", call.tool, canonicalJson(call.args)),
    seal: (async () => await aesKey(await hmac(await keys.sealBase(), principal)))(),
  };
}

/** Every key of a slot: the current secret's, then the previous one's. */
export function partsOf(slot: Slot): Part[] {
  return slot.previous ? [slot, slot.previous] : [slot];
}

/** The stored state of one idempotency key. */
export interface KeyRecord extends Expiring {
  /**
   * pending: running · done: output kept · unknown: maybe billed, error kept ·
   * failed: freed · partial: a batch stopped early, its progress kept.
   */
  s: "pending" | "done" | "unknown" | "failed" | "partial";
  /** Keyed digest of the tool and arguments. */
  fp: string;
  /** pending: when the claim stops counting. */
  until?: number;
  /** Sealed `{ output }`, `{ error }` or `{ partial }`. */
  box?: string;
}

/** A claim on a key under one secret: running, counted for `leaseMs`. */
export function pending(part: Part, now: number, leaseMs: number): KeyRecord {
  return { s: "pending", fp: part.fp, until: now + leaseMs, exp: now + IDEMPOTENCY_TTL_MS };
}

/**
 * Of a slot's records as read (`entries`, in {@link partsOf} order), the
 * one that decides, with its key: one that still holds the key first (the
 * current secret's before the previous one's), else a freed one.
 */
export function deciding(entries: readonly StoreEntry<KeyRecord>[], parts: Part[], now: number) {
  const live = entries.map((e) => e.value && e.value.exp > now ? e.value : null);
  let at = live.findIndex((r) => r !== null && r.s !== "failed");
  if (at < 0) at = Math.max(0, live.findIndex((r) => r !== null));
  return { record: live[at] ?? null, part: parts[at]!, entry: entries[at]! };
}

/** An outcome as a record keeps it, sealed. */
type Sealed =
  | { output: object }
  | { partial: object }
  | { error: { code: string; message: string; facts: ErrorFacts } };

/** What an earlier call with the key left: its output, or a stopped batch's progress. */
export type Earlier = { output: object } | { partial: object };

/** What a finished call's record keeps: its state, until when, and its outcome. */
export interface Kept {
  s: KeyRecord["s"];
  exp: number;
  value: Sealed;
}

/**
 * Thrown by a batch's work when it stops early: the error to answer, and
 * the progress to keep for a retry with the same key (`null`: nothing to keep).
 */
export class Stopped extends Error {
  constructor(readonly error: ServiceError, readonly progress: object | null) {
    super(error.message);
    this.name = "Stopped";
  }
}

/** What a call that returned `output` keeps: the output, for a day. */
export function success(output: object, now: number): Kept {
  return { s: "done", exp: now + IDEMPOTENCY_TTL_MS, value: { output } };
}

/**
 * What a failed call answers, and what its key keeps (`null`: nothing):
 * a stopped batch's progress; nothing for a token VertexSMS rejected; a
 * definite refusal, freed once the lease is over; else an unknown outcome.
 */
export function failure(
  signal: AbortSignal,
  slot: Slot,
  thrown: unknown,
  now: number,
): { error: ServiceError; kept: Kept | null } {
  if (thrown instanceof Stopped && thrown.progress) {
    // A batch stopped early: what it recorded stays, the rest is free for a retry.
    const kept: Kept = {
      s: "partial",
      exp: now + IDEMPOTENCY_TTL_MS,
      value: { partial: thrown.progress },
    };
    return { error: thrown.error, kept };
  }
  const caught = thrown instanceof Stopped ? thrown.error : asServiceError(thrown);
  const error = signal.aborted && !caught.facts.outcomeUnknown ? cancelledMidCall() : caught;
  if (tokenRejected(error)) {
    // VertexSMS refused the token itself: keep nothing for a caller it does not accept.
    return { error, kept: null };
  }
  if (definitelyNotBilled(error, signal)) {
    return { error, kept: { s: "failed", exp: now + slot.leaseMs, value: sealedError(error) } };
  }
  const unknown = asUnknownOutcome(error);
  return {
    error: unknown,
    kept: { s: "unknown", exp: now + IDEMPOTENCY_TTL_MS, value: sealedError(unknown) },
  };
}

/** The record of a finished call under one secret's key, its outcome sealed. */
export async function sealedRecord(part: Part, kept: Kept): Promise<KeyRecord> {
  const box = await seal(await part.seal, part.id, JSON.stringify(kept.value));
  return { s: kept.s, fp: part.fp, box, exp: kept.exp };
}

/** The outcome a record keeps, opened: an earlier output or progress, or its error thrown. */
export async function openRecord(part: Part, record: KeyRecord): Promise<Earlier> {
  let sealed: Sealed;
  try {
    sealed = JSON.parse(await unseal(await part.seal, part.id, record.box ?? ""));
  } catch {
    throw new ServiceError(
      "INTERNAL_ERROR",
      "The result of an earlier call with this idempotency key cannot be read back (the server's " +
        "STATE_SECRET may have changed). It may have been carried out: check before trying again " +
        "with a new key.",
      { outcomeUnknown: true },
    );
  }
  if ("output" in sealed) return { output: sealed.output };
  if ("partial" in sealed) return { partial: sealed.partial };
  const { code, message, facts } = sealed.error;
  throw new ServiceError(code as ServiceError["code"], message, facts);
}

/** An error as a record keeps it. */
function sealedError(error: ServiceError): Sealed {
  return { error: { code: error.code, message: error.message, facts: error.facts } };
}

function cancelledMidCall(): ServiceError {
  return new ServiceError(
    "UPSTREAM_UNAVAILABLE",
    "The call was cancelled while VertexSMS was handling it, so its outcome is unknown. Check " +
      "whether it was carried out before trying again with a new key.",
    { retryable: false, outcomeUnknown: true },
  );
}
