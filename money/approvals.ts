/**
 * Approvals: a person's yes to one exact send, given on a page outside the
 * conversation (the approval link, or the MCP Apps review card through it).
 *
 * A send that needs a person's approval and cannot ask in-band creates a
 * pending approval: a random 256-bit id, bound to the caller (the token's
 * keyed hash) and the exact arguments, expiring after 10 minutes, kept in
 * the shared store so any instance serves its page and honours it. What the
 * page shows (recipient, or a batch's recipients and countries, sender, the
 * full text, cost) is sealed there. The
 * page's form carries a value derived from the id under the server's secret;
 * a decision without it changes nothing. An approved send is spent once
 * (approved → used, atomically); a declined or expired one never sends.
 * An approval is bound to the test mode it was asked in (`SMS_TEST_MODE`):
 * one given for a simulated send authorises nothing where sends are real.
 * The state holds it under a keyed hash of its id, never the id.
 */
import type { SmsTestMode } from "../core/config.ts";
import { ServiceError } from "../core/errors.ts";
import { base64url, derivedCryptoKey, hmac, randomId, type SecretSource } from "../core/keys.ts";
import { aesKey, seal, unseal } from "../core/seal.ts";
import { type Expiring, type Store, type StoreEntry, StoreFullError } from "../state/mod.ts";
import { storeFull } from "./outcome.ts";

/** How long an approval may be decided and used. */
export const APPROVAL_TTL_SECONDS = 600;

/** How long a decided or used approval is remembered (to answer repeats, then forgotten). */
const KEEP_MS = 24 * 60 * 60 * 1000;

/** What the approval page shows about the send. */
export interface ApprovalDetails {
  to: string;
  from: string;
  /** The full text. */
  message: string;
  parts: number;
  encoding: string;
  estimatedCostEur: string | null;
  rateEur: string | null;
  country: string | null;
  scheduled?: string;
  /** The client's own name (`clientInfo.name`), when it gave one. */
  clientName?: string;
  /** VertexSMS only simulates the send (`SMS_TEST_MODE`). */
  simulated?: boolean;
  /**
   * One text to many recipients (`send_sms_batch`): `to` then names them in
   * one line, `parts` and the costs are per message and for all.
   */
  batch?: BatchDetails;
}

/** What the approval of a batch shows besides the text: who, where, how much in all. */
export interface BatchDetails {
  /** Every recipient to be sent, in input order. */
  recipients: string[];
  /** Recipients per country (and rate), with their estimated cost. */
  countries: { country: string | null; recipients: number; costEur: string | null }[];
  /** Parts of all messages together. */
  partsTotal: number;
  /** Recipients the consent guards refuse (not sent; not counted above). */
  refused?: { to: string; reason: string }[];
}

/** Where an approval stands. */
export type ApprovalState = "pending" | "approved" | "declined" | "used" | "expired";

/** The stored record of one approval. */
interface ApprovalRecord extends Expiring {
  s: "pending" | "approved" | "declined" | "used";
  /** Keyed digest of the caller, the tool and the exact arguments. */
  b: string;
  /** When the approval stops counting (epoch ms); `exp` keeps the record longer. */
  until: number;
  /** Sealed {@link ApprovalDetails}. */
  box: string;
  /** `SMS_TEST_MODE` it was asked in, when not `off`. */
  m?: string;
}

/** An approval's page: what it shows, where it stands, and its form value. */
export interface ApprovalView {
  id: string;
  state: ApprovalState;
  details: ApprovalDetails;
  /** When it expires, epoch milliseconds. */
  expiresAt: number;
  /** The value the page's form must send back. */
  formToken: string;
}

/** Options of {@link Approvals}. */
export interface ApprovalsOptions {
  store: Store;
  secret: SecretSource;
  now: () => number;
  /** `SMS_TEST_MODE` of this instance: approvals asked in another mode count for nothing. */
  mode: SmsTestMode;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/** The approvals of one server (all instances sharing its store and secret). */
export class Approvals {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #mode: SmsTestMode;
  readonly #formKey: () => Promise<CryptoKey>;
  readonly #idKey: () => Promise<CryptoKey>;
  readonly #sealKey: () => Promise<CryptoKey>;

  constructor(options: ApprovalsOptions) {
    this.#store = options.store;
    this.#now = options.now;
    this.#mode = options.mode;
    this.#formKey = derivedCryptoKey(options.secret, "approval-form");
    this.#idKey = derivedCryptoKey(options.secret, "approval-id");
    this.#sealKey = derivedCryptoKey(options.secret, "approval-seal", aesKey);
  }

  /** Create a pending approval for this binding; its id and lifetime. */
  async create(
    binding: string,
    details: ApprovalDetails,
  ): Promise<{ id: string; expiresInSeconds: number }> {
    const id = randomId();
    const now = this.#now();
    const record: ApprovalRecord = {
      s: "pending",
      b: binding,
      until: now + APPROVAL_TTL_SECONDS * 1000,
      box: await seal(await this.#sealKey(), id, JSON.stringify(details)),
      exp: now + KEEP_MS,
      ...(this.#mode === "off" ? {} : { m: this.#mode }),
    };
    try {
      await this.#store.commit({
        checks: [],
        sets: [{ key: await this.#keyOf(id), value: record }],
        deletes: [],
      });
    } catch (error) {
      if (error instanceof StoreFullError) throw storeFull();
      throw error;
    }
    return { id, expiresInSeconds: APPROVAL_TTL_SECONDS };
  }

  /**
   * Where an approval stands for a send with this binding: `other_mode` when
   * it was asked in another test mode than this instance's, `mismatch` when
   * it was given for other arguments or another token, `unknown` when there
   * is no such approval.
   */
  async status(
    id: string,
    binding: string,
  ): Promise<ApprovalState | "other_mode" | "mismatch" | "unknown"> {
    const record = await this.#read(id);
    if (!record) return "unknown";
    if ((record.value.m ?? "off") !== this.#mode) return "other_mode";
    if (record.value.b !== binding) return "mismatch";
    return this.#state(record.value);
  }

  /** Spend an approved approval for this binding (approved → used); `false` if it is not approved. */
  async spend(id: string, binding: string): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const record = await this.#read(id);
      if (!record || record.value.b !== binding || this.#state(record.value) !== "approved") {
        return false;
      }
      if (await this.#move(record, "used")) return true;
    }
    return false;
  }

  /** What the page of `id` shows; `null` when there is no such approval (or it is long gone). */
  async view(id: string): Promise<ApprovalView | null> {
    const record = await this.#read(id);
    if (!record) return null;
    let details: ApprovalDetails;
    try {
      details = JSON.parse(await unseal(await this.#sealKey(), id, record.value.box));
    } catch {
      return null;
    }
    return {
      id,
      state: this.#state(record.value),
      details,
      expiresAt: record.value.until,
      formToken: await this.formToken(id),
    };
  }

  /**
   * A person's decision on the page: only with the page's own form value,
   * only while pending. `unknown` for no such approval, `forbidden` without
   * the right form value, `stale` when it is no longer pending.
   */
  async decide(
    id: string,
    action: "approve" | "decline",
    formToken: string,
  ): Promise<"approved" | "declined" | "stale" | "forbidden" | "unknown"> {
    if (!ID.test(id)) return "unknown";
    if (!(await this.#formTokenMatches(id, formToken))) return "forbidden";
    for (let attempt = 0; attempt < 10; attempt++) {
      const record = await this.#read(id);
      if (!record) return "unknown";
      if (this.#state(record.value) !== "pending") return "stale";
      const s = action === "approve" ? "approved" : "declined";
      if (await this.#move(record, s)) return s;
    }
    throw new ServiceError("INTERNAL_ERROR", "The approval could not be recorded; try again.");
  }

  /** The value the page of `id` carries in its form (a keyed hash of the id). */
  async formToken(id: string): Promise<string> {
    return base64url(await hmac(await this.#formKey(), `approval-form:${id}`));
  }

  async #formTokenMatches(id: string, given: string): Promise<boolean> {
    const expected = await this.formToken(id);
    if (given.length !== expected.length) return false;
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
    return diff === 0;
  }

  #state(record: ApprovalRecord): ApprovalState {
    if (record.s === "used" || record.s === "declined") return record.s;
    return record.until <= this.#now() ? "expired" : record.s;
  }

  /**
   * An approval's key: a keyed hash of its id, never the id (whoever reads the state must not
   * learn a link that approves). The id is its own owner (the caller's share is bounded by a
   * limit).
   */
  async #keyOf(id: string) {
    return ["approval", base64url(await hmac(await this.#idKey(), `approval-id:${id}`))] as const;
  }

  /** Move an approval to state `s`, unless its record changed since it was read. */
  async #move(
    record: { entry: StoreEntry<ApprovalRecord>; value: ApprovalRecord },
    s: ApprovalRecord["s"],
  ): Promise<boolean> {
    const value: ApprovalRecord = { ...record.value, s };
    return await this.#store.commit({
      checks: [record.entry],
      sets: [{ key: record.entry.key, value }],
      deletes: [],
    });
  }

  async #read(id: string) {
    if (!ID.test(id)) return null;
    const [entry] = await this.#store.getMany<ApprovalRecord>([await this.#keyOf(id)]);
    const value = entry!.value;
    if (!value || value.exp <= this.#now()) return null;
    return { entry: entry!, value };
  }
}
