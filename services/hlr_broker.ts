/**
 * Hand-over of HLR results from `POST /callbacks/hlr/{id}` to the tool call
 * waiting for them, on this instance or any other.
 *
 * A waiting call reserves a one-time, unguessable id in the shared
 * mailboxes (`state/mailbox.ts`); the callback route delivers the result to
 * it once. The mailbox is named by a keyed hash of the id, never the id (a
 * reader of the state learns no callback URL), and while it crosses instances
 * the result is sealed (AES-GCM, bound to its id), so an IMSI never sits in
 * clear in shared state. Waiting lookups
 * are bounded on each instance, and per caller, so one token cannot take
 * every slot.
 */
import { ServiceError } from "../core/errors.ts";
import { base64url, hmac, randomId } from "../core/keys.ts";
import { seal, unseal } from "../core/seal.ts";
import type { Mailboxes } from "../state/mod.ts";
import type { HlrResult } from "../vertex/mod.ts";

/** The HLR hand-over seen from a tool. */
export interface HlrHandover {
  /** Reserve a one-time callback id for a caller (its token's keyed hash). */
  open(caller: string): Promise<HlrWait>;
}

/** A reserved HLR callback: its URL id, and a way to await the result. */
export interface HlrWait {
  id: string;
  /** Resolve with the delivered result, or `null` after `timeoutMs` (or when aborted). */
  wait(timeoutMs: number, signal: AbortSignal): Promise<HlrResult | null>;
  /** Give up the reservation. */
  close(): Promise<void>;
}

/** Options of {@link HlrBroker}. */
export interface HlrBrokerOptions {
  mailboxes: Mailboxes;
  /** The AES-GCM key sealing results in hand-over. */
  sealKey: () => Promise<CryptoKey>;
  /** The HMAC key naming a callback id's mailbox. */
  nameKey: () => Promise<CryptoKey>;
  /** Waiting lookups held at most on this instance (default 1000). */
  maxWaiting?: number;
  /** Of those, held at most for one caller (default 100). */
  maxPerCaller?: number;
}

const BOX = "hlr";
/** A reservation outlives the longest wait (30 s) with room to spare. */
const RESERVATION_MS = 60_000;

/** The HLR hand-over. */
export class HlrBroker implements HlrHandover {
  readonly #mailboxes: Mailboxes;
  readonly #sealKey: () => Promise<CryptoKey>;
  readonly #nameKey: () => Promise<CryptoKey>;
  readonly #max: number;
  readonly #maxPerCaller: number;
  readonly #callers = new Map<string, number>();
  #waiting = 0;

  constructor(options: HlrBrokerOptions) {
    this.#mailboxes = options.mailboxes;
    this.#sealKey = options.sealKey;
    this.#nameKey = options.nameKey;
    this.#max = options.maxWaiting ?? 1000;
    this.#maxPerCaller = options.maxPerCaller ?? 100;
  }

  /** Lookups currently waiting on this instance. */
  get waiting(): number {
    return this.#waiting;
  }

  async open(caller: string): Promise<HlrWait> {
    const mine = this.#callers.get(caller) ?? 0;
    if (this.#waiting >= this.#max || mine >= this.#maxPerCaller) {
      throw new ServiceError(
        "RATE_LIMITED",
        mine >= this.#maxPerCaller
          ? `This token already has ${mine} HLR lookups waiting for results, the most one token ` +
            "may have at once. Nothing was billed; try again when some have finished."
          : "Too many HLR lookups are waiting for results on this server. Nothing was billed; " +
            "try again in a few seconds.",
        { retryAfterSeconds: 5 },
      );
    }
    this.#waiting++;
    this.#callers.set(caller, mine + 1);
    const id = randomId();
    const box = await this.#boxOf(id);
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      this.#waiting--;
      const left = (this.#callers.get(caller) ?? 1) - 1;
      if (left > 0) this.#callers.set(caller, left);
      else this.#callers.delete(caller);
      // Best effort: the reservation and any value left expire by themselves, and a failed
      // release must not replace the lookup's own outcome.
      await this.#mailboxes.release(BOX, box).catch(() => {});
    };
    try {
      await this.#mailboxes.reserve(BOX, box, RESERVATION_MS);
    } catch (error) {
      await close().catch(() => {});
      throw error;
    }
    return {
      id,
      close,
      wait: async (timeoutMs, signal) => {
        let sealed: string | null;
        try {
          sealed = await this.#mailboxes.receive(BOX, box, timeoutMs, signal);
        } catch (error) {
          // The lookup was sent before anyone waits: a failure now is no refusal.
          throw new ServiceError(
            "UPSTREAM_UNAVAILABLE",
            "The HLR lookup was sent, but its result could not be received (this server's " +
              "shared state failed). The lookup was billed; check before repeating it.",
            { retryable: false, outcomeUnknown: true },
            { cause: error },
          );
        }
        if (sealed === null) return null;
        const delivered: { result?: HlrResult } = JSON.parse(
          await unseal(await this.#sealKey(), id, sealed),
        );
        if (!delivered.result) {
          throw new ServiceError(
            "UPSTREAM_BAD_RESPONSE",
            "VertexSMS delivered an HLR result this server could not read. The lookup was billed; " +
              "please report the request_id.",
          );
        }
        return delivered.result;
      },
    };
  }

  /**
   * Deliver a callback result. `true` when a lookup was waiting for `id`
   * (it is then consumed); `false` for unknown, expired or replayed ids.
   */
  async deliver(id: string, result: HlrResult): Promise<boolean> {
    const sealed = await seal(await this.#sealKey(), id, JSON.stringify({ result }));
    return await this.#mailboxes.deliver(BOX, await this.#boxOf(id), sealed);
  }

  /**
   * Spend `id` on a delivery that could not be read (not JSON, not an HLR
   * result, too large): the waiting lookup fails, and the id is dead.
   */
  async spoil(id: string): Promise<boolean> {
    const sealed = await seal(await this.#sealKey(), id, JSON.stringify({ spoiled: true }));
    return await this.#mailboxes.deliver(BOX, await this.#boxOf(id), sealed);
  }

  /** The mailbox of a callback id: its keyed hash. */
  async #boxOf(id: string): Promise<string> {
    return base64url(await hmac(await this.#nameKey(), `hlr-callback:${id}`));
  }
}
