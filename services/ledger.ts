/**
 * The ledger: every SMS this server sent (simulated ones too), per token, in
 * the shared state (memory, Deno KV or Redis), fed by delivery reports.
 *
 * Every value expires `SMS_LEDGER_DAYS` after the send. A token keeps at most
 * {@link LEDGER_BOUND} entries: recording entry `n` drops entry
 * `n - LEDGER_BOUND` (oldest first).
 *
 * The ledger is a record, not a guard: a write that fails after VertexSMS
 * accepted a message is logged (without personal data) and the send stands.
 * Reads fail loudly instead (`UPSTREAM_UNAVAILABLE`), never with an empty
 * answer that would look true. Recording a batch is one commit per token
 * (serialised by the head); a delivery report changes one entry and its tally.
 *
 * This file is its public face: the shapes the tools see, and the class that
 * turns them into sealed records and back. Its parts: `ledger_records.ts`
 * (the layout in the store, what is sealed, reads, commits and retries),
 * `ledger_writes.ts` (recording entries, applying a report),
 * `ledger_usage.ts` (the tallies) and `ledger_queue.ts` (the write queue).
 */
import type { Logger } from "../core/log.ts";
import { isStateUnavailable, type Store } from "../state/mod.ts";
import type { DeliveryReport } from "../vertex/mod.ts";
import { WriteQueue } from "./ledger_queue.ts";
import {
  LEDGER_BOUND,
  LEDGER_BUCKET,
  LedgerRecords,
  type LedgerStatus,
  type Sealed,
} from "./ledger_records.ts";
import { emptyTally, usageOf } from "./ledger_usage.ts";
import { applyReport, recordChunk, type Retention } from "./ledger_writes.ts";
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
  /** Whether messages are recorded at all (`SMS_LEDGER_DAYS` above 0). */
  readonly enabled: boolean;
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

/** The ledger of one server (all instances sharing its store and secret). */
export class Ledger implements MessageLedger {
  readonly deliveryReports: "enabled" | "unavailable";
  readonly #o: LedgerOptions;
  readonly #retention: Retention;
  readonly #now: () => number;
  readonly #records: LedgerRecords;
  readonly #capabilities: ReportCapabilities;
  /** One token's writes one at a time on this instance; sends in flight at once share one. */
  readonly #queue = new WriteQueue<SentMessage>((principal, messages) =>
    this.#write(principal, messages)
  );

  constructor(options: LedgerOptions) {
    this.#o = options;
    const bound = options.bound ?? LEDGER_BOUND;
    const bucket = options.bucket ?? LEDGER_BUCKET;
    if (bound % bucket !== 0 || bound < 2 * bucket) {
      throw new Error("the ledger's bound must be a multiple of its bucket, at least two of them");
    }
    this.#retention = { bound, bucket, days: options.days };
    this.#now = options.now ?? Date.now;
    this.#records = new LedgerRecords({ ...options, now: this.#now });
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
    await this.#queue.push(principal, messages);
  }

  /** Write messages queued for `principal` (never throws: a failure is logged). */
  async #write(principal: string, messages: readonly SentMessage[]): Promise<void> {
    // Each commit stays within Deno KV's limits (1000 mutations, 800 KB) and never both drops
    // and adds to one tally.
    const chunk = Math.min(100, this.#retention.bound - this.#retention.bucket);
    try {
      for (let i = 0; i < messages.length; i += chunk) {
        const now = this.#now();
        const news = messages.slice(i, i + chunk).map((m) => sealedOf(m, now));
        await recordChunk(this.#records, principal, news, now, this.#retention);
      }
    } catch (error) {
      this.#o.logger.warn("ledger write failed", {
        state: this.#o.store.kind,
        messages: messages.length,
        error: describe(error),
        hint: "the messages were sent; their statuses cannot be tracked",
      });
    }
  }

  /**
   * Apply one delivery report to `principal`'s entry: `false` when the
   * ledger holds no such message (nothing changes). A final status is kept:
   * repeated, late or out-of-order reports never replace it.
   */
  deliver(principal: string, report: DeliveryReport): Promise<boolean> {
    return this.#queue.serial(
      principal,
      () => applyReport(this.#records, principal, report, this.#retention.bucket, this.#now),
    );
  }

  async entries(principal: string, ids: readonly string[]): Promise<(LedgerEntry | null)[]> {
    if (!this.enabled || ids.length === 0) return ids.map(() => null);
    const records = await this.#records.entries(principal, ids);
    return records.map((r) => r && entryOf(r));
  }

  async usage(principal: string, since: number, recent: number): Promise<LedgerUsage> {
    const { total, recent: newest } = this.enabled
      ? await usageOf(this.#records, principal, this.#retention, since, recent)
      : { total: emptyTally(0), recent: [] };
    return {
      sends: total.count,
      parts: total.parts,
      costMicros: total.cost,
      delivered: total.delivered,
      undelivered: total.undelivered,
      expired: total.expired,
      recent: newest.map(entryOf),
    };
  }
}

/** A message just sent, as its record is sealed. */
function sealedOf(m: SentMessage, now: number): Sealed {
  return {
    id: m.messageId,
    to: m.destination,
    parts: m.parts,
    cost: m.costMicros,
    batch: m.batchId,
    status: m.status,
    code: null,
    at: now,
    up: now,
  };
}

/** A sealed record as read back. */
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

/** An error, short and without personal data (ledger code puts none in its errors). */
function describe(error: unknown): string {
  const e = isStateUnavailable(error) ? error.cause : error;
  return e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 200) : "non-error thrown";
}
