/**
 * The ledger: every SMS this server sent (simulated ones too), per token, in
 * the shared state (memory, Deno KV or Redis), fed by delivery reports.
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
 * database; message ids appear only as keyed hashes. Every value expires
 * `SMS_LEDGER_DAYS` after the send. A token keeps at most {@link LEDGER_BOUND}
 * entries: recording entry `n` drops entry `n - LEDGER_BOUND` (oldest first).
 *
 * The ledger is a record, not a guard: a write that fails after VertexSMS
 * accepted a message is logged (without personal data) and the send stands.
 * Reads fail loudly instead (`UPSTREAM_UNAVAILABLE`), never with an empty
 * answer that would look true. Recording a batch is one commit per token
 * (serialised by the head); a delivery report changes one entry and its tally.
 */
import { ServiceError } from "../core/errors.ts";
import { createPrincipalHasher, type PrincipalHasher } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import { seal, unseal } from "../core/seal.ts";
import {
  BACKEND_NAMES,
  type Expiring,
  isStateUnavailable,
  MemoryStore,
  readUnavailable,
  type Store,
  type StoreEntry,
  type StoreKey,
} from "../state/mod.ts";
import type { DeliveryReport, FinalStatus } from "../vertex/mod.ts";
import { ReportCapabilities } from "./report_capability.ts";

/** One message VertexSMS accepted, as the ledger records it. */
export interface SentMessage {
  messageId: string;
  /** As the tool reports it (E.164, or the input with correctBy). */
  destination: string;
  parts: number;
  /** The estimate the spend cap counted, when known. */
  costMicros: number | null;
  batchId: string | null;
  status: "sent" | "scheduled";
}

/** The ledger as the tools see it. */
export interface MessageLedger {
  /** "enabled" when sends carry a dlrUrl; "unavailable" otherwise. */
  readonly deliveryReports: "enabled" | "unavailable";
  /** The dlrUrl to send with this caller's messages, or undefined when reports are unavailable. */
  dlrUrl(principal: string): Promise<string | undefined>;
  /** Record messages just accepted by VertexSMS (never throws past a logged failure). */
  record(principal: string, messages: readonly SentMessage[]): Promise<void>;
  /**
   * The entries of these message ids (input order), `null` for any this token
   * did not send (or that left the ledger). `UPSTREAM_UNAVAILABLE` when the
   * shared state cannot be read.
   */
  entries(principal: string, messageIds: readonly string[]): Promise<(LedgerEntry | null)[]>;
  /**
   * Sends, parts, cost and final statuses of this token's entries sent at or
   * after `since` (epoch ms), and its newest `recent` entries.
   */
  usage(principal: string, since: number, recent: number): Promise<LedgerUsage>;
}

/** A message's status in the ledger. */
export type LedgerStatus = "sent" | "scheduled" | FinalStatus;

/** One entry as read back. */
export interface LedgerEntry extends Omit<SentMessage, "status"> {
  status: LedgerStatus;
  /** The report's numeric code, once a final report came. */
  errorCode: number | null;
  /** Epoch milliseconds. */
  sentAt: number;
  updatedAt: number;
}

/** What a token sent since a moment, and its most recent entries. */
export interface LedgerUsage {
  sends: number;
  parts: number;
  /** The sum of the known cost estimates, micro-euros. */
  costMicros: number;
  delivered: number;
  undelivered: number;
  expired: number;
  /** Newest first. */
  recent: LedgerEntry[];
}

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

const DAY_MS = 86_400_000;
/** Opened records remembered (about 3 MB). */
const OPENED = 10_000;
/** Commits a write tries before it gives up (each conflict means another write landed). */
const ATTEMPTS = 40;

/** Options of {@link Ledger}. */
export interface LedgerOptions {
  store: Store;
  /** Seals records and tallies (AES-GCM). */
  sealKey: () => Promise<CryptoKey>;
  /** Seals delivery-report capabilities (AES-GCM, a key of its own). */
  capabilityKey: () => Promise<CryptoKey>;
  /** Keys the hashes of message ids. */
  idKey: () => Promise<Uint8Array<ArrayBuffer>>;
  /** `SMS_LEDGER_DAYS`; 0: no ledger, no reports. */
  days: number;
  /** Whether VertexSMS can reach `publicUrl` (the `lookup_hlr` test). */
  reachable: boolean;
  publicUrl: string;
  logger: Logger;
  /** Entries per token (default {@link LEDGER_BOUND}); a multiple of `bucket`. */
  bound?: number;
  /** Entries per tally (default {@link LEDGER_BUCKET}). */
  bucket?: number;
  now?: () => number;
}

/** A record as sealed (short names: every entry carries one). */
interface Sealed {
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

/** The tally of one bucket of entries, as sealed. */
interface Tally {
  count: number;
  parts: number;
  cost: number;
  delivered: number;
  undelivered: number;
  expired: number;
  first: number;
  last: number;
}

interface Head extends Expiring {
  n: number;
}
interface EntryValue extends Expiring {
  seq: number;
  box: string;
}
interface SeqValue extends Expiring {
  m: string;
}
interface TallyValue extends Expiring {
  box: string;
}
/** The writes of one commit. */
type Writes = { key: StoreKey; value: Head | EntryValue | SeqValue | TallyValue }[];

const FINAL: ReadonlySet<LedgerStatus> = new Set(["delivered", "undelivered", "expired"]);

/** The ledger of one server (all instances sharing its store and secret). */
export class Ledger implements MessageLedger {
  readonly deliveryReports: "enabled" | "unavailable";
  readonly #o: LedgerOptions;
  readonly #bound: number;
  readonly #bucket: number;
  readonly #now: () => number;
  readonly #hash: PrincipalHasher;
  readonly #capabilities: ReportCapabilities;
  /** Per token: the tail of its ledger writes on this instance. */
  readonly #writing = new Map<string, Promise<void>>();
  /** Records already opened, by key and sealed box. */
  readonly #opened = new Map<string, Readonly<Sealed>>();
  /** Per token: messages waiting for the next commit. */
  readonly #queued = new Map<string, { messages: readonly SentMessage[]; done: () => void }[]>();

  constructor(options: LedgerOptions) {
    this.#o = options;
    this.#bound = options.bound ?? LEDGER_BOUND;
    this.#bucket = options.bucket ?? LEDGER_BUCKET;
    if (this.#bound % this.#bucket !== 0 || this.#bound < 2 * this.#bucket) {
      throw new Error("the ledger's bound must be a multiple of its bucket, at least two of them");
    }
    this.#now = options.now ?? Date.now;
    this.#hash = createPrincipalHasher(options.idKey);
    this.#capabilities = new ReportCapabilities(options.capabilityKey, options.days, this.#now);
    this.deliveryReports = options.days > 0 && options.reachable ? "enabled" : "unavailable";
  }

  /** Whether the ledger records anything (`SMS_LEDGER_DAYS` > 0). */
  get enabled(): boolean {
    return this.#o.days > 0;
  }

  async dlrUrl(principal: string): Promise<string | undefined> {
    if (this.deliveryReports !== "enabled") return undefined;
    return `${this.#o.publicUrl}/callbacks/dlr/${await this.#capabilities.issue(principal)}`;
  }

  /** The principal a delivery-report capability names, or `null` (checked before any work). */
  async owner(capability: string): Promise<string | null> {
    return this.enabled ? await this.#capabilities.open(capability) : null;
  }

  async record(principal: string, messages: readonly SentMessage[]): Promise<void> {
    if (!this.enabled || messages.length === 0) return;
    // Concurrent sends of one token are written together: one commit for all that queued up
    // while the previous one was being written.
    const queued = this.#queued.get(principal) ?? [];
    this.#queued.set(principal, queued);
    const done = Promise.withResolvers<void>();
    queued.push({ messages, done: done.resolve });
    void this.#serial(principal, () => this.#flush(principal));
    await done.promise;
  }

  /** Write everything queued for `principal` (never throws: a failure is logged). */
  async #flush(principal: string): Promise<void> {
    const queued = this.#queued.get(principal);
    if (!queued) return;
    this.#queued.delete(principal);
    const messages = queued.flatMap((q) => q.messages);
    // Each commit stays within Deno KV's limits (1000 mutations, 800 KB) and never both drops
    // and adds to one tally.
    const chunk = Math.min(100, this.#bound - this.#bucket);
    try {
      for (let i = 0; i < messages.length; i += chunk) {
        await this.#record(principal, messages.slice(i, i + chunk));
      }
    } catch (error) {
      this.#o.logger.warn("ledger write failed", {
        state: this.#o.store.kind,
        messages: messages.length,
        error: describe(error),
        hint: "the messages were sent; their statuses cannot be tracked",
      });
    } finally {
      for (const q of queued) q.done();
    }
  }

  /**
   * Run `write` after every earlier ledger write of `principal` on this
   * instance has finished: one token's writes never race each other here (a
   * lost race costs a read, crypto and a retry), only other instances'.
   */
  #serial<T>(principal: string, write: () => Promise<T>): Promise<T> {
    const previous = this.#writing.get(principal) ?? Promise.resolve();
    const next = previous.then(write);
    const tail = next.then(() => {}, () => {});
    this.#writing.set(principal, tail);
    void tail.then(() => {
      if (this.#writing.get(principal) === tail) this.#writing.delete(principal);
    });
    return next;
  }

  /**
   * Apply one delivery report to `principal`'s entry: `false` when the
   * ledger holds no such message (nothing changes). A final status is kept:
   * repeated, late or out-of-order reports never replace it.
   */
  deliver(principal: string, report: DeliveryReport): Promise<boolean> {
    return this.#serial(principal, () => this.#deliver(principal, report));
  }

  async #deliver(principal: string, report: DeliveryReport): Promise<boolean> {
    const key = this.#key(principal, "m", await this.#hash(report.messageId));
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [read] = await this.#read<EntryValue>([key]);
      const entry = this.#live(read!);
      if (!entry) return false;
      const record = await this.#recordOf(key, entry.box);
      if (record.id !== report.messageId) return false;
      if (FINAL.has(record.status) || report.status === null) return true;
      const updated: Sealed = {
        ...record,
        status: report.status,
        code: report.errorCode ?? (report.status === "delivered" ? 0 : null),
        up: this.#now(),
      };
      const tallyKey = this.#key(principal, "b", Math.floor(entry.seq / this.#bucket));
      const [tallyRead] = await this.#read<TallyValue>([tallyKey]);
      const sets: Writes = [
        { key, value: { ...entry, box: await this.#seal(key, updated) } },
      ];
      const tallyValue = this.#live(tallyRead!);
      if (tallyValue) {
        const tally = await this.#open<Tally>(tallyKey, tallyValue.box);
        tally[report.status]++;
        sets.push({
          key: tallyKey,
          value: { ...tallyValue, box: await this.#seal(tallyKey, tally) },
        });
      }
      if (await this.#commit({ checks: [read!, tallyRead!], sets, deletes: [] })) return true;
      await jitter(attempt);
    }
    throw this.#unavailable(new Error("too many concurrent changes to one ledger entry"));
  }

  async entries(principal: string, ids: readonly string[]): Promise<(LedgerEntry | null)[]> {
    if (!this.enabled || ids.length === 0) return ids.map(() => null);
    const keys = await Promise.all(
      ids.map(async (id) => this.#key(principal, "m", await this.#hash(id))),
    );
    // The head first: a token with no ledger (a made-up one) costs one read.
    const [head, ...first] = await this.#read<Head | EntryValue>([
      this.#key(principal, "head"),
      ...keys.slice(0, 9),
    ]);
    if (!this.#live(head!)) return ids.map(() => null);
    const rest = await this.#read<EntryValue>(keys.slice(9));
    const read = [...first, ...rest] as StoreEntry<EntryValue>[];
    return await Promise.all(read.map(async (entry, i) => {
      const value = this.#live(entry);
      if (!value) return null;
      const record = await this.#recordOf(entry.key, value.box);
      return record.id === ids[i] ? entryOf(record) : null;
    }));
  }

  async usage(principal: string, since: number, recent: number): Promise<LedgerUsage> {
    const usage: LedgerUsage = {
      sends: 0,
      parts: 0,
      costMicros: 0,
      delivered: 0,
      undelivered: 0,
      expired: 0,
      recent: [],
    };
    if (!this.enabled) return usage;
    const [head] = await this.#read<Head>([this.#key(principal, "head")]);
    const n = this.#live(head!)?.n ?? 0;
    if (n === 0) return usage;
    const low = Math.max(0, n - this.#bound);
    usage.recent = await this.#bySeq(principal, Math.max(low, n - recent), n);
    usage.recent.reverse();
    // Whole buckets from their tallies, newest first; the one that straddles `since` (or the
    // bound) entry by entry.
    const B = this.#bucket;
    for (let top = Math.floor((n - 1) / B); top >= Math.floor(low / B); top -= 10) {
      const numbers = range(Math.max(Math.floor(low / B), top - 9), top + 1).reverse();
      const tallies = await this.#read<TallyValue>(
        numbers.map((k) => this.#key(principal, "b", k)),
      );
      for (const [i, k] of numbers.entries()) {
        const value = this.#live(tallies[i]!);
        if (!value) return usage;
        const tally = await this.#open<Tally>(tallies[i]!.key, value.box);
        if (tally.last < since) return usage;
        if (tally.first >= since && k * B >= low) {
          add(usage, tally);
          continue;
        }
        const entries = await this.#bySeq(principal, Math.max(low, k * B), Math.min(n, k * B + B));
        for (const e of entries.filter((e) => e.sentAt >= since)) add(usage, tallyOf(e));
        return usage;
      }
    }
    return usage;
  }

  /** Record one chunk: one commit, serialised per token by the head. */
  async #record(principal: string, messages: readonly SentMessage[]): Promise<void> {
    const B = this.#bucket;
    const now = this.#now();
    const exp = now + this.#o.days * DAY_MS;
    const headKey = this.#key(principal, "head");
    const keys = await Promise.all(
      messages.map(async (m) => this.#key(principal, "m", await this.#hash(m.messageId))),
    );
    // Sealed once, before the retries: a box does not depend on where the entry lands.
    const boxes = await Promise.all(messages.map((m, i) =>
      this.#seal(
        keys[i]!,
        {
          id: m.messageId,
          to: m.destination,
          parts: m.parts,
          cost: m.costMicros,
          batch: m.batchId,
          status: m.status,
          code: null,
          at: now,
          up: now,
        } satisfies Sealed,
      )
    ));
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [head, ...known] = await this.#read<Head | EntryValue>([headKey, ...keys]);
      // A message already recorded (a retried record) is not recorded twice.
      const fresh = messages.map((m, i) => ({ m, key: keys[i]!, box: boxes[i]! }))
        .filter((_, i) => !this.#live(known[i]!));
      if (fresh.length === 0) return;
      const n0 = (this.#live(head!) as Head | null)?.n ?? 0;
      const n1 = n0 + fresh.length;
      const touched = range(Math.floor(n0 / B), Math.floor((n1 - 1) / B) + 1);
      const dropped = range(Math.max(0, n0 - this.#bound), n1 - this.#bound);
      const extra = await this.#read<TallyValue | SeqValue>([
        ...touched.map((k) => this.#key(principal, "b", k)),
        ...dropped.map((seq) => this.#key(principal, "s", seq)),
      ]);
      const tallyReads = extra.slice(0, touched.length) as StoreEntry<TallyValue>[];
      const sets: Writes = [{ key: headKey, value: { n: n1, exp } }];
      const deletes: StoreKey[] = [];
      const tallies = await Promise.all(tallyReads.map(async (t) => {
        const value = this.#live(t);
        return value ? await this.#open<Tally>(t.key, value.box) : emptyTally(now);
      }));
      for (const [i, { m, key, box }] of fresh.entries()) {
        const seq = n0 + i;
        sets.push({ key, value: { seq, exp, box } });
        sets.push({ key: this.#key(principal, "s", seq), value: { m: key[3] as string, exp } });
        const tally = tallies[Math.floor(seq / B) - touched[0]!]!;
        tally.count++;
        tally.parts += m.parts;
        tally.cost += m.costMicros ?? 0;
        tally.last = now;
      }
      for (const [i, t] of tallyReads.entries()) {
        sets.push({ key: t.key, value: { exp, box: await this.#seal(t.key, tallies[i]!) } });
      }
      for (const [i, seq] of dropped.entries()) {
        const pointer = this.#live(extra[touched.length + i] as StoreEntry<SeqValue>);
        deletes.push(this.#key(principal, "s", seq));
        if (pointer) deletes.push(this.#key(principal, "m", pointer.m));
        if (seq % B === B - 1) deletes.push(this.#key(principal, "b", Math.floor(seq / B)));
      }
      if (await this.#commit({ checks: [head!, ...tallyReads], sets, deletes })) return;
      await jitter(attempt);
    }
    throw new Error("too many concurrent ledger writes for one token");
  }

  /** The entries `from` … `to - 1` of a token's sequence, oldest first (missing ones left out). */
  async #bySeq(principal: string, from: number, to: number): Promise<LedgerEntry[]> {
    const pointers = await this.#read<SeqValue>(
      range(from, to).map((seq) => this.#key(principal, "s", seq)),
    );
    const keys = pointers.flatMap((p) => {
      const value = this.#live(p);
      return value ? [this.#key(principal, "m", value.m)] : [];
    });
    const read = await this.#read<EntryValue>(keys);
    const out: LedgerEntry[] = [];
    for (const entry of read) {
      const value = this.#live(entry);
      if (value) out.push(entryOf(await this.#recordOf(entry.key, value.box)));
    }
    return out;
  }

  #key(principal: string, kind: "head" | "m" | "s" | "b", part?: string | number): StoreKey {
    return part === undefined ? ["ledger", principal, kind] : ["ledger", principal, kind, part];
  }

  /** A value still within its retention, or `null`. */
  #live<T extends Expiring>(entry: StoreEntry<T>): T | null {
    return entry.value && entry.value.exp > this.#now() ? entry.value : null;
  }

  /** Read any number of keys (in reads of ten, at once); a failure as `UPSTREAM_UNAVAILABLE`. */
  async #read<T extends Expiring>(keys: readonly StoreKey[]): Promise<StoreEntry<T>[]> {
    const reads = [];
    for (let i = 0; i < keys.length; i += 10) {
      reads.push(this.#o.store.getMany<T>(keys.slice(i, i + 10)));
    }
    try {
      return (await Promise.all(reads)).flat();
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  async #commit(commit: Parameters<Store["commit"]>[0]): Promise<boolean> {
    try {
      return await this.#o.store.commit(commit);
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  async #seal(key: StoreKey, value: unknown): Promise<string> {
    return await seal(await this.#o.sealKey(), JSON.stringify(key), JSON.stringify(value));
  }

  /**
   * An entry's record. Opened boxes are remembered (bounded): a status polled
   * again costs no decryption until a report changes the box.
   */
  async #recordOf(key: StoreKey, box: string): Promise<Readonly<Sealed>> {
    // By key and box: a box is bound to its key, and so is what is remembered of it.
    const id = `${JSON.stringify(key)}\n${box}`;
    const known = this.#opened.get(id);
    if (known) return known;
    const record = Object.freeze(await this.#open<Sealed>(key, box));
    if (this.#opened.size >= OPENED) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(id, record);
    return record;
  }

  async #open<T>(key: StoreKey, box: string): Promise<T> {
    return JSON.parse(await unseal(await this.#o.sealKey(), JSON.stringify(key), box)) as T;
  }

  /** The state failed: the ledger cannot be read (or written) now. */
  #unavailable(error: unknown): ServiceError {
    return readUnavailable(BACKEND_NAMES[this.#o.store.kind], "its ledger of sent messages", error);
  }
}

function entryOf(r: Sealed): LedgerEntry {
  return {
    messageId: r.id,
    destination: r.to,
    parts: r.parts,
    costMicros: r.cost,
    batchId: r.batch,
    status: r.status,
    errorCode: r.code,
    sentAt: r.at,
    updatedAt: r.up,
  };
}

function emptyTally(now: number): Tally {
  return {
    count: 0,
    parts: 0,
    cost: 0,
    delivered: 0,
    undelivered: 0,
    expired: 0,
    first: now,
    last: now,
  };
}

/** One entry as a tally of its own. */
function tallyOf(e: LedgerEntry): Tally {
  const tally = { ...emptyTally(e.sentAt), count: 1, parts: e.parts, cost: e.costMicros ?? 0 };
  if (e.status === "delivered" || e.status === "undelivered" || e.status === "expired") {
    tally[e.status]++;
  }
  return tally;
}

function add(usage: LedgerUsage, tally: Tally): void {
  usage.sends += tally.count;
  usage.parts += tally.parts;
  usage.costMicros += tally.cost;
  usage.delivered += tally.delivered;
  usage.undelivered += tally.undelivered;
  usage.expired += tally.expired;
}

/** The integers `from` … `to - 1` (none when `to <= from`). */
function range(from: number, to: number): number[] {
  return to > from ? Array.from({ length: to - from }, (_, i) => from + i) : [];
}

/** Wait a little, longer with each lost race (spreads writers contending for one key). */
function jitter(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
}

/** An error, short and without personal data (ledger code puts none in its errors). */
function describe(error: unknown): string {
  const e = isStateUnavailable(error) ? error.cause : error;
  return e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 200) : "non-error thrown";
}
