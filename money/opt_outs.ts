/**
 * Opt-out lists: per token (under its lasting hash, `consent_keys.ts`), the
 * numbers that must not be texted, in the shared store (memory, Deno KV,
 * Redis). Layout, per owner `O`:
 *
 *   ["optout", O, "head"]      the list's length `n`
 *   ["optout", O, "n", hash]   → `seq`: the number (by its keyed hash) is listed
 *   ["optout", O, "i", seq]    → its hash and the number, sealed, for `list`
 *                                (entries 0 … n-1, no gaps)
 *
 * A number sits in the database only as a keyed hash and an AES-GCM box:
 * the list cannot be read back in clear from it. Every change rewrites the
 * head, and every commit checks it: changes of one list are serialised,
 * whichever instance makes them. A removal moves the last entries into the
 * holes it leaves, so `list` pages by position (a number moved by a removal
 * made while paging may be missed by that listing, never listed twice).
 * Nothing expires.
 */
import { ServiceError } from "../core/errors.ts";
import { seal, unseal } from "../core/seal.ts";
import {
  type Expiring,
  MemoryStore,
  type Store,
  type StoreEntry,
  type StoreKey,
} from "../state/mod.ts";
import { FOREVER } from "./consent_keys.ts";
import type { ConsentKeyring } from "./consent_keys.ts";
import type { ListChange } from "./types.ts";

/** Numbers one token's list holds at most. */
export const OPT_OUT_BOUND = 100_000;
/** Numbers one `list` page gives at most. */
export const OPT_OUT_PAGE = 1000;
/** Numbers one commit changes at most (two or three writes each; Deno KV allows 1000). */
const CHUNK = 200;
/** Number hashes remembered in this process. */
const HASHES_KEPT = 10_000;
/** Commits a change tries before it gives up (each conflict means another change landed). */
const ATTEMPTS = 40;

interface Head extends Expiring {
  n: number;
}
interface Member extends Expiring {
  seq: number;
}
interface Slot extends Expiring {
  h: string;
  box: string;
}

/**
 * The store opt-out lists live in: the shared one, or, with state in this
 * process, a bounded memory store of their own (as the ledger's), so a long
 * list never takes the room the money guards' promises need.
 */
export function optOutStore(shared: Store): Store {
  if (shared.kind !== "memory") return shared;
  return new MemoryStore({ maxEntries: 400_000, maxPerOwner: 2 * OPT_OUT_BOUND + 2 });
}

/** The opt-out lists of one server (all instances sharing its store and consent key). */
export class OptOutLists {
  readonly #hashes = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly keys: () => Promise<ConsentKeyring>,
    private readonly bound = OPT_OUT_BOUND,
  ) {}

  /** Whether each number (by keyed hash) is on `owner`'s list. */
  async listed(owner: string, hashes: readonly string[]): Promise<boolean[]> {
    const entries = await this.#read<Member>(hashes.map((h) => key(owner, "n", h)));
    return entries.map((e) => e.value !== null);
  }

  /** How many numbers `owner`'s list holds. */
  async count(owner: string): Promise<number> {
    const [head] = await this.store.getMany<Head>([key(owner, "head")]);
    return head!.value?.n ?? 0;
  }

  /** Put numbers on the list (those already there stay as they are). */
  async add(owner: string, numbers: readonly string[]): Promise<ListChange> {
    return await this.#chunked(numbers, (chunk) => this.#add(owner, chunk));
  }

  /** Take numbers off the list (those not there change nothing). */
  async remove(owner: string, numbers: readonly string[]): Promise<ListChange> {
    return await this.#chunked(numbers, (chunk) => this.#remove(owner, chunk));
  }

  /** Up to {@link OPT_OUT_PAGE} numbers from position `from`, and where the next page starts. */
  async page(owner: string, from: number): Promise<{ numbers: string[]; next: number | null }> {
    const n = await this.count(owner);
    const to = Math.min(n, from + OPT_OUT_PAGE);
    if (from >= to) return { numbers: [], next: null };
    const slots = await this.#read<Slot>(range(from, to).map((seq) => key(owner, "i", seq)));
    const { seal: sealKey } = await this.keys();
    const numbers = await Promise.all(
      slots.flatMap((s) => s.value ? [unseal(sealKey, place(owner, s.value.h), s.value.box)] : []),
    );
    return { numbers, next: to < n ? to : null };
  }

  /** The keyed hashes of some numbers (the latest few thousand remembered: a send asks twice). */
  async hashes(numbers: readonly string[]): Promise<string[]> {
    const { number } = await this.keys();
    return await Promise.all(numbers.map(async (n) => {
      const known = this.#hashes.get(n);
      if (known !== undefined) return known;
      const hash = await number(n);
      if (this.#hashes.size >= HASHES_KEPT) this.#hashes.clear();
      this.#hashes.set(n, hash);
      return hash;
    }));
  }

  async #chunked(
    numbers: readonly string[],
    change: (chunk: string[]) => Promise<number>,
  ): Promise<ListChange> {
    const distinct = [...new Set(numbers)];
    let changed = 0;
    for (let i = 0; i < distinct.length; i += CHUNK) {
      changed += await change(distinct.slice(i, i + CHUNK));
    }
    return { changed, unchanged: numbers.length - changed };
  }

  /** Add one chunk in one commit; the count of numbers added. */
  async #add(owner: string, numbers: string[]): Promise<number> {
    const hashes = await this.hashes(numbers);
    const { seal: sealKey } = await this.keys();
    const boxes = await Promise.all(
      numbers.map((n, i) => seal(sealKey, place(owner, hashes[i]!), n)),
    );
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // The head first: a change landing after this read fails the commit's check.
      const [head] = await this.store.getMany<Head>([key(owner, "head")]);
      const members = await this.#read<Member>(hashes.map((h) => key(owner, "n", h)));
      const n = head!.value?.n ?? 0;
      const fresh = hashes.flatMap((_, i) => members[i]!.value ? [] : [i]);
      if (fresh.length === 0) return 0;
      if (n + fresh.length > this.bound) throw full(this.bound);
      const sets: { key: StoreKey; value: Head | Member | Slot }[] = [
        { key: key(owner, "head"), value: { n: n + fresh.length, exp: FOREVER } },
      ];
      fresh.forEach((i, j) => {
        const h = hashes[i]!;
        sets.push({ key: key(owner, "n", h), value: { seq: n + j, exp: FOREVER } });
        sets.push({ key: key(owner, "i", n + j), value: { h, box: boxes[i]!, exp: FOREVER } });
      });
      if (await this.store.commit({ checks: [head!], sets, deletes: [] })) return fresh.length;
      await jitter(attempt);
    }
    throw busy();
  }

  /** Remove one chunk in one commit, moving the last entries into the holes; the count removed. */
  async #remove(owner: string, numbers: string[]): Promise<number> {
    const hashes = await this.hashes(numbers);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [head] = await this.store.getMany<Head>([key(owner, "head")]);
      const members = await this.#read<Member>(hashes.map((h) => key(owner, "n", h)));
      const n = head!.value?.n ?? 0;
      const gone = hashes.flatMap((h, i) => {
        const seq = members[i]!.value?.seq;
        return seq === undefined ? [] : [{ h, seq }];
      });
      if (gone.length === 0) return 0;
      const left = n - gone.length;
      const freed = new Set(gone.map((g) => g.seq));
      const holes = [...freed].filter((s) => s < left).sort((a, b) => a - b);
      const movers = range(left, n).filter((s) => !freed.has(s));
      const moved = await this.#read<Slot>(movers.map((s) => key(owner, "i", s)));
      const sets: { key: StoreKey; value: Head | Member | Slot }[] = [];
      const deletes: StoreKey[] = [
        ...gone.map((g) => key(owner, "n", g.h)),
        ...range(left, n).map((s) => key(owner, "i", s)),
      ];
      holes.forEach((hole, j) => {
        const slot = moved[j]!.value;
        if (!slot) return;
        sets.push({ key: key(owner, "i", hole), value: slot });
        sets.push({ key: key(owner, "n", slot.h), value: { seq: hole, exp: FOREVER } });
      });
      if (left > 0) sets.push({ key: key(owner, "head"), value: { n: left, exp: FOREVER } });
      else deletes.push(key(owner, "head"));
      if (await this.store.commit({ checks: [head!], sets, deletes })) return gone.length;
      await jitter(attempt);
    }
    throw busy();
  }

  /** Read any number of keys, ten at a time, all at once. */
  async #read<T extends Expiring>(keys: readonly StoreKey[]): Promise<StoreEntry<T>[]> {
    const reads: Promise<StoreEntry<T>[]>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      reads.push(this.store.getMany<T>(keys.slice(i, i + 10)));
    }
    return (await Promise.all(reads)).flat();
  }
}

function key(owner: string, kind: "head" | "n" | "i", part?: string | number): StoreKey {
  return part === undefined ? ["optout", owner, kind] : ["optout", owner, kind, part];
}

/** What a sealed number is bound to: its list and its hash (not its position, which moves). */
function place(owner: string, hash: string): string {
  return JSON.stringify(["optout", owner, hash]);
}

function range(from: number, to: number): number[] {
  return to > from ? Array.from({ length: to - from }, (_, i) => from + i) : [];
}

function jitter(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
}

function full(bound: number): ServiceError {
  const message = `This token's opt-out list would hold more than ${bound} numbers, the most ` +
    "this server keeps per token. Nothing more was added.";
  return new ServiceError("INVALID_INPUT", message, {
    details: [{ path: "numbers", message: `the list holds at most ${bound} numbers` }],
  });
}

function busy(): ServiceError {
  return new ServiceError(
    "RATE_LIMITED",
    "This token's opt-out list is being changed by many calls at once. Try again in a second.",
    { retryAfterSeconds: 1 },
  );
}
