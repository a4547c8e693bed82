/**
 * Hand-over of HLR results from `POST /callbacks/hlr/{id}` to the tool call
 * waiting for them, on this instance or any other.
 *
 * A waiting call reserves a one-time, unguessable id. In process, a map of
 * waiters resolves directly. With Deno KV (local SQLite or Deno Deploy's
 * database), the reservation is also a KV key: a callback reaching another
 * instance consumes that key atomically and writes the result, which the
 * waiting instance sees through `watch` (and a slow poll, because a local
 * SQLite file does not notify other processes).
 */
import { ServiceError } from "../core/errors.ts";
import { randomId } from "../core/keys.ts";
import { sleep } from "../core/sleep.ts";
import type { HlrResult } from "../vertex/mod.ts";

/** The HLR hand-over seen from a tool. */
export interface HlrHandover {
  /** Reserve a one-time callback id. */
  open(): Promise<HlrWait>;
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
  /** Shared store for cross-instance hand-over; `null` for in-process only. */
  kv: Deno.Kv | null;
  /** Waiting lookups held at most on this instance (default 1000). */
  maxWaiting?: number;
  /** Poll interval of the KV fallback, in milliseconds (default 250). */
  pollMs?: number;
}

const WAITING = "hlr_waiting";
const RESULT = "hlr_result";
/** A reservation outlives the longest wait (30 s) with room to spare. */
const RESERVATION_MS = 60_000;

/** The HLR hand-over. */
export class HlrBroker implements HlrHandover {
  readonly #local = new Map<string, (result: HlrResult) => void>();
  readonly #kv: Deno.Kv | null;
  readonly #max: number;
  readonly #pollMs: number;

  constructor(options: HlrBrokerOptions) {
    this.#kv = options.kv;
    this.#max = options.maxWaiting ?? 1000;
    this.#pollMs = options.pollMs ?? 250;
  }

  /** Lookups currently waiting on this instance. */
  get waiting(): number {
    return this.#local.size;
  }

  /** Reserve a one-time callback id. */
  async open(): Promise<HlrWait> {
    if (this.#local.size >= this.#max) {
      throw new ServiceError(
        "RATE_LIMITED",
        "Too many HLR lookups are waiting for results on this server. Try again in a few seconds.",
        { retryAfterSeconds: 5 },
      );
    }
    const id = randomId();
    let deliver!: (result: HlrResult) => void;
    const delivered = new Promise<HlrResult>((resolve) => deliver = resolve);
    this.#local.set(id, deliver);
    const kv = this.#kv;
    if (kv) await kv.set([WAITING, id], true, { expireIn: RESERVATION_MS });
    const close = async () => {
      this.#local.delete(id);
      if (kv) await kv.atomic().delete([WAITING, id]).delete([RESULT, id]).commit();
    };
    return {
      id,
      close,
      wait: (timeoutMs, signal) => this.#wait(id, delivered, timeoutMs, signal),
    };
  }

  /**
   * Deliver a callback result. `true` when a lookup was waiting for `id`
   * (it is then consumed); `false` for unknown, expired or replayed ids.
   */
  async deliver(id: string, result: HlrResult): Promise<boolean> {
    const local = this.#local.get(id);
    const kv = this.#kv;
    if (!kv) {
      if (!local) return false;
      this.#local.delete(id);
      local(result);
      return true;
    }
    // With KV, the reservation key is the truth: whoever consumes it delivers.
    const waiting = await kv.get<boolean>([WAITING, id]);
    if (waiting.value !== true) return false;
    const consume = kv.atomic().check(waiting).delete([WAITING, id]);
    if (local) {
      if (!(await consume.commit()).ok) return false;
      this.#local.delete(id);
      local(result);
      return true;
    }
    return (await consume.set([RESULT, id], result, { expireIn: RESERVATION_MS }).commit()).ok;
  }

  async #wait(
    id: string,
    delivered: Promise<HlrResult>,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<HlrResult | null> {
    const stop = new AbortController();
    const stopped = AbortSignal.any([stop.signal, signal, AbortSignal.timeout(timeoutMs)]);
    const ended = new Promise<null>((resolve) => {
      if (stopped.aborted) resolve(null);
      stopped.addEventListener("abort", () => resolve(null), { once: true });
    });
    const racers: Promise<HlrResult | null>[] = [delivered, ended];
    if (this.#kv) racers.push(this.#fromKv(this.#kv, id, stopped));
    try {
      return await Promise.race(racers);
    } finally {
      stop.abort();
      this.#local.delete(id);
    }
  }

  /** Resolve when another instance writes the result (watch, plus a slow poll). */
  async #fromKv(kv: Deno.Kv, id: string, stopped: AbortSignal): Promise<HlrResult | null> {
    const key = [RESULT, id];
    const stream = kv.watch<[HlrResult]>([key]);
    const reader = stream.getReader();
    stopped.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
    const watched = (async () => {
      while (!stopped.aborted) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return null;
        const result = value?.[0]?.value;
        if (result) return result;
      }
      return null;
    })();
    const polled = (async () => {
      while (!stopped.aborted) {
        await sleep(this.#pollMs, stopped);
        if (stopped.aborted) return null;
        const entry = await kv.get<HlrResult>(key);
        if (entry.value) return entry.value;
      }
      return null;
    })();
    // The watch ends early only on a stream error; the poll then carries on alone.
    return await Promise.race([watched, polled]) ?? await polled ?? await watched;
  }
}
