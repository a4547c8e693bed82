/**
 * Money safety: the guards in front of every billable call.
 *
 * - **Idempotency** (`send_sms`, `lookup_hlr`, `register_sender_id`): a key
 *   (argument or `Idempotency-Key` header) is remembered per token for 24 h.
 *   The same key with the same arguments returns the first outcome without
 *   calling VertexSMS; other arguments are refused; a concurrent duplicate
 *   waits for the first call (in process, and across instances through the
 *   store's atomic "pending" claim). What is kept: the tool's output, sealed
 *   (AES-GCM, key derived from the server secret and the token's keyed
 *   hash) — never the arguments, the SMS text or the token. A definite
 *   refusal (nothing was sent) frees the key; an outcome that may have been
 *   billed (timeout after sending, broken connection, HLR timeout) is kept and
 *   replayed, so a retry never sends twice.
 * - **Confirmation** (`send_sms`): the user is asked when the client can be
 *   asked; with `SMS_REQUIRE_CONFIRMATION`, other clients must pass the
 *   single-use `confirmationToken` a dry run minted for exactly those
 *   arguments (HMAC-signed, bound to the token's keyed hash, 10 minutes).
 * - **Throttles and the spend cap** (`send_sms`): sends per minute, distinct
 *   recipients per hour and estimated EUR per 24 hours, per token, checked
 *   and counted in one atomic commit; a definite refusal gives the count back.
 *   Each window opens at the first send it counts.
 *
 * Tools reach the guards through `ToolServices.money`; nothing here knows
 * HTTP or MCP. State lives in a {@link GuardStore} (Deno KV across instances,
 * or bounded memory).
 */
import { createRequestStateCodec, type ServerContext } from "@modelcontextprotocol/server";
import type {
  BillableCall,
  ConfirmationToken,
  MoneyGuards,
  SendCall,
  SmsQuote,
  ToolContext,
} from "../tools/define.ts";
import { IDEMPOTENCY_KEY } from "../tools/schemas.ts";
import { asServiceError, type ErrorFacts, ServiceError } from "./errors.ts";
import { formatEur } from "./eur.ts";
import type { Expiring, GuardStore, StoreEntry, StoreKey } from "./guard_store.ts";
import { sleep } from "./sleep.ts";
import {
  base64url,
  deriveKey,
  fromBase64url,
  hmac,
  hmacKey,
  memo,
  type SecretSource,
} from "./principal.ts";

/** The request-state codec's context, for a codec without `bind` (which never reads it). */
const NO_CONTEXT = {} as ServerContext;

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a dry run's confirmation token is valid. */
export const CONFIRMATION_TTL_SECONDS = 600;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Per-token limits of `send_sms`; 0 switches a limit off. */
export interface SendLimits {
  sendsPerMinute: number;
  /** Distinct recipients per hour. */
  recipientsPerHour: number;
  /** Estimated spend per 24 hours, in micro-euros. */
  dailySpendCapMicros: number;
}

/** Options of {@link Money}. */
export interface MoneyOptions {
  store: GuardStore;
  /** The master secret (see `principal.ts`). */
  secret: SecretSource;
  limits: SendLimits;
  /** Clients that cannot be asked must bring a dry run's confirmation token. */
  requireConfirmation: boolean;
  /**
   * Longest a billable call can take: a claim still pending after this is
   * treated as an unknown outcome (its instance stopped mid-call).
   */
  leaseMs: number;
  /** Poll interval while waiting for a duplicate on another instance (default 100 ms). */
  pollMs?: number;
  now?: () => number;
}

/** The stored state of one idempotency key. */
interface KeyRecord extends Expiring {
  /** pending: running · done: output kept · unknown: maybe billed, error kept · failed: freed. */
  s: "pending" | "done" | "unknown" | "failed";
  /** Keyed digest of the tool and arguments. */
  fp: string;
  /** pending: when the claim stops counting. */
  until?: number;
  /** Sealed `{ output }` or `{ error }`. */
  box?: string;
}

/** One idempotency key of one token, as the guards address it. */
interface Slot {
  key: StoreKey;
  /** `key` as a string, for the in-process map. */
  id: string;
  /** Keyed digest of the tool and arguments. */
  fp: string;
  /** AES-GCM key sealing this token's records. */
  seal: Promise<CryptoKey>;
}

/** A limit's current window (or, for a distinct-recipient marker, the window it was counted in). */
interface Window extends Expiring {
  /** When the window opened, epoch milliseconds; it closes at `exp`. */
  start: number;
  /** What it counted so far (sends, recipients or micro-euros). */
  n: number;
}

type Sealed = { output: object } | { error: { code: string; message: string; facts: ErrorFacts } };

interface Limit {
  name: "sends" | "recipients" | "spend";
  limit: number;
  windowMs: number;
  amount: number;
  /** Counted once per window (distinct recipients). */
  member?: string;
}

/** What one send counted, to give back if it turns out nothing was sent. */
interface Lease {
  taken: { key: StoreKey; start: number; amount: number; member?: StoreKey }[];
}

/** JSON with object keys sorted and `undefined` dropped: equal arguments, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The money guards of one server (all instances sharing its store and secret). */
export class Money implements MoneyGuards {
  readonly #store: GuardStore;
  readonly #limits: SendLimits;
  readonly #requireConfirmation: boolean;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #digestKey: () => Promise<CryptoKey>;
  readonly #sealBase: () => Promise<CryptoKey>;
  readonly #tokens: () => Promise<ReturnType<typeof createRequestStateCodec<{ d: string }>>>;
  /** Calls running on this instance, by idempotency record: settle when recorded. */
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(options: MoneyOptions) {
    this.#store = options.store;
    this.#limits = options.limits;
    this.#requireConfirmation = options.requireConfirmation;
    this.#leaseMs = options.leaseMs;
    this.#pollMs = options.pollMs ?? 100;
    this.#now = options.now ?? Date.now;
    const digest = deriveKey(options.secret, "digest");
    const seal = deriveKey(options.secret, "seal");
    const confirmation = deriveKey(options.secret, "confirmation");
    this.#digestKey = memo(async () => await hmacKey(await digest()));
    this.#sealBase = memo(async () => await hmacKey(await seal()));
    this.#tokens = memo(async () =>
      createRequestStateCodec<{ d: string }>({
        key: await confirmation(),
        ttlSeconds: CONFIRMATION_TTL_SECONDS,
      })
    );
  }

  /** Calls of this instance currently holding an idempotency claim. */
  get inflight(): number {
    return this.#inflight.size;
  }

  async once<T extends object>(ctx: ToolContext, call: BillableCall<T>): Promise<T> {
    const slot = await this.#slot(ctx, call);
    if (!slot) return await call.run();
    const earlier = await this.#resolve(ctx, slot, true);
    if (earlier) return earlier.output as T;
    return await this.#record(ctx, slot, call.run);
  }

  async send<T extends object>(ctx: ToolContext, call: SendCall<T>): Promise<T> {
    const slot = await this.#slot(ctx, call);
    if (slot) {
      // A repeat of a finished call answers before anyone is asked anything.
      const earlier = await this.#resolve(ctx, slot, false);
      if (earlier) return earlier.output as T;
    }
    let quote: SmsQuote | null | undefined;
    const binding = () => this.#binding(ctx, call.tool, call.args);
    if (ctx.confirm) {
      quote = await call.quote().catch(unlessScope);
      const question = { message: call.question(quote), binding: await binding() };
      const answer = await ctx.confirm(question);
      if (answer !== "accept") return call.declined(answer);
    }
    if (call.confirmationToken !== undefined) {
      await this.#checkToken(call.confirmationToken, await binding());
    } else if (this.#requireConfirmation && !ctx.confirm) {
      throw confirmationNeeded();
    }
    const work = async () => {
      const cost = this.#limits.dailySpendCapMicros > 0
        ? await this.#costForCap(call, quote)
        : null;
      const lease = await this.#reserve(ctx, call.recipient, cost);
      try {
        if (call.confirmationToken !== undefined) await this.#spendToken(call.confirmationToken);
        return await call.run();
      } catch (error) {
        if (!mayHaveBilled(asServiceError(error), ctx.signal)) await this.#refund(lease);
        throw error;
      }
    };
    if (!slot) return await work();
    const earlier = await this.#resolve(ctx, slot, true);
    if (earlier) return earlier.output as T;
    return await this.#record(ctx, slot, work);
  }

  async confirmationToken(
    ctx: ToolContext,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<ConfirmationToken> {
    const codec = await this.#tokens();
    const token = await codec.mint({ d: await this.#binding(ctx, tool, args) });
    return { token, expiresInSeconds: CONFIRMATION_TTL_SECONDS };
  }

  // ---------------------------------------------------------------------------
  // Idempotency

  /** The record of the call's key (argument or header), or undefined without one. */
  async #slot(ctx: ToolContext, call: BillableCall<unknown>): Promise<Slot | undefined> {
    const key = idempotencyKeyOf(call.idempotencyKey, ctx.idempotencyKey);
    if (key === undefined) return undefined;
    const principal = await ctx.principal();
    const storeKey = ["idem", principal, await this.#digest("key", key)];
    return {
      key: storeKey,
      id: JSON.stringify(storeKey),
      fp: await this.#digest("args", call.tool, canonicalJson(call.args)),
      seal: this.#sealKey(principal),
    };
  }

  /**
   * Read the key's record until it says what to do: an earlier outcome to
   * repeat (returned, or thrown when it was an error), or `null` when the key
   * is free — and then, when `claim`, ours (a pending record).
   */
  async #resolve(
    ctx: ToolContext,
    slot: Slot,
    claim: boolean,
  ): Promise<{ output: object } | null> {
    let waited = false;
    for (;;) {
      const [entry] = await this.#store.getMany<KeyRecord>([slot.key]);
      const now = this.#now();
      const record = entry!.value && entry!.value.exp > now ? entry!.value : null;
      if (record && record.s !== "failed" && record.fp !== slot.fp) throw keyReused();
      if (record?.s === "done" || record?.s === "unknown") {
        return await this.#open(slot, record);
      }
      if (record?.s === "failed" && waited && record.fp === slot.fp) {
        // We waited for that very call: its definite refusal is our answer too.
        return await this.#open(slot, record);
      }
      if (record?.s === "pending") {
        if ((record.until ?? 0) <= now && !this.#inflight.has(slot.id)) throw staleClaim();
        waited = true;
        await this.#waitForChange(ctx, slot, entry!, record.until ?? now);
        continue;
      }
      if (!claim) return null;
      const pending: KeyRecord = {
        s: "pending",
        fp: slot.fp,
        until: now + this.#leaseMs,
        exp: now + IDEMPOTENCY_TTL_MS,
      };
      const sets = [{ key: slot.key, value: pending }];
      if (await this.#store.commit({ checks: [entry!], sets, deletes: [] })) return null;
    }
  }

  /** Run the claimed call and record its outcome for repeats and waiting duplicates. */
  async #record<T extends object>(
    ctx: ToolContext,
    slot: Slot,
    work: () => Promise<T>,
  ): Promise<T> {
    let settle!: () => void;
    this.#inflight.set(slot.id, new Promise<void>((resolve) => settle = resolve));
    try {
      let outcome: { output: T } | { error: ServiceError };
      try {
        outcome = { output: await work() };
      } catch (thrown) {
        outcome = { error: asServiceError(thrown) };
      }
      const now = this.#now();
      let record: KeyRecord;
      if ("output" in outcome) {
        const box = await this.#seal(slot, { output: outcome.output });
        record = { s: "done", fp: slot.fp, box, exp: now + IDEMPOTENCY_TTL_MS };
      } else {
        const error = ctx.signal.aborted && !outcome.error.facts.outcomeUnknown
          ? cancelledMidCall()
          : outcome.error;
        outcome = { error };
        const billed = mayHaveBilled(error, ctx.signal);
        const box = await this.#seal(slot, { error: serialize(error) });
        record = billed
          ? { s: "unknown", fp: slot.fp, box, exp: now + IDEMPOTENCY_TTL_MS }
          : { s: "failed", fp: slot.fp, box, exp: now + this.#leaseMs };
      }
      // The caller gets its outcome even if the store fails now: the claim then stays
      // pending, and repeats read it as an unknown outcome once its lease is over.
      await this.#store.commit({
        checks: [],
        sets: [{ key: slot.key, value: record }],
        deletes: [],
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
    ctx: ToolContext,
    slot: Slot,
    seen: StoreEntry<KeyRecord>,
    until: number,
  ): Promise<void> {
    const local = this.#inflight.get(slot.id);
    if (local) return await abortable(local, ctx.signal);
    while (this.#now() < until) {
      await abortable(sleep(this.#pollMs, ctx.signal), ctx.signal);
      const [entry] = await this.#store.getMany<KeyRecord>([slot.key]);
      if (entry!.versionstamp !== seen.versionstamp) return;
    }
  }

  async #open(slot: Slot, record: KeyRecord): Promise<{ output: object }> {
    let sealed: Sealed;
    try {
      const bytes = fromBase64url(record.box ?? "");
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: encode(slot.id) },
        await slot.seal,
        bytes.slice(12),
      );
      sealed = JSON.parse(new TextDecoder().decode(plain));
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
    const { code, message, facts } = sealed.error;
    throw new ServiceError(code as ServiceError["code"], message, facts);
  }

  async #seal(slot: Slot, value: Sealed): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const cipher = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encode(slot.id) },
      await slot.seal,
      encode(JSON.stringify(value)),
    );
    const out = new Uint8Array(12 + cipher.byteLength);
    out.set(iv);
    out.set(new Uint8Array(cipher), 12);
    return base64url(out);
  }

  async #sealKey(principal: string): Promise<CryptoKey> {
    const raw = await hmac(await this.#sealBase(), principal);
    return await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  }

  // ---------------------------------------------------------------------------
  // Confirmation

  /** Digest binding a confirmation to this caller, tool and exact arguments. */
  async #binding(ctx: ToolContext, tool: string, args: Record<string, unknown>): Promise<string> {
    return await this.#digest("confirm", await ctx.principal(), tool, canonicalJson(args));
  }

  async #checkToken(token: string, binding: string): Promise<void> {
    let payload: { d?: unknown };
    try {
      // No `bind` is configured (the binding is inside the payload), so `verify` ignores its context.
      payload = await (await this.#tokens()).verify(token, NO_CONTEXT) as { d?: unknown };
    } catch {
      throw tokenRefused(
        "is invalid or has expired (tokens last 10 minutes). Call send_sms with dryRun: true " +
          "again, show the user the quote, and send with the new confirmation_token.",
      );
    }
    if (payload?.d !== binding) {
      throw tokenRefused(
        "was issued for other arguments (or another token). Quote exactly what you send: call " +
          "send_sms with dryRun: true and these arguments, and confirm that quote with the user.",
      );
    }
  }

  /** Mark a confirmation token used; a second use is refused. */
  async #spendToken(token: string): Promise<void> {
    const key = ["confirmation", await this.#digest("token", token)];
    const [entry] = await this.#store.getMany([key]);
    const now = this.#now();
    const used = entry!.value !== null && entry!.value.exp > now;
    const value = { exp: now + CONFIRMATION_TTL_SECONDS * 1000 };
    if (
      used || !(await this.#store.commit({ checks: [entry!], sets: [{ key, value }], deletes: [] }))
    ) {
      throw tokenRefused(
        "was already used for a send. Each confirmation covers one message: run a new dry run " +
          "and confirm again to send another.",
      );
    }
  }

  // ---------------------------------------------------------------------------
  // Throttles and the spend cap

  async #costForCap(call: SendCall<unknown>, known: SmsQuote | null | undefined): Promise<number> {
    let quote = known;
    if (!quote) {
      try {
        quote = await call.quote();
      } catch (thrown) {
        const error = asServiceError(thrown);
        throw new ServiceError(
          error.code,
          "A daily spend cap is set on this server, so every SMS is priced before it is sent, " +
            `and the price could not be read: ${error.message} Nothing was sent.`,
          error.facts,
        );
      }
    }
    if (quote.costMicros === null) {
      throw new ServiceError(
        "INVALID_INPUT",
        "A daily spend cap is set on this server, and this account's price list has no rate for " +
          "the destination, so its cost cannot be counted. Nothing was sent.",
        { details: [{ path: "to", message: "no rate for this destination in the price list" }] },
      );
    }
    return quote.costMicros;
  }

  /**
   * Check and count every limit in one atomic commit, or refuse with
   * RATE_LIMITED. Each window starts at the first send it counts (a minute,
   * an hour, 24 hours) and ends that long after.
   */
  async #reserve(ctx: ToolContext, recipient: string, cost: number | null): Promise<Lease> {
    const principal = await ctx.principal();
    const { sendsPerMinute, recipientsPerHour, dailySpendCapMicros } = this.#limits;
    const limits: Limit[] = [
      { name: "sends" as const, limit: sendsPerMinute, windowMs: MINUTE, amount: 1 },
      {
        name: "recipients" as const,
        limit: recipientsPerHour,
        windowMs: HOUR,
        amount: 1,
        member: recipientsPerHour > 0 ? await this.#digest("recipient", recipient) : undefined,
      },
      { name: "spend" as const, limit: dailySpendCapMicros, windowMs: DAY, amount: cost ?? 0 },
    ].filter((l) => l.limit > 0);
    if (limits.length === 0) return { taken: [] };
    const plan = limits.map((l) => ({
      ...l,
      key: ["limit", principal, l.name] as StoreKey,
      memberKey: l.member === undefined ? undefined : ["limit", principal, l.name, l.member],
    }));
    const keys = plan.flatMap((p) => p.memberKey ? [p.key, p.memberKey] : [p.key]);
    for (let attempt = 0; attempt < 20; attempt++) {
      const entries = await this.#store.getMany<Window>(keys);
      const now = this.#now();
      const live = (i: number) => {
        const v = entries[i]!.value;
        return v && v.exp > now ? v : null;
      };
      const sets: { key: StoreKey; value: Window }[] = [];
      const taken: Lease["taken"] = [];
      let i = 0;
      for (const p of plan) {
        const window = live(i++) ?? { start: now, n: 0, exp: now + p.windowMs };
        const seen = p.memberKey ? live(i++)?.start === window.start : false;
        const add = p.memberKey ? (seen ? 0 : 1) : p.amount;
        if (window.n + add > p.limit) throw overLimit(p, window, add, now);
        if (add === 0) continue;
        sets.push({ key: p.key, value: { ...window, n: window.n + add } });
        if (p.memberKey) sets.push({ key: p.memberKey, value: { ...window, n: 1 } });
        taken.push({ key: p.key, start: window.start, amount: add, member: p.memberKey });
      }
      if (await this.#store.commit({ checks: entries, sets, deletes: [] })) return { taken };
    }
    throw new ServiceError(
      "RATE_LIMITED",
      "Too many sends are being counted for this token at once. Nothing was sent; try again in a second.",
      { retryAfterSeconds: 1 },
    );
  }

  /** Give back what a refused send counted (best effort: a lost race keeps the count). */
  async #refund(lease: Lease): Promise<void> {
    if (lease.taken.length === 0) return;
    const keys = lease.taken.flatMap((t) => t.member ? [t.key, t.member] : [t.key]);
    for (let attempt = 0; attempt < 5; attempt++) {
      const entries = await this.#store.getMany<Window>(keys);
      const sets: { key: StoreKey; value: Window }[] = [];
      const deletes: StoreKey[] = [];
      let i = 0;
      for (const t of lease.taken) {
        const window = entries[i++]!.value;
        const member = t.member ? entries[i++]!.value : null;
        // Only the window that counted the send gives it back.
        if (window?.start !== t.start) continue;
        sets.push({ key: t.key, value: { ...window, n: Math.max(0, window.n - t.amount) } });
        if (t.member && member?.start === t.start) deletes.push(t.member);
      }
      if (await this.#store.commit({ checks: entries, sets, deletes })) return;
    }
  }

  // ---------------------------------------------------------------------------

  /** Keyed digest (HMAC-SHA256 under a derived key) of some labelled parts. */
  async #digest(label: string, ...parts: string[]): Promise<string> {
    return base64url(await hmac(await this.#digestKey(), [label, ...parts].join("\u0000")));
  }
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

/** Whether a failed billable call may have cost money (so its key must not be freed). */
function mayHaveBilled(error: ServiceError, signal: AbortSignal): boolean {
  if (error.facts.outcomeUnknown === true || signal.aborted) return true;
  // HLR_TIMEOUT: billed. A 2xx we could not read, or a bug after the call: unknown.
  return error.code === "HLR_TIMEOUT" || error.code === "UPSTREAM_BAD_RESPONSE" ||
    error.code === "INTERNAL_ERROR";
}

/** Rates the token may not read leave the estimate unknown; anything else is an error. */
function unlessScope(thrown: unknown): null {
  const error = asServiceError(thrown);
  if (error.facts.requiredScope !== undefined) return null;
  throw error;
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

function confirmationNeeded(): ServiceError {
  return new ServiceError(
    "INVALID_INPUT",
    "This server requires the user's confirmation before an SMS is sent. Call send_sms with the " +
      "same arguments and dryRun: true, show the user the quote (recipient, text, parts, cost), " +
      "and when they agree, call again with confirmationToken set to the quote's confirmation_token.",
    { details: [{ path: "confirmationToken", message: "required: take it from a dry run" }] },
  );
}

function tokenRefused(why: string): ServiceError {
  return new ServiceError("INVALID_INPUT", `The confirmationToken ${why}`, {
    details: [{ path: "confirmationToken", message: why.split(".")[0]! }],
  });
}

function overLimit(p: Limit, window: Window, add: number, now: number): ServiceError {
  const used = window.n;
  const seconds = Math.max(1, Math.ceil((window.exp - now) / 1000));
  if (add > p.limit) {
    return new ServiceError(
      "RATE_LIMITED",
      `This SMS alone is estimated at €${formatEur(add)}, more than the spend cap of ` +
        `€${
          formatEur(p.limit)
        } per 24 hours (SMS_DAILY_SPEND_CAP_EUR). Nothing was sent; it cannot be sent ` +
        "under this cap.",
      { retryable: false },
    );
  }
  const wait = `Nothing was sent. Try again in ${seconds} seconds.`;
  const message = p.name === "sends"
    ? `This token already sent ${used} SMS within a minute, the limit of this server ` +
      `(SMS_SENDS_PER_MINUTE=${p.limit}). ${wait}`
    : p.name === "recipients"
    ? `This token already messaged ${used} different recipients within an hour, the limit of ` +
      `this server (SMS_RECIPIENTS_PER_HOUR=${p.limit}). Recipients already messaged in this ` +
      `hour can still be reached. ${wait}`
    : `Sending would bring this token's estimated spend today to €${formatEur(used + add)}, over ` +
      `the cap of €${formatEur(p.limit)} per 24 hours (SMS_DAILY_SPEND_CAP_EUR). ${wait}`;
  return new ServiceError("RATE_LIMITED", message, { retryAfterSeconds: seconds });
}

function encode(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
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
