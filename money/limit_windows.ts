/**
 * The windows the per-token limits count in (`limits.ts`), in the shared
 * store: a call's limits checked and counted in one atomic commit, one lease
 * per unit (the call, or each recipient of a batch); given back or corrected
 * window by window. A window opens at the first call it counts and closes
 * `windowMs` after; a distinct-recipient limit keeps a marker per recipient,
 * written and deleted only together with its window.
 */
import {
  type Expiring,
  type Store,
  type StoreEntry,
  StoreFullError,
  type StoreKey,
} from "../state/mod.ts";
import { type LimitName, overLimit, tooBusy } from "./limit_messages.ts";
import { storeFull } from "./outcome.ts";

/** Keys one `Store.getMany` reads at most. */
const READ_CHUNK = 10;

/** A limit's current window (or, for a distinct-recipient marker, the window it was counted in). */
export interface Window extends Expiring {
  /** When the window opened, epoch milliseconds; it closes at `exp`. */
  start: number;
  /** What it counted so far (calls, recipients or micro-euros). */
  n: number;
}

/** One limit, and what each unit of a call (the call, or each recipient of a batch) adds to it. */
export interface Limit {
  name: LimitName;
  limit: number;
  windowMs: number;
  key: StoreKey;
  /** Per unit; for a distinct-recipient limit, ignored (a unit adds 1 when its marker is new). */
  amounts: readonly number[];
  /** Counted once per window (distinct recipients): each unit's marker key. */
  members?: readonly StoreKey[];
}

/** What one window counted for one unit. */
export interface Taken {
  name: LimitName;
  key: StoreKey;
  start: number;
  amount: number;
  member?: StoreKey;
}

/** What one call (or one recipient of a batch) counted, to give back if nothing was sent. */
export interface Lease {
  taken: Taken[];
}

/** Limit `name` of `owner` (a token, or a number's keyed hash); `max` 0 switches it off. */
export function limit(
  name: LimitName,
  max: number,
  windowMs: number,
  amounts: readonly number[],
  owner: string,
): Limit {
  return { name, limit: max, windowMs, amounts, key: ["limit", owner, name] };
}

/** The limits' windows in one store. */
export class LimitWindows {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  /**
   * Check and count every limit in one atomic commit, or refuse with
   * RATE_LIMITED; one lease per unit. Each window starts at the first call it
   * counts and ends `windowMs` after. Only the windows are checked on commit:
   * a distinct-recipient marker is only ever written or deleted together with
   * its window, so a window unchanged since it was read vouches for its
   * markers (a batch's 100 markers would pass any store's check limit).
   */
  async take(all: Limit[], what: string): Promise<Lease[]> {
    const plan = all.filter((l) => l.limit > 0);
    const units = all[0]!.amounts.length;
    const leases: Lease[] = Array.from({ length: units }, () => ({ taken: [] }));
    if (plan.length === 0) return leases;
    for (let attempt = 0; attempt < 20; attempt++) {
      const windows = await this.#store.getMany<Window>(plan.map((p) => p.key));
      const markers = await Promise.all(
        plan.map((p) => p.members ? this.#readAll(p.members) : Promise.resolve([])),
      );
      const sets = counted(plan, windows, markers, leases, this.#now(), what);
      let committed: boolean;
      try {
        committed = await this.#store.commit({ checks: windows, sets, deletes: [] });
      } catch (error) {
        if (error instanceof StoreFullError) throw storeFull();
        throw error;
      }
      if (committed) return leases;
    }
    throw tooBusy();
  }

  /** Read any number of keys, a store's chunk at a time. */
  async #readAll(keys: readonly StoreKey[]): Promise<StoreEntry<Window>[]> {
    const chunks: Promise<StoreEntry<Window>[]>[] = [];
    for (let i = 0; i < keys.length; i += READ_CHUNK) {
      chunks.push(this.#store.getMany<Window>(keys.slice(i, i + READ_CHUNK)));
    }
    return (await Promise.all(chunks)).flat();
  }

  /**
   * Apply `delta` to each window the entries counted, one commit per window
   * (a busy shared window, such as one number's PIN count, must not hold back
   * the others; a batch's recipients are summed into that one commit),
   * retried with a little jitter until it lands. A window counted back to
   * zero is deleted; `dropMembers`: the entries' distinct-recipient markers
   * are deleted too.
   */
  async adjust(
    entries: Taken[],
    delta: (taken: Taken) => number,
    dropMembers: boolean,
  ): Promise<void> {
    const byWindow = new Map<
      string,
      { key: StoreKey; start: number; d: number; members: StoreKey[] }
    >();
    for (const t of entries) {
      const id = JSON.stringify([t.key, t.start]);
      const w = byWindow.get(id) ?? { key: t.key, start: t.start, d: 0, members: [] };
      w.d += delta(t);
      if (dropMembers && t.member) w.members.push(t.member);
      byWindow.set(id, w);
    }
    await Promise.all([...byWindow.values()].map(async (w) => {
      if (w.d === 0 && w.members.length === 0) return;
      for (let attempt = 0; attempt < 50; attempt++) {
        const [entry] = await this.#store.getMany<Window>([w.key]);
        const window = entry!.value;
        // Only the window that counted the call is corrected (its markers are its own: see take).
        if (window?.start !== w.start) return;
        const n = Math.max(0, window.n + w.d);
        const sets = n === 0 ? [] : [{ key: w.key, value: { ...window, n } }];
        const deletes: StoreKey[] = n === 0 ? [w.key, ...w.members] : w.members;
        if (await this.#store.commit({ checks: [entry!], sets, deletes })) return;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }));
  }
}

/**
 * The writes that count every unit of a call in the windows as read (and
 * each unit's lease, filled in anew), or the refusal of the first limit it
 * would go over.
 */
function counted(
  plan: readonly Limit[],
  windows: readonly StoreEntry<Window>[],
  markers: readonly (readonly StoreEntry<Window>[])[],
  leases: Lease[],
  now: number,
  what: string,
): { key: StoreKey; value: Window }[] {
  const live = (v: Window | null) => v && v.exp > now ? v : null;
  const sets: { key: StoreKey; value: Window }[] = [];
  for (const lease of leases) lease.taken = [];
  plan.forEach((p, i) => {
    const window = live(windows[i]!.value) ?? { start: now, n: 0, exp: now + p.windowMs };
    const adds = p.members
      ? p.members.map((_, u) => live(markers[i]![u]!.value)?.start === window.start ? 0 : 1)
      : p.amounts;
    const add = adds.reduce((a, b) => a + b, 0);
    if (window.n + add > p.limit) throw overLimit(p, window, add, now, what);
    if (add === 0) return;
    sets.push({ key: p.key, value: { ...window, n: window.n + add } });
    adds.forEach((amount, u) => {
      if (amount === 0) return;
      const member = p.members?.[u];
      if (member) sets.push({ key: member, value: { ...window, n: 1 } });
      leases[u]!.taken.push({ name: p.name, key: p.key, start: window.start, amount, member });
    });
  });
  return sets;
}
