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
 *
 * The records themselves (the key, where a record is stored, how its outcome
 * is sealed, what a finished call keeps) are `idempotency_records.ts`; this
 * file is the protocol: claim, wait, run and record.
 */
import { ServiceError } from "../core/errors.ts";
import type { SecretSource } from "../core/keys.ts";
import { sleep } from "../core/sleep.ts";
import { type Store, type StoreEntry, StoreFullError } from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import {
  deciding,
  type Earlier,
  failure,
  idempotencyKeyOf,
  type Kept,
  type KeyRecord,
  type Keys,
  keysOf,
  openRecord,
  part,
  partsOf,
  pending,
  sealedRecord,
  type Slot,
  success,
} from "./idempotency_records.ts";
import { storeFull } from "./outcome.ts";
import type { GuardContext, GuardedCall } from "./types.ts";

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
      const { record, part, entry } = deciding(entries, parts, now);
      if (record && record.s !== "failed" && record.fp !== part.fp) throw keyReused();
      if (record?.s === "done" || record?.s === "unknown") return await openRecord(part, record);
      if (record?.s === "failed" && waited && record.fp === part.fp) {
        // We waited for that very call: its definite refusal is our answer too.
        return await openRecord(part, record);
      }
      if (record?.s === "pending") {
        if ((record.until ?? 0) <= now && !this.#inflight.has(slot.id)) throw staleClaim();
        waited = true;
        await this.#waitForChange(ctx, slot, entry, record.until ?? now);
        continue;
      }
      const partial = record?.s === "partial" ? await openRecord(part, record) : null;
      if (!claim) return partial;
      const sets = parts.map((p) => ({ key: p.key, value: pending(p, now, slot.leaseMs) }));
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
      let output: T;
      try {
        output = await work();
      } catch (thrown) {
        const { error, kept } = failure(ctx.signal, slot, thrown, this.#now());
        await this.#keep(slot, kept);
        throw error;
      }
      await this.#keep(slot, success(output, this.#now()));
      return output;
    } finally {
      this.#inflight.delete(slot.id);
      settle();
    }
  }

  /** Write what a finished call's key keeps, under every secret's key (`null`: free the key). */
  async #keep(slot: Slot, kept: Kept | null): Promise<void> {
    const parts = partsOf(slot);
    const sets = kept
      ? await Promise.all(
        parts.map(async (p) => ({ key: p.key, value: await sealedRecord(p, kept) })),
      )
      : [];
    // The caller gets its outcome even if the store fails now: the claim then stays
    // pending, and repeats read it as an unknown outcome once its lease is over.
    await this.#store.commit({
      checks: [],
      sets,
      deletes: kept ? [] : parts.map((p) => p.key),
    })
      .catch(() => {});
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
