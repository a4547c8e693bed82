/**
 * {@link Mailboxes} on Redis: the reservation is a key with a TTL;
 * delivering runs a script ({@link DELIVER_SCRIPT}) that consumes it and
 * leaves the value (with a TTL) under the value key, then publishes a
 * wake-up. The value key is the truth: the waiting instance listens on one
 * shared subscriber connection and also polls the key slowly, so a wake-up
 * lost to a reconnect costs latency, never the result. A delivery on the
 * waiting instance resolves it directly.
 */
import { sleep } from "../core/sleep.ts";
import { LocalBoxes, type Mailboxes } from "./mailbox.ts";
import { type Connection, guarded, Script } from "./redis_connection.ts";

/**
 * Deliver to a reservation once. KEYS: the reservation, the value key.
 * ARGV: the value, its TTL (ms), the wake-up channel and message. Returns 1,
 * or 0 when there was no reservation (never made, expired, released or
 * already delivered to).
 */
export const DELIVER_SCRIPT = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

const DELIVER = new Script(DELIVER_SCRIPT);

/** Options of {@link RedisMailboxes}. */
export interface RedisMailboxesOptions {
  /** Poll interval behind the published wake-ups (default 500 ms). */
  pollMs?: number;
}

/** How long a delivered value waits for its receiver. */
const VALUE_TTL_MS = 60_000;

/** Mailboxes on Redis: any instance sharing the server may deliver. */
export class RedisMailboxes implements Mailboxes {
  readonly kind = "redis";
  readonly #redis: Connection;
  readonly #prefix: string;
  readonly #pollMs: number;
  readonly #local = new LocalBoxes();
  /** Receivers of this instance waiting for a published wake-up, by `[box, id]`. */
  readonly #wakers = new Map<string, () => void>();

  constructor(redis: Connection, prefix: string, options: RedisMailboxesOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#pollMs = options.pollMs ?? 500;
  }

  /** The channel deliveries are announced on (its messages: `[box, id]` as JSON). */
  get channel(): string {
    return `${this.#prefix}delivered`;
  }

  /** A wake-up arrived: the receiver of `message` (if it waits here) reads its value now. */
  wake(message: string): void {
    this.#wakers.get(message)?.();
  }

  #open(box: string, id: string): string {
    return `${this.#prefix}m:${JSON.stringify([box, "open", id])}`;
  }

  #value(box: string, id: string): string {
    return `${this.#prefix}m:${JSON.stringify([box, "value", id])}`;
  }

  async reserve(box: string, id: string, ttlMs: number): Promise<void> {
    this.#local.reserve(box, id, ttlMs);
    try {
      await guarded(() =>
        this.#redis.sendCommand(["SET", this.#open(box, id), "1", "PX", String(ttlMs)])
      );
    } catch (error) {
      this.#local.delete(box, id);
      throw error;
    }
  }

  async deliver(box: string, id: string, value: string): Promise<boolean> {
    const waiter = this.#local.get(box, id);
    if (waiter) {
      // Waiting here: consuming the reservation is the delivery.
      const consumed = await guarded(() => this.#redis.sendCommand(["DEL", this.#open(box, id)]));
      if (consumed !== 1 || waiter.value !== undefined) return false;
      waiter.value = value;
      waiter.deliver(value);
      return true;
    }
    const keys = [this.#open(box, id), this.#value(box, id)];
    const args = [value, String(VALUE_TTL_MS), this.channel, JSON.stringify([box, id])];
    return await guarded(() => DELIVER.run(this.#redis, keys, args)) === 1;
  }

  receive(box: string, id: string, timeoutMs: number, signal: AbortSignal) {
    return this.#local.receive(
      box,
      id,
      timeoutMs,
      signal,
      (stopped) => this.#fromRedis(box, id, stopped),
    );
  }

  async release(box: string, id: string): Promise<void> {
    this.#local.delete(box, id);
    await guarded(() =>
      this.#redis.sendCommand(["DEL", this.#open(box, id), this.#value(box, id)])
    );
  }

  /**
   * Resolve when another instance leaves the value: read it at once, then on
   * every wake-up and every `pollMs`. A failed read is not thrown: the
   * waiting call has already started what it waits for, so it keeps waiting
   * (and times out) rather than report a failure that would read as
   * "nothing was done".
   */
  async #fromRedis(box: string, id: string, stopped: AbortSignal): Promise<string | null> {
    const name = JSON.stringify([box, id]);
    let woken = false;
    let wake = () => {
      woken = true;
    };
    this.#wakers.set(name, () => wake());
    try {
      while (!stopped.aborted) {
        woken = false;
        const value = await this.#redis.sendCommand(["GET", this.#value(box, id)])
          .catch(() => null);
        if (typeof value === "string") return value;
        if (woken || stopped.aborted) continue;
        const controller = new AbortController();
        wake = () => controller.abort();
        await sleep(this.#pollMs, AbortSignal.any([stopped, controller.signal]));
        wake = () => {
          woken = true;
        };
      }
      return null;
    } finally {
      this.#wakers.delete(name);
    }
  }
}
