/**
 * Throttles and the spend cap of `send_sms`, per token: sends per minute,
 * distinct recipients per hour and estimated EUR per 24 hours, checked and
 * counted in one atomic commit; a definite refusal gives the count back.
 * Each window opens at the first send it counts.
 */
import { asServiceError, ServiceError } from "../core/errors.ts";
import { formatEur } from "../core/eur.ts";
import type { Expiring, Store, StoreKey } from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import type { GuardContext, SendCall, SmsQuote } from "./types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Per-token limits of `send_sms`; 0 switches a limit off. */
export interface SendLimits {
  sendsPerMinute: number;
  /** Distinct recipients per hour. */
  recipientsPerHour: number;
  /** Estimated spend per 24 hours, in micro-euros. */
  dailySpendCapMicros: number;
}

/** A limit's current window (or, for a distinct-recipient marker, the window it was counted in). */
interface Window extends Expiring {
  /** When the window opened, epoch milliseconds; it closes at `exp`. */
  start: number;
  /** What it counted so far (sends, recipients or micro-euros). */
  n: number;
}

interface Limit {
  name: "sends" | "recipients" | "spend";
  limit: number;
  windowMs: number;
  amount: number;
  /** Counted once per window (distinct recipients). */
  member?: string;
}

/** What one send counted, to give back if it turns out nothing was sent. */
export interface Lease {
  taken: { key: StoreKey; start: number; amount: number; member?: StoreKey }[];
}

/** Options of {@link Limits}. */
export interface LimitsOptions {
  store: Store;
  digest: Digest;
  limits: SendLimits;
  now: () => number;
}

/** The per-token send limits of one server. */
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

  /**
   * Check and count every limit in one atomic commit, or refuse with
   * RATE_LIMITED. Each window starts at the first send it counts (a minute,
   * an hour, 24 hours) and ends that long after.
   */
  async reserve(ctx: GuardContext, recipient: string, cost: number | null): Promise<Lease> {
    const principal = await ctx.principal();
    const { sendsPerMinute, recipientsPerHour, dailySpendCapMicros } = this.#limits;
    const limits: Limit[] = [
      { name: "sends" as const, limit: sendsPerMinute, windowMs: MINUTE, amount: 1 },
      {
        name: "recipients" as const,
        limit: recipientsPerHour,
        windowMs: HOUR,
        amount: 1,
        member: recipientsPerHour > 0 ? await this.#digest("recipient", recipient) : undefined,
      },
      { name: "spend" as const, limit: dailySpendCapMicros, windowMs: DAY, amount: cost ?? 0 },
    ].filter((l) => l.limit > 0);
    if (limits.length === 0) return { taken: [] };
    const plan = limits.map((l) => ({
      ...l,
      key: ["limit", principal, l.name] as StoreKey,
      memberKey: l.member === undefined ? undefined : ["limit", principal, l.name, l.member],
    }));
    const keys = plan.flatMap((p) => p.memberKey ? [p.key, p.memberKey] : [p.key]);
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
        const seen = p.memberKey ? live(i++)?.start === window.start : false;
        const add = p.memberKey ? (seen ? 0 : 1) : p.amount;
        if (window.n + add > p.limit) throw overLimit(p, window, add, now);
        if (add === 0) continue;
        sets.push({ key: p.key, value: { ...window, n: window.n + add } });
        if (p.memberKey) sets.push({ key: p.memberKey, value: { ...window, n: 1 } });
        taken.push({ key: p.key, start: window.start, amount: add, member: p.memberKey });
      }
      if (await this.#store.commit({ checks: entries, sets, deletes: [] })) return { taken };
    }
    throw new ServiceError(
      "RATE_LIMITED",
      "Too many sends are being counted for this token at once. Nothing was sent; try again in a second.",
      { retryAfterSeconds: 1 },
    );
  }

  /** Give back what a refused send counted (best effort: a lost race keeps the count). */
  async refund(lease: Lease): Promise<void> {
    if (lease.taken.length === 0) return;
    const keys = lease.taken.flatMap((t) => t.member ? [t.key, t.member] : [t.key]);
    for (let attempt = 0; attempt < 5; attempt++) {
      const entries = await this.#store.getMany<Window>(keys);
      const sets: { key: StoreKey; value: Window }[] = [];
      const deletes: StoreKey[] = [];
      let i = 0;
      for (const t of lease.taken) {
        const window = entries[i++]!.value;
        const member = t.member ? entries[i++]!.value : null;
        // Only the window that counted the send gives it back.
        if (window?.start !== t.start) continue;
        sets.push({ key: t.key, value: { ...window, n: Math.max(0, window.n - t.amount) } });
        if (t.member && member?.start === t.start) deletes.push(t.member);
      }
      if (await this.#store.commit({ checks: entries, sets, deletes })) return;
    }
  }
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
  const message = p.name === "sends"
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
