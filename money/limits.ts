/**
 * Throttles and the spend cap, per token: sends per minute, distinct
 * recipients per hour and EUR per 24 hours for `send_sms`; PIN texts per hour
 * per token and per number for `register_msisdn_sender`. Each call's limits
 * are checked and counted in one atomic commit. A definite refusal gives the
 * count back (and a window back to zero is deleted, so a rejected token
 * leaves no state); after a send, the spend window is corrected to the parts
 * VertexSMS says it billed. Each window opens at the first call it counts.
 */
import { asServiceError, ServiceError } from "../core/errors.ts";
import { formatEur } from "../core/eur.ts";
import { type Expiring, type Store, StoreFullError, type StoreKey } from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import { storeFull } from "./outcome.ts";
import type { GuardContext, LimitWindow, SendCall, SmsQuote } from "./types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Per-token limits of `send_sms` and PIN texts; 0 switches a limit off. */
export interface SendLimits {
  sendsPerMinute: number;
  /** Distinct recipients per hour. */
  recipientsPerHour: number;
  /** Spend per 24 hours, in micro-euros. */
  dailySpendCapMicros: number;
  /** PIN texts (`register_msisdn_sender`) per hour, per token and per number. */
  pinTextsPerHour: number;
}

/** A limit's current window (or, for a distinct-recipient marker, the window it was counted in). */
interface Window extends Expiring {
  /** When the window opened, epoch milliseconds; it closes at `exp`. */
  start: number;
  /** What it counted so far (calls, recipients or micro-euros). */
  n: number;
}

type LimitName = "sends" | "recipients" | "spend" | "pins" | "pinsPerNumber" | "approvals";

/** Approvals one token may ask people for per hour (each is a page someone must look at). */
export const APPROVALS_PER_HOUR = 30;

interface Limit {
  name: LimitName;
  limit: number;
  windowMs: number;
  amount: number;
  key: StoreKey;
  /** Counted once per window (distinct recipients): the member's marker key. */
  member?: StoreKey;
}

/** The limits a snapshot shows, by the window's name. */
const SHOWN = [
  ["sends", "SMS_SENDS_PER_MINUTE", "sendsPerMinute"],
  ["recipients", "SMS_RECIPIENTS_PER_HOUR", "recipientsPerHour"],
  ["spend", "SMS_DAILY_SPEND_CAP_EUR", "dailySpendCapMicros"],
  ["pins", "PIN_TEXTS_PER_HOUR", "pinTextsPerHour"],
] as const satisfies readonly (readonly [LimitName, LimitWindow["name"], keyof SendLimits])[];

/** What one call counted, to give back if nothing was sent, or correct once billed. */
export interface Lease {
  taken: { name: LimitName; key: StoreKey; start: number; amount: number; member?: StoreKey }[];
}

/** Options of {@link Limits}. */
export interface LimitsOptions {
  store: Store;
  digest: Digest;
  limits: SendLimits;
  now: () => number;
}

/** The per-token limits of one server. */
export class Limits {
  readonly #store: Store;
  readonly #digest: Digest;
  readonly #limits: SendLimits;
  readonly #now: () => number;

  constructor(options: LimitsOptions) {
    this.#store = options.store;
    this.#digest = options.digest;
    this.#limits = options.limits;
    this.#now = options.now;
  }

  /** Whether the spend cap is on (every send must then be priced). */
  get capped(): boolean {
    return this.#limits.dailySpendCapMicros > 0;
  }

  async costForCap(call: SendCall<unknown>, known: SmsQuote | null | undefined): Promise<number> {
    let quote = known;
    if (!quote) {
      try {
        quote = await call.quote();
      } catch (thrown) {
        const error = asServiceError(thrown);
        throw new ServiceError(
          error.code,
          "A daily spend cap is set on this server, so every SMS is priced before it is sent, " +
            `and the price could not be read: ${error.message} Nothing was sent.`,
          error.facts,
        );
      }
    }
    if (quote.costMicros === null) {
      throw new ServiceError(
        "INVALID_INPUT",
        "A daily spend cap is set on this server, and this account's price list has no rate for " +
          "the destination, so its cost cannot be counted. Nothing was sent.",
        { details: [{ path: "to", message: "no rate for this destination in the price list" }] },
      );
    }
    return quote.costMicros;
  }

  /** Count one send against the per-token limits, or refuse with RATE_LIMITED. */
  async reserve(ctx: GuardContext, recipient: string, cost: number | null): Promise<Lease> {
    const principal = await ctx.principal();
    const { sendsPerMinute, recipientsPerHour, dailySpendCapMicros } = this.#limits;
    const recipientKey = recipientsPerHour > 0
      ? ["limit", principal, "recipients", await this.#digest("recipient", recipient)]
      : undefined;
    return await this.#take([
      limit("sends", sendsPerMinute, MINUTE, 1, principal),
      { ...limit("recipients", recipientsPerHour, HOUR, 1, principal), member: recipientKey },
      limit("spend", dailySpendCapMicros, DAY, cost ?? 0, principal),
    ]);
  }

  /** Count one PIN text, per token and per number, or refuse with RATE_LIMITED. */
  async reservePin(ctx: GuardContext, number: string): Promise<Lease> {
    const perHour = this.#limits.pinTextsPerHour;
    const numberOwner = await this.#digest("pin-number", number);
    return await this.#take([
      limit("pins", perHour, HOUR, 1, await ctx.principal()),
      limit("pinsPerNumber", perHour, HOUR, 1, numberOwner),
    ]);
  }

  /** Count one approval request of this token, or refuse with RATE_LIMITED. */
  async reserveApproval(ctx: GuardContext): Promise<Lease> {
    return await this.#take([
      limit("approvals", APPROVALS_PER_HOUR, HOUR, 1, await ctx.principal()),
    ]);
  }

  /**
   * The token's limits that are on, with their open windows (one read;
   * nothing is counted or changed).
   */
  async snapshot(principal: string): Promise<LimitWindow[]> {
    const on = SHOWN.filter(([, , setting]) => this.#limits[setting] > 0);
    if (on.length === 0) return [];
    const entries = await this.#store.getMany<Window>(
      on.map(([name]) => ["limit", principal, name]),
    );
    const now = this.#now();
    return on.map(([, variable, setting], i) => {
      const window = entries[i]!.value;
      const open = window && window.exp > now ? window : null;
      return {
        name: variable,
        limit: this.#limits[setting],
        used: open?.n ?? 0,
        start: open?.start ?? null,
        end: open?.exp ?? null,
      };
    });
  }

  /**
   * Check and count every limit in one atomic commit, or refuse with
   * RATE_LIMITED. Each window starts at the first call it counts and ends
   * `windowMs` after.
   */
  async #take(all: Limit[]): Promise<Lease> {
    const plan = all.filter((l) => l.limit > 0);
    if (plan.length === 0) return { taken: [] };
    const keys = plan.flatMap((p) => p.member ? [p.key, p.member] : [p.key]);
    for (let attempt = 0; attempt < 20; attempt++) {
      const entries = await this.#store.getMany<Window>(keys);
      const now = this.#now();
      const live = (i: number) => {
        const v = entries[i]!.value;
        return v && v.exp > now ? v : null;
      };
      const sets: { key: StoreKey; value: Window }[] = [];
      const taken: Lease["taken"] = [];
      let i = 0;
      for (const p of plan) {
        const window = live(i++) ?? { start: now, n: 0, exp: now + p.windowMs };
        const seen = p.member ? live(i++)?.start === window.start : false;
        const add = p.member ? (seen ? 0 : 1) : p.amount;
        if (window.n + add > p.limit) throw overLimit(p, window, add, now);
        if (add === 0) continue;
        sets.push({ key: p.key, value: { ...window, n: window.n + add } });
        if (p.member) sets.push({ key: p.member, value: { ...window, n: 1 } });
        taken.push({
          name: p.name,
          key: p.key,
          start: window.start,
          amount: add,
          member: p.member,
        });
      }
      let committed: boolean;
      try {
        committed = await this.#store.commit({ checks: entries, sets, deletes: [] });
      } catch (error) {
        if (error instanceof StoreFullError) throw storeFull();
        throw error;
      }
      if (committed) return { taken };
    }
    throw new ServiceError(
      "RATE_LIMITED",
      "Too many calls are being counted for this token at once. Nothing was sent; try again in a second.",
      { retryAfterSeconds: 1 },
    );
  }

  /**
   * Give back what a refused call counted (best effort: a lost race keeps the
   * count). A window counted back to zero is deleted with its markers.
   */
  async refund(lease: Lease): Promise<void> {
    await this.#adjust(lease, (t) => -t.amount);
  }

  /**
   * Correct the spend window to what VertexSMS billed: `billedMicros` replaces
   * the estimate the lease counted (up or down).
   */
  async reconcile(lease: Lease, billedMicros: number): Promise<void> {
    const spend = lease.taken.find((t) => t.name === "spend");
    if (!spend || billedMicros === spend.amount) return;
    await this.#adjust({ taken: [spend] }, (t) => billedMicros - t.amount, false);
  }

  /**
   * Apply `delta` to each window the lease counted, one commit per window (a
   * busy shared window, such as one number's PIN count, must not hold back
   * the others), retried with a little jitter until it lands.
   */
  async #adjust(
    lease: Lease,
    delta: (taken: Lease["taken"][number]) => number,
    dropMembers = true,
  ): Promise<void> {
    await Promise.all(lease.taken.map(async (t) => {
      const keys = t.member ? [t.key, t.member] : [t.key];
      for (let attempt = 0; attempt < 50; attempt++) {
        const entries = await this.#store.getMany<Window>(keys);
        const window = entries[0]!.value;
        const member = t.member ? entries[1]!.value : null;
        // Only the window that counted the call is corrected.
        if (window?.start !== t.start) return;
        const n = Math.max(0, window.n + delta(t));
        const sets = n === 0 ? [] : [{ key: t.key, value: { ...window, n } }];
        const deletes: StoreKey[] = n === 0 ? [t.key] : [];
        if (dropMembers && t.member && member?.start === t.start) deletes.push(t.member);
        if (await this.#store.commit({ checks: entries, sets, deletes })) return;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }));
  }
}

function limit(
  name: LimitName,
  max: number,
  windowMs: number,
  amount: number,
  owner: string,
): Limit {
  return { name, limit: max, windowMs, amount, key: ["limit", owner, name] };
}

function overLimit(p: Limit, window: Window, add: number, now: number): ServiceError {
  const used = window.n;
  const seconds = Math.max(1, Math.ceil((window.exp - now) / 1000));
  if (add > p.limit) {
    return new ServiceError(
      "RATE_LIMITED",
      `This SMS alone is estimated at €${formatEur(add)}, more than the spend cap of ` +
        `€${
          formatEur(p.limit)
        } per 24 hours (SMS_DAILY_SPEND_CAP_EUR). Nothing was sent; it cannot be sent ` +
        "under this cap.",
      { retryable: false },
    );
  }
  const wait = `Nothing was sent. Try again in ${seconds} seconds.`;
  const message = p.name === "approvals"
    ? `This token already asked for ${used} approvals within an hour, the most this server ` +
      `allows. ${wait}`
    : p.name === "pins" || p.name === "pinsPerNumber"
    ? `${
      p.name === "pins" ? "This token" : "This number"
    } already got ${used} PIN texts within an hour, the limit of this server ` +
      `(PIN_TEXTS_PER_HOUR=${p.limit}). ${wait}`
    : p.name === "sends"
    ? `This token already sent ${used} SMS within a minute, the limit of this server ` +
      `(SMS_SENDS_PER_MINUTE=${p.limit}). ${wait}`
    : p.name === "recipients"
    ? `This token already messaged ${used} different recipients within an hour, the limit of ` +
      `this server (SMS_RECIPIENTS_PER_HOUR=${p.limit}). Recipients already messaged in this ` +
      `hour can still be reached. ${wait}`
    : `Sending would bring this token's estimated spend today to €${formatEur(used + add)}, over ` +
      `the cap of €${formatEur(p.limit)} per 24 hours (SMS_DAILY_SPEND_CAP_EUR). ${wait}`;
  return new ServiceError("RATE_LIMITED", message, { retryAfterSeconds: seconds });
}
