/**
 * The per-recipient limit (`SMS_PER_RECIPIENT_PER_DAY`): texts to one
 * number per token per rolling 24 hours. Per token and number (its keyed
 * hash), one key holds the times of the texts counted in the last 24
 * hours; counting one is a check-and-set of that key alone, so it is atomic
 * across instances, and a batch's recipients are counted each on its own
 * (one at its limit is refused, the others go on). A definite refusal
 * gives its time back.
 *
 *   ["consent", O, "r", hash]   → { t: [epoch ms, …] }, expiring 24 h after the newest
 */
import { ServiceError } from "../core/errors.ts";
import { type Expiring, type Store, StoreFullError, type StoreKey } from "../state/mod.ts";
import { storeFull } from "./outcome.ts";

/** The window the limit counts over. */
export const RECIPIENT_WINDOW_MS = 24 * 60 * 60 * 1000;

interface Sends extends Expiring {
  t: number[];
}

/** One text counted: what to give back if it was not sent. */
export interface RecipientLease {
  key: StoreKey;
  t: number;
}

/** A number's count: taken (its lease), or full until a moment (epoch ms). */
export type RecipientCount = { lease: RecipientLease } | { fullUntil: number };

/** The per-recipient windows of one server. */
export class RecipientWindows {
  constructor(
    private readonly store: Store,
    readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** For each number: `null` when it has room, else when its oldest counted text leaves the window. */
  async full(owner: string, hashes: readonly string[]): Promise<(number | null)[]> {
    const now = this.now();
    const keys = hashes.map((h) => keyOf(owner, h));
    const entries = [];
    for (let i = 0; i < keys.length; i += 10) {
      entries.push(...await this.store.getMany<Sends>(keys.slice(i, i + 10)));
    }
    return entries.map((e) => this.#fullUntil(live(e.value, now), now));
  }

  /** Count one text to each number, each in its own commit. */
  async take(owner: string, hashes: readonly string[]): Promise<RecipientCount[]> {
    return await Promise.all(hashes.map((h) => this.#take(keyOf(owner, h))));
  }

  /** Give back texts counted for numbers that were not sent (best effort, as the other limits). */
  async give(...leases: RecipientLease[]): Promise<void> {
    await Promise.all(leases.map(async ({ key, t }) => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const [entry] = await this.store.getMany<Sends>([key]);
        const times = entry!.value?.t ?? [];
        const at = times.indexOf(t);
        if (at < 0) return;
        const left = times.toSpliced(at, 1);
        const sets = left.length > 0
          ? [{ key, value: { t: left, exp: Math.max(...left) + RECIPIENT_WINDOW_MS } }]
          : [];
        const deletes = left.length > 0 ? [] : [key];
        if (await this.store.commit({ checks: [entry!], sets, deletes })) return;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }));
  }

  async #take(key: StoreKey): Promise<RecipientCount> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [entry] = await this.store.getMany<Sends>([key]);
      const now = this.now();
      const times = live(entry!.value, now);
      const fullUntil = this.#fullUntil(times, now);
      if (fullUntil !== null) return { fullUntil };
      const t = [...times, now];
      const value = { t, exp: now + RECIPIENT_WINDOW_MS };
      let committed: boolean;
      try {
        committed = await this.store.commit({
          checks: [entry!],
          sets: [{ key, value }],
          deletes: [],
        });
      } catch (error) {
        if (error instanceof StoreFullError) throw storeFull();
        throw error;
      }
      if (committed) return { lease: { key, t: now } };
      await new Promise((r) => setTimeout(r, Math.random() * 2 * (attempt + 1)));
    }
    throw new ServiceError(
      "RATE_LIMITED",
      "Too many texts to one number are being counted at once. Nothing was sent; try again in a second.",
      { retryAfterSeconds: 1 },
    );
  }

  #fullUntil(times: readonly number[], now: number): number | null {
    if (times.length < this.limit) return null;
    // The oldest counted texts must leave the window until one fewer than the limit is left.
    const sorted = times.toSorted((a, b) => a - b);
    return Math.max(now, sorted[sorted.length - this.limit]! + RECIPIENT_WINDOW_MS);
  }
}

function keyOf(owner: string, hash: string): StoreKey {
  return ["consent", owner, "r", hash];
}

/** The times still inside the window. */
function live(value: Sends | null, now: number): number[] {
  return (value?.t ?? []).filter((t) => t > now - RECIPIENT_WINDOW_MS);
}
