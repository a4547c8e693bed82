/** A fixed-window request counter per key, bounded in memory. */

/** The verdict for one request. */
export type LimitVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Counts requests per key in fixed windows. At most `maxKeys` keys are held:
 * when full, the oldest window is dropped first (Map insertion order).
 */
export class FixedWindowLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly maxKeys = 10_000,
    readonly now: () => number = Date.now,
  ) {}

  /** Record one request for `key` and say whether it may proceed. */
  hit(key: string): LimitVerdict {
    const now = this.now();
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      this.#windows.delete(key);
      while (this.#windows.size >= this.maxKeys) {
        const oldest = this.#windows.keys().next().value as string;
        this.#windows.delete(oldest);
      }
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count++;
    if (window.count <= this.limit) return { ok: true };
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)),
    };
  }

  /**
   * Count one request for `key` now, before knowing whether it should count;
   * `giveBack` un-counts it (once, and only within the same window) when it
   * turns out not to. A refused request is not counted. Concurrent requests
   * each take their place before any of them finishes, so no more than
   * `limit` pass in a window however many arrive at once.
   */
  take(key: string): { ok: true; giveBack: () => void } | { ok: false; retryAfterSeconds: number } {
    const verdict = this.hit(key);
    const window = this.#windows.get(key)!;
    if (!verdict.ok) {
      window.count--;
      return verdict;
    }
    let given = false;
    return {
      ok: true,
      giveBack: () => {
        if (given || this.#windows.get(key) !== window) return;
        given = true;
        window.count--;
      },
    };
  }

  /** The verdict a request for `key` would get now, without counting it. */
  peek(key: string): LimitVerdict {
    const now = this.now();
    const window = this.#windows.get(key);
    if (!window || now - window.start >= this.windowMs || window.count < this.limit) {
      return { ok: true };
    }
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)),
    };
  }

  /** Number of keys currently held. */
  get size(): number {
    return this.#windows.size;
  }
}
