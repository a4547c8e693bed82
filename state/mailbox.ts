/**
 * One-time mailboxes shared by every instance: a waiting call reserves an
 * id, whoever receives the answer (an HLR callback, a user's reply) delivers
 * it to that id once, on any instance, and the waiting call receives it.
 *
 * - {@link MemoryMailboxes}: one process; delivery resolves the waiter.
 * - {@link KvMailboxes}: Deno KV. The reservation is a key; delivering
 *   consumes it atomically and writes the value, which the waiting instance
 *   sees through `watch` (and a slow poll, because a local SQLite file does
 *   not notify other processes). A delivery on the waiting instance itself
 *   resolves it directly.
 * - `RedisMailboxes` (`redis_mailboxes.ts`): the same on Redis, with a published
 *   wake-up instead of `watch`.
 *
 * Values are opaque strings: callers seal what must not sit in clear.
 */
import { sleep } from "../core/sleep.ts";
import { whileLocked } from "./kv.ts";

/** The mailboxes one server uses (all instances sharing its store). */
export interface Mailboxes {
  /** `"memory"` when deliveries only reach this process. */
  readonly kind: string;
  /** Reserve `id` in `box` for `ttlMs` (its delivery must come within). */
  reserve(box: string, id: string, ttlMs: number): Promise<void>;
  /**
   * Consume the reservation and leave `value` for the receiver: `false` for
   * an id never reserved, expired, released or already delivered to.
   */
  deliver(box: string, id: string, value: string): Promise<boolean>;
  /** The delivered value, or `null` once `timeoutMs` passed or `signal` aborted. */
  receive(box: string, id: string, timeoutMs: number, signal: AbortSignal): Promise<string | null>;
  /** Drop the reservation and any value left. */
  release(box: string, id: string): Promise<void>;
}

/** A pending receive on this instance. */
export interface Local {
  deliver: (value: string) => void;
  value?: string;
}

/** Waiters and reservations of this process, shared by every implementation. */
export class LocalBoxes {
  readonly #reserved = new Map<string, { until: number; waiter: Local }>();

  reserve(box: string, id: string, ttlMs: number): Local {
    const waiter: Local = { deliver: () => {} };
    this.#reserved.set(`${box}/${id}`, { until: Date.now() + ttlMs, waiter });
    return waiter;
  }

  get(box: string, id: string): Local | undefined {
    const entry = this.#reserved.get(`${box}/${id}`);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.#reserved.delete(`${box}/${id}`);
      return undefined;
    }
    return entry.waiter;
  }

  delete(box: string, id: string): void {
    this.#reserved.delete(`${box}/${id}`);
  }

  /**
   * The value for a reserved id: a local delivery, or what `remote` finds
   * (another instance's delivery), whichever comes first; `null` for an id
   * not reserved here, at `timeoutMs` or when `signal` aborts.
   */
  async receive(
    box: string,
    id: string,
    timeoutMs: number,
    signal: AbortSignal,
    remote?: (stopped: AbortSignal) => Promise<string | null>,
  ): Promise<string | null> {
    const waiter = this.get(box, id);
    if (!waiter) return null;
    const { stopped, stop } = deadline(timeoutMs, signal);
    try {
      const local = this.#wait(waiter, stopped);
      return await (remote ? Promise.race([local, remote(stopped)]) : local);
    } finally {
      stop();
    }
  }

  /** Resolve when a local delivery arrives (or at once when it already did). */
  #wait(waiter: Local, stopped: AbortSignal): Promise<string | null> {
    if (waiter.value !== undefined) return Promise.resolve(waiter.value);
    return new Promise((resolve) => {
      const stop = () => resolve(null);
      if (stopped.aborted) return stop();
      stopped.addEventListener("abort", stop, { once: true });
      waiter.deliver = (value) => {
        stopped.removeEventListener("abort", stop);
        resolve(value);
      };
    });
  }
}

/** A signal that aborts at `timeoutMs`, with `signal`, or with the returned `stop`. */
function deadline(timeoutMs: number, signal: AbortSignal) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const stopped = AbortSignal.any([controller.signal, signal]);
  return {
    stopped,
    stop: () => {
      clearTimeout(timer);
      controller.abort();
    },
  };
}

/** Mailboxes of one process. */
export class MemoryMailboxes implements Mailboxes {
  readonly kind = "memory";
  readonly #local = new LocalBoxes();

  reserve(box: string, id: string, ttlMs: number): Promise<void> {
    this.#local.reserve(box, id, ttlMs);
    return Promise.resolve();
  }

  deliver(box: string, id: string, value: string): Promise<boolean> {
    const waiter = this.#local.get(box, id);
    if (!waiter || waiter.value !== undefined) return Promise.resolve(false);
    waiter.value = value;
    waiter.deliver(value);
    return Promise.resolve(true);
  }

  receive(box: string, id: string, timeoutMs: number, signal: AbortSignal) {
    return this.#local.receive(box, id, timeoutMs, signal);
  }

  release(box: string, id: string): Promise<void> {
    this.#local.delete(box, id);
    return Promise.resolve();
  }
}

/** Options of {@link KvMailboxes}. */
export interface KvMailboxesOptions {
  /** Poll interval of the fallback for deliveries by another process (default 250 ms). */
  pollMs?: number;
}

/** Mailboxes on Deno KV: any instance sharing the database may deliver. */
export class KvMailboxes implements Mailboxes {
  readonly kind = "kv";
  readonly #kv: Deno.Kv;
  readonly #pollMs: number;
  readonly #local = new LocalBoxes();

  constructor(kv: Deno.Kv, options: KvMailboxesOptions = {}) {
    this.#kv = kv;
    this.#pollMs = options.pollMs ?? 250;
  }

  async reserve(box: string, id: string, ttlMs: number): Promise<void> {
    this.#local.reserve(box, id, ttlMs);
    await whileLocked(() => this.#kv.set(["mailbox", box, "open", id], true, { expireIn: ttlMs }));
  }

  async deliver(box: string, id: string, value: string): Promise<boolean> {
    const key = ["mailbox", box, "open", id];
    // The reservation key is the truth: whoever consumes it delivers.
    const open = await whileLocked(() => this.#kv.get<boolean>(key));
    if (open.value !== true) return false;
    const consume = this.#kv.atomic().check(open).delete(key);
    const waiter = this.#local.get(box, id);
    if (waiter) {
      if (!(await whileLocked(() => consume.commit())).ok) return false;
      waiter.value = value;
      waiter.deliver(value);
      return true;
    }
    const ttl = 60_000;
    const write = consume.set(["mailbox", box, "value", id], value, { expireIn: ttl });
    return (await whileLocked(() => write.commit())).ok;
  }

  receive(box: string, id: string, timeoutMs: number, signal: AbortSignal) {
    return this.#local.receive(
      box,
      id,
      timeoutMs,
      signal,
      (stopped) => this.#fromKv(["mailbox", box, "value", id], stopped),
    );
  }

  async release(box: string, id: string): Promise<void> {
    this.#local.delete(box, id);
    await whileLocked(() =>
      this.#kv.atomic().delete(["mailbox", box, "open", id]).delete(["mailbox", box, "value", id])
        .commit()
    );
  }

  /** Resolve when another process writes the value (watch, plus a slow poll). */
  async #fromKv(key: Deno.KvKey, stopped: AbortSignal): Promise<string | null> {
    const reader = this.#kv.watch<[string]>([key]).getReader();
    stopped.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
    const watched = (async () => {
      while (!stopped.aborted) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return null;
        const found = value?.[0]?.value;
        if (typeof found === "string") return found;
      }
      return null;
    })();
    const polled = (async () => {
      while (!stopped.aborted) {
        await sleep(this.#pollMs, stopped);
        if (stopped.aborted) return null;
        const entry = await whileLocked(() => this.#kv.get<string>(key));
        if (typeof entry.value === "string") return entry.value;
      }
      return null;
    })();
    // The watch ends early only on a stream error; the poll then carries on alone.
    return await Promise.race([watched, polled]) ?? await polled ?? await watched;
  }
}
