/**
 * Idempotency: a key (the `idempotencyKey` argument or the `Idempotency-Key`
 * header) is remembered per token for 24 hours. The same key with the same
 * arguments returns the first outcome without calling VertexSMS; other
 * arguments are refused; a concurrent duplicate waits for the first call (in
 * process, and across instances through the store's atomic "pending" claim).
 * What is kept: the tool's output, sealed (AES-GCM, key derived from the
 * server secret and the token's keyed hash) — never the arguments, the SMS
 * text or the token. A definite refusal frees the key; an outcome that may
 * have been billed is kept and replayed, so a retry never sends twice.
 *
 * A batch (`send_sms_batch`) is one record with a slot per recipient: its
 * output once it finished; or, when it stopped early (VertexSMS rejected the
 * token mid-batch, or the caller went away), its progress — each recipient's
 * recorded outcome, `null` for those never sent — so that a retry with the
 * same key sends only the rest.
 *
 * During a rotation of the server secret (`state/secret.ts`), every record
 * is read and written under both secrets' keys: a record made under the
 * previous secret (by this server before the rotation, or by an instance not
 * yet restarted) is still found, and one made now is found by both.
 */
import { canonicalJson } from "../core/canonical_json.ts";
import { asServiceError, type ErrorFacts, ServiceError } from "../core/errors.ts";
import { deriveKey, hmac, hmacKey, memo, type SecretSource } from "../core/keys.ts";
import { aesKey, seal, unseal } from "../core/seal.ts";
import { sleep } from "../core/sleep.ts";
import {
  type Expiring,
  type Store,
  type StoreEntry,
  StoreFullError,
  type StoreKey,
} from "../state/mod.ts";
import { type Digest, keyedDigest } from "./digest.ts";
import { asUnknownOutcome, definitelyNotBilled, storeFull, tokenRejected } from "./outcome.ts";
import type { GuardContext, GuardedCall } from "./types.ts";

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** An idempotency key: 1–255 printable ASCII characters, no spaces (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

/** The stored state of one idempotency key. */
interface KeyRecord extends Expiring {
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

/** One idempotency key of one token under one secret. */
interface Part {
  key: StoreKey;
  /** `key` as a string, for the in-process map. */
  id: string;
  /** Keyed digest of the tool and arguments. */
  fp: string;
  /** AES-GCM key sealing this token's records. */
  seal: Promise<CryptoKey>;
}

/** One idempotency key of one token, as the guards address it (during a rotation, twice). */
interface Slot extends Part {
  /** The same key under the previous secret, during a rotation. */
  previous?: Part;
  /** How long a claim on it counts (a batch takes longer than one call). */
  leaseMs: number;
}

/** The keys records are addressed and sealed with under one secret. */
interface Keys {
  digest: Digest;
  sealBase: () => Promise<CryptoKey>;
}

/** The keys of `secret`: its digest, and the base of its sealing keys. */
function keysOf(secret: SecretSource, digest: Digest = keyedDigest(secret)): Keys {
  const seal = deriveKey(secret, "seal");
  return { digest, sealBase: memo(async () => await hmacKey(await seal())) };
}

type Sealed =
  | { output: object }
  | { partial: object }
  | { error: { code: string; message: string; facts: ErrorFacts } };

/** What an earlier call with the key left: its output, or a stopped batch's progress. */
export type Earlier = { output: object } | { partial: object };

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

/** Options of {@link Idempotency}. */
export interface IdempotencyOptions {
  store: Store;
  secret: SecretSource;
  /** During a secret rotation, the previous secret (`undefined` otherwise). */
  previousSecret?: () => Promise<Uint8Array<ArrayBuffer> | undefined>;
  digest: Digest;
  /**
   * Longest a billable call can take: a claim still pending after this is
   * treated as an unknown outcome (its instance stopped mid-call).
   */
  leaseMs: number;
  /** Poll interval while waiting for a duplicate on another instance. */
  pollMs: number;
  now: () => number;
}

/** The idempotency records of one server (all instances sharing its store and secret). */
export class Idempotency {
  readonly #store: Store;
  readonly #keys: Keys;
  readonly #previousSecret: () => Promise<Uint8Array<ArrayBuffer> | undefined>;
  #previous: { secret: Uint8Array; keys: Keys } | undefined;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #now: () => number;
  /** Calls running on this instance, by idempotency record: settle when recorded. */
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(options: IdempotencyOptions) {
    this.#store = options.store;
    this.#keys = keysOf(options.secret, options.digest);
    this.#previousSecret = options.previousSecret ?? (() => Promise.resolve(undefined));
    this.#leaseMs = options.leaseMs;
    this.#pollMs = options.pollMs;
    this.#now = options.now;
  }

  /** The previous secret's keys, during a rotation. */
  async #previousKeys(): Promise<Keys | undefined> {
    const secret = await this.#previousSecret();
    if (!secret) return undefined;
    if (this.#previous?.secret !== secret) this.#previous = { secret, keys: keysOf(secret) };
    return this.#previous.keys;
  }

  /** Calls of this instance currently holding an idempotency claim. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * The record of the call's key (argument or header), or undefined without
   * one; its claims count `leaseMs` (default: the longest a call takes).
   */
  async slot(
    ctx: GuardContext,
    call: GuardedCall,
    leaseMs = this.#leaseMs,
  ): Promise<Slot | undefined> {
    const key = idempotencyKeyOf(call.idempotencyKey, ctx.idempotencyKey);
    if (key === undefined) return undefined;
    const slot: Slot = { ...await part(this.#keys, await ctx.principal(), key, call), leaseMs };
    const previous = await this.#previousKeys();
    const principal = previous && await ctx.principal.previous?.();
    if (previous && principal) slot.previous = await part(previous, principal, key, call);
    return slot;
  }

  /**
   * Read the key's record until it says what to do: an earlier outcome to
   * repeat (returned, or thrown when it was an error), or `null` when the key
   * is free — and then, when `claim`, ours (a pending record). A stopped
   * batch's progress is returned as `{ partial }`, and claimed too when `claim`.
   */
  async resolve(
    ctx: GuardContext,
    slot: Slot,
    claim: boolean,
  ): Promise<Earlier | null> {
    let waited = false;
    const parts = partsOf(slot);
    for (;;) {
      const entries = await this.#store.getMany<KeyRecord>(parts.map((p) => p.key));
      const now = this.#now();
      const live = entries.map((e) => e.value && e.value.exp > now ? e.value : null);
      // The record that decides: one that still holds the key first (the current secret's
      // before the previous one's), else a freed one.
      let at = live.findIndex((r) => r !== null && r.s !== "failed");
      if (at < 0) at = Math.max(0, live.findIndex((r) => r !== null));
      const [record, part, entry] = [live[at] ?? null, parts[at]!, entries[at]!];
      if (record && record.s !== "failed" && record.fp !== part.fp) throw keyReused();
      if (record?.s === "done" || record?.s === "unknown") {
        return await this.#open(part, record);
      }
      if (record?.s === "failed" && waited && record.fp === part.fp) {
        // We waited for that very call: its definite refusal is our answer too.
        return await this.#open(part, record);
      }
      if (record?.s === "pending") {
        if ((record.until ?? 0) <= now && !this.#inflight.has(slot.id)) throw staleClaim();
        waited = true;
        await this.#waitForChange(ctx, slot, entry, record.until ?? now);
        continue;
      }
      const partial = record?.s === "partial" ? await this.#open(part, record) : null;
      if (!claim) return partial;
      const pending = (p: Part): KeyRecord => ({
        s: "pending",
        fp: p.fp,
        until: now + slot.leaseMs,
        exp: now + IDEMPOTENCY_TTL_MS,
      });
      const sets = parts.map((p) => ({ key: p.key, value: pending(p) }));
      try {
        if (await this.#store.commit({ checks: entries, sets, deletes: [] })) return partial;
      } catch (error) {
        if (error instanceof StoreFullError) throw storeFull();
        throw error;
      }
    }
  }

  /** Run the claimed call and record its outcome for repeats and waiting duplicates. */
  async record<T extends object>(
    ctx: GuardContext,
    slot: Slot,
    work: () => Promise<T>,
  ): Promise<T> {
    let settle!: () => void;
    this.#inflight.set(slot.id, new Promise<void>((resolve) => settle = resolve));
    try {
      let outcome: { output: T } | { error: ServiceError };
      let progress: object | null = null;
      try {
        outcome = { output: await work() };
      } catch (thrown) {
        if (thrown instanceof Stopped) progress = thrown.progress;
        outcome = { error: thrown instanceof Stopped ? thrown.error : asServiceError(thrown) };
      }
      const now = this.#now();
      /** What is kept: the state, for how long, and the sealed outcome; `null`: nothing. */
      let kept: { s: KeyRecord["s"]; exp: number; value: Sealed } | null;
      if ("output" in outcome) {
        kept = { s: "done", exp: now + IDEMPOTENCY_TTL_MS, value: { output: outcome.output } };
      } else if (progress) {
        // A batch stopped early: what it recorded stays, the rest is free for a retry.
        kept = { s: "partial", exp: now + IDEMPOTENCY_TTL_MS, value: { partial: progress } };
      } else {
        let error = ctx.signal.aborted && !outcome.error.facts.outcomeUnknown
          ? cancelledMidCall()
          : outcome.error;
        if (tokenRejected(error)) {
          // VertexSMS refused the token itself: keep nothing for a caller it does not accept.
          kept = null;
        } else if (definitelyNotBilled(error, ctx.signal)) {
          kept = { s: "failed", exp: now + slot.leaseMs, value: { error: serialize(error) } };
        } else {
          error = asUnknownOutcome(error);
          kept = {
            s: "unknown",
            exp: now + IDEMPOTENCY_TTL_MS,
            value: { error: serialize(error) },
          };
        }
        outcome = { error };
      }
      const parts = partsOf(slot);
      const sets = kept
        ? await Promise.all(parts.map(async (p) => ({
          key: p.key,
          value: { s: kept.s, fp: p.fp, box: await this.#seal(p, kept.value), exp: kept.exp },
        })))
        : [];
      // The caller gets its outcome even if the store fails now: the claim then stays
      // pending, and repeats read it as an unknown outcome once its lease is over.
      await this.#store.commit({
        checks: [],
        sets,
        deletes: kept ? [] : parts.map((p) => p.key),
      })
        .catch(() => {});
      if ("error" in outcome) throw outcome.error;
      return outcome.output;
    } finally {
      this.#inflight.delete(slot.id);
      settle();
    }
  }

  /** Wait until the pending record changes (or its claim runs out, or the caller gives up). */
  async #waitForChange(
    ctx: GuardContext,
    slot: Slot,
    seen: StoreEntry<KeyRecord>,
    until: number,
  ): Promise<void> {
    const local = this.#inflight.get(slot.id);
    if (local) return await abortable(local, ctx.signal);
    while (this.#now() < until) {
      await abortable(sleep(this.#pollMs, ctx.signal), ctx.signal);
      const [entry] = await this.#store.getMany<KeyRecord>([seen.key]);
      if (entry!.versionstamp !== seen.versionstamp) return;
    }
  }

  async #open(part: Part, record: KeyRecord): Promise<Earlier> {
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

  async #seal(part: Part, value: Sealed): Promise<string> {
    return await seal(await part.seal, part.id, JSON.stringify(value));
  }
}

/** One key of one token under one secret's keys. */
async function part(
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
function partsOf(slot: Slot): Part[] {
  return slot.previous ? [slot, slot.previous] : [slot];
}

/** The one idempotency key of a call: argument and header must agree. */
function idempotencyKeyOf(argument: string | undefined, header: string | undefined) {
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

function serialize(error: ServiceError) {
  return { code: error.code, message: error.message, facts: error.facts };
}

function keyReused(): ServiceError {
  return new ServiceError(
    "INVALID_INPUT",
    "This idempotency key was already used in the last 24 hours for a different call (another tool " +
      "or other arguments). Use a new key for a new request; repeat the original arguments exactly " +
      "to get the original result.",
    { details: [{ path: "idempotencyKey", message: "already used with different arguments" }] },
  );
}

function staleClaim(): ServiceError {
  return new ServiceError(
    "UPSTREAM_TIMEOUT",
    "An earlier call with this idempotency key started but never reported back (its server " +
      "stopped mid-call), so its outcome is unknown. Check whether it was carried out before " +
      "trying again with a new key.",
    { retryable: false, outcomeUnknown: true },
  );
}

function cancelledMidCall(): ServiceError {
  return new ServiceError(
    "UPSTREAM_UNAVAILABLE",
    "The call was cancelled while VertexSMS was handling it, so its outcome is unknown. Check " +
      "whether it was carried out before trying again with a new key.",
    { retryable: false, outcomeUnknown: true },
  );
}

/** `promise`, or a rejection once `signal` aborts (the call was cancelled). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelledWaiting());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledWaiting());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function cancelledWaiting(): ServiceError {
  return new ServiceError(
    "UPSTREAM_UNAVAILABLE",
    "The call was cancelled while it waited for an earlier call with the same idempotency key.",
    { retryable: true },
  );
}
