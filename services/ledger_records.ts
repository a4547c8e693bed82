/**
 * The ledger's sealed storage: key naming, sealing and opening records and
 * tallies (opened records remembered), reads and commits that fail as
 * `UPSTREAM_UNAVAILABLE`, and the bounded retries of a commit that lost a race.
 *
 * Layout, per token (`P`, the token's keyed hash), all in the check-and-set
 * `Store` the guards use:
 *
 *   ["ledger", P, "head"]     the next sequence number `n`
 *   ["ledger", P, "s", seq]   → the message key of entry `seq` (a keyed hash of its id)
 *   ["ledger", P, "m", hash]  → the entry: its `seq` and a sealed record (id, destination,
 *                               parts, cost, batch, status, code, times)
 *   ["ledger", P, "b", k]     → a sealed tally of entries k·50 … k·50+49 (parts, cost,
 *                               final statuses, first and last send time)
 *
 * Records and destinations, costs and tallies are sealed (AES-GCM, bound to
 * their key), so neither a destination nor a cost sits in clear in the
 * database; message ids appear only as keyed hashes.
 */
import type { ServiceError } from "../core/errors.ts";
import { createPrincipalHasher, type PrincipalHasher } from "../core/keys.ts";
import { seal, unseal } from "../core/seal.ts";
import {
  BACKEND_NAMES,
  type Expiring,
  MemoryStore,
  readUnavailable,
  type Store,
  type StoreCommit,
  type StoreEntry,
  type StoreKey,
} from "../state/mod.ts";
import type { FinalStatus } from "../vertex/mod.ts";

/** A message's status in the ledger. */
export type LedgerStatus = "sent" | "scheduled" | FinalStatus;

const FINAL: ReadonlySet<LedgerStatus> = new Set(["delivered", "undelivered", "expired"]);

/** Whether `status` is a final report's (the one a tally counts, never replaced). */
export function isFinal(status: LedgerStatus): status is FinalStatus {
  return FINAL.has(status);
}

/** A record as sealed (short names: every entry carries one). */
export interface Sealed {
  id: string;
  to: string;
  parts: number;
  cost: number | null;
  batch: string | null;
  status: LedgerStatus;
  code: number | null;
  at: number;
  up: number;
}

/** `["ledger", P, "head"]`: the token's next sequence number. */
export interface Head extends Expiring {
  n: number;
}
/** `["ledger", P, "m", hash]`: an entry, its sequence number and sealed record. */
export interface EntryValue extends Expiring {
  seq: number;
  box: string;
}
/** `["ledger", P, "s", seq]`: the message key of entry `seq`. */
export interface SeqValue extends Expiring {
  m: string;
}
/** `["ledger", P, "b", k]`: a bucket's sealed tally. */
export interface TallyValue extends Expiring {
  box: string;
}
/** The writes of one commit. */
export type Writes = { key: StoreKey; value: Head | EntryValue | SeqValue | TallyValue }[];

/** Entries one token keeps at most; recording one more drops the oldest. */
export const LEDGER_BOUND = 10_000;
/** Entries per tally. */
export const LEDGER_BUCKET = 50;

/** Keys the ledger may hold in memory, all tokens together (about 50,000 messages). */
export const LEDGER_MEMORY_KEYS = 100_000;

/**
 * The store the ledger writes to: the shared one (Deno KV, Redis), or, with
 * state in this process, a bounded memory store of its own, so the ledger
 * never takes the room the guards' promises need. When that one is full, new
 * entries are not recorded (logged) until old ones expire.
 */
export function ledgerStore(shared: Store): Store {
  if (shared.kind !== "memory") return shared;
  return new MemoryStore({
    maxEntries: LEDGER_MEMORY_KEYS,
    // Per token: an entry and its pointer per message, the tallies of the buckets they span
    // (one more than bound / bucket while the oldest is partly dropped), the head.
    maxPerOwner: 2 * LEDGER_BOUND + LEDGER_BOUND / LEDGER_BUCKET + 2,
  });
}

/** Opened records remembered (about 3 MB). */
const OPENED = 10_000;
/** Commits a write tries before it gives up (each conflict means another write landed). */
const ATTEMPTS = 40;

/** Options of {@link LedgerRecords}. */
export interface LedgerRecordsOptions {
  store: Store;
  /** Seals records and tallies (AES-GCM). */
  sealKey: () => Promise<CryptoKey>;
  /** Keys the hashes of message ids. */
  idKey: () => Promise<Uint8Array<ArrayBuffer>>;
  now: () => number;
}

/** The ledger's records and tallies in its store: keys, seal and open, read and commit. */
export class LedgerRecords {
  /** The store the ledger writes to. */
  readonly store: Store;
  readonly #sealKey: () => Promise<CryptoKey>;
  readonly #hash: PrincipalHasher;
  readonly #now: () => number;
  /** Records already opened, by key and sealed box. */
  readonly #opened = new Map<string, Readonly<Sealed>>();

  constructor(options: LedgerRecordsOptions) {
    this.store = options.store;
    this.#sealKey = options.sealKey;
    this.#hash = createPrincipalHasher(options.idKey);
    this.#now = options.now;
  }

  /** The key of a token's head, or of its entry, pointer or tally `part`. */
  key(principal: string, kind: "head" | "m" | "s" | "b", part?: string | number): StoreKey {
    return part === undefined ? ["ledger", principal, kind] : ["ledger", principal, kind, part];
  }

  /** The key of the entry of message `messageId` (by the keyed hash of the id). */
  async entryKey(principal: string, messageId: string): Promise<StoreKey> {
    return this.key(principal, "m", await this.#hash(messageId));
  }

  /** A value still within its retention, or `null`. */
  live<T extends Expiring>(entry: StoreEntry<T>): T | null {
    return entry.value && entry.value.exp > this.#now() ? entry.value : null;
  }

  /** Read any number of keys (in reads of ten, at once); a failure as `UPSTREAM_UNAVAILABLE`. */
  async read<T extends Expiring>(keys: readonly StoreKey[]): Promise<StoreEntry<T>[]> {
    const reads = [];
    for (let i = 0; i < keys.length; i += 10) {
      reads.push(this.store.getMany<T>(keys.slice(i, i + 10)));
    }
    try {
      return (await Promise.all(reads)).flat();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Commit, `false` when a check failed (another write landed); a failure as `UPSTREAM_UNAVAILABLE`. */
  async commit(commit: StoreCommit): Promise<boolean> {
    try {
      return await this.store.commit(commit);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** `value` sealed, bound to `key`. */
  async seal(key: StoreKey, value: unknown): Promise<string> {
    return await seal(await this.#sealKey(), JSON.stringify(key), JSON.stringify(value));
  }

  /** What `box` sealed under `key`. */
  async open<T>(key: StoreKey, box: string): Promise<T> {
    return JSON.parse(await unseal(await this.#sealKey(), JSON.stringify(key), box)) as T;
  }

  /**
   * An entry's record. Opened boxes are remembered (bounded): a status polled
   * again costs no decryption until a report changes the box.
   */
  async record(key: StoreKey, box: string): Promise<Readonly<Sealed>> {
    // By key and box: a box is bound to its key, and so is what is remembered of it.
    const id = `${JSON.stringify(key)}\n${box}`;
    const known = this.#opened.get(id);
    if (known) return known;
    const record = Object.freeze(await this.open<Sealed>(key, box));
    if (this.#opened.size >= OPENED) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(id, record);
    return record;
  }

  /**
   * The records of these message ids (input order), `null` for any this token
   * did not send (or that left the ledger).
   */
  async entries(principal: string, ids: readonly string[]): Promise<(Readonly<Sealed> | null)[]> {
    const keys = await Promise.all(ids.map((id) => this.entryKey(principal, id)));
    // The head first: a token with no ledger (a made-up one) costs one read.
    const [head, ...first] = await this.read<Head | EntryValue>([
      this.key(principal, "head"),
      ...keys.slice(0, 9),
    ]);
    if (!this.live(head!)) return ids.map(() => null);
    const rest = await this.read<EntryValue>(keys.slice(9));
    const read = [...first, ...rest] as StoreEntry<EntryValue>[];
    return await Promise.all(read.map(async (entry, i) => {
      const value = this.live(entry);
      if (!value) return null;
      const record = await this.record(entry.key, value.box);
      return record.id === ids[i] ? record : null;
    }));
  }

  /** The state failed: the ledger cannot be read (or written) now. */
  unavailable(error: unknown): ServiceError {
    return readUnavailable(BACKEND_NAMES[this.store.kind], "its ledger of sent messages", error);
  }
}

/** Run `attempt` until it answers (`undefined`: its commit lost a race), else throw `exhausted()`. */
export async function retried<T>(
  attempt: () => Promise<T | undefined>,
  exhausted: () => Error,
): Promise<T> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const answer = await attempt();
    if (answer !== undefined) return answer;
    await jitter(i);
  }
  throw exhausted();
}

/** The integers `from` … `to - 1` (none when `to <= from`). */
export function range(from: number, to: number): number[] {
  return to > from ? Array.from({ length: to - from }, (_, i) => from + i) : [];
}

/** Wait a little, longer with each lost race (spreads writers contending for one key). */
function jitter(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
}
