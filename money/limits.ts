/**
 * Throttles and the spend cap, per token: sends per minute, distinct
 * recipients per hour and EUR per 24 hours for `send_sms` and every recipient
 * of `send_sms_batch`; PIN texts per hour per token and per number for
 * `register_msisdn_sender`. Each call's limits are checked and counted in one
 * atomic commit (a batch's recipients all at once: it fits whole or is
 * refused whole). A definite refusal gives the count back, per recipient
 * (and a window back to zero is deleted, so a rejected token leaves no
 * state); after a send, the spend window is corrected to the parts
 * VertexSMS says it billed. Each window opens at the first call it counts.
 */
import { asServiceError, ServiceError } from "../core/errors.ts";
import { formatEur } from "../core/eur.ts";
import {
  type Expiring,
  type Store,
  type StoreEntry,
  StoreFullError,
  type StoreKey,
} from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import { storeFull } from "./outcome.ts";
import type { GuardContext, LimitWindow, SmsQuote } from "./types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Keys one `Store.getMany` reads at most. */
const READ_CHUNK = 10;

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

/** One limit, and what each unit of a call (the call, or each recipient of a batch) adds to it. */
interface Limit {
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
interface Taken {
  name: LimitName;
  key: StoreKey;
  start: number;
  amount: number;
  member?: StoreKey;
}

/** The limits a snapshot shows, by the window's name. */
const SHOWN = [
  ["sends", "SMS_SENDS_PER_MINUTE", "sendsPerMinute"],
  ["recipients", "SMS_RECIPIENTS_PER_HOUR", "recipientsPerHour"],
  ["spend", "SMS_DAILY_SPEND_CAP_EUR", "dailySpendCapMicros"],
  ["pins", "PIN_TEXTS_PER_HOUR", "pinTextsPerHour"],
] as const satisfies readonly (readonly [LimitName, LimitWindow["name"], keyof SendLimits])[];

/** What one call (or one recipient of a batch) counted, to give back if nothing was sent. */
export interface Lease {
  taken: Taken[];
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

  /** Count one send against the per-token limits, or refuse with RATE_LIMITED. */
  async reserve(ctx: GuardContext, recipient: string, cost: number | null): Promise<Lease> {
    const [lease] = await this.reserveBatch(ctx, [recipient], [cost]);
    return lease!;
  }

  /**
   * Count every recipient of a batch against the per-token limits in one
   * commit (one lease per recipient), or refuse the whole batch with
   * RATE_LIMITED.
   */
  async reserveBatch(
    ctx: GuardContext,
    recipients: readonly string[],
    costs: readonly (number | null)[],
  ): Promise<Lease[]> {
    const principal = await ctx.principal();
    const { sendsPerMinute, recipientsPerHour, dailySpendCapMicros } = this.#limits;
    const members = recipientsPerHour > 0
      ? await Promise.all(
        recipients.map(async (r) => [
          "limit",
          principal,
          "recipients",
          await this.#digest("recipient", r),
        ]),
      )
      : undefined;
    const ones = recipients.map(() => 1);
    return await this.#take([
      limit("sends", sendsPerMinute, MINUTE, ones, principal),
      { ...limit("recipients", recipientsPerHour, HOUR, ones, principal), members },
      limit("spend", dailySpendCapMicros, DAY, costs.map((c) => c ?? 0), principal),
    ], recipients.length === 1 ? "This SMS" : `This batch of ${recipients.length} SMS`);
  }

  /** Count one PIN text, per token and per number, or refuse with RATE_LIMITED. */
  async reservePin(ctx: GuardContext, number: string): Promise<Lease> {
    const perHour = this.#limits.pinTextsPerHour;
    const numberOwner = await this.#digest("pin-number", number);
    const [lease] = await this.#take([
      limit("pins", perHour, HOUR, [1], await ctx.principal()),
      limit("pinsPerNumber", perHour, HOUR, [1], numberOwner),
    ], "This PIN text");
    return lease!;
  }

  /** Count one approval request of this token, or refuse with RATE_LIMITED. */
  async reserveApproval(ctx: GuardContext): Promise<Lease> {
    const [lease] = await this.#take([
      limit("approvals", APPROVALS_PER_HOUR, HOUR, [1], await ctx.principal()),
    ], "This approval");
    return lease!;
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
   * RATE_LIMITED; one lease per unit. Each window starts at the first call it
   * counts and ends `windowMs` after. Only the windows are checked on commit:
   * a distinct-recipient marker is only ever written or deleted together with
   * its window, so a window unchanged since it was read vouches for its
   * markers (a batch's 100 markers would pass any store's check limit).
   */
  async #take(all: Limit[], what: string): Promise<Lease[]> {
    const plan = all.filter((l) => l.limit > 0);
    const units = all[0]!.amounts.length;
    const leases: Lease[] = Array.from({ length: units }, () => ({ taken: [] }));
    if (plan.length === 0) return leases;
    for (let attempt = 0; attempt < 20; attempt++) {
      const windows = await this.#store.getMany<Window>(plan.map((p) => p.key));
      const markers = await Promise.all(
        plan.map((p) => p.members ? this.#readAll(p.members) : Promise.resolve([])),
      );
      const now = this.#now();
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
      let committed: boolean;
      try {
        committed = await this.#store.commit({ checks: windows, sets, deletes: [] });
      } catch (error) {
        if (error instanceof StoreFullError) throw storeFull();
        throw error;
      }
      if (committed) return leases;
    }
    throw new ServiceError(
      "RATE_LIMITED",
      "Too many calls are being counted for this token at once. Nothing was sent; try again in a second.",
      { retryAfterSeconds: 1 },
    );
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
   * Give back what refused calls (or recipients) counted (best effort: a lost
   * race keeps the count). A window counted back to zero is deleted with its
   * markers.
   */
  async refund(...leases: Lease[]): Promise<void> {
    await this.#adjust(leases.flatMap((l) => l.taken), (t) => -t.amount, true);
  }

  /**
   * Correct the spend window to what VertexSMS billed: each `billedMicros`
   * replaces the estimate its lease counted (up or down), in one correction.
   */
  async reconcile(...corrections: { lease: Lease; billedMicros: number }[]): Promise<void> {
    const billed = new Map<Taken, number>();
    for (const { lease, billedMicros } of corrections) {
      const spend = lease.taken.find((t) => t.name === "spend");
      if (spend && billedMicros !== spend.amount) billed.set(spend, billedMicros);
    }
    if (billed.size === 0) return;
    await this.#adjust([...billed.keys()], (t) => billed.get(t)! - t.amount, false);
  }

  /**
   * Apply `delta` to each window the entries counted, one commit per window
   * (a busy shared window, such as one number's PIN count, must not hold back
   * the others; a batch's recipients are summed into that one commit),
   * retried with a little jitter until it lands.
   */
  async #adjust(
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
        // Only the window that counted the call is corrected (its markers are its own: see #take).
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
 * What the spend cap counts for each recipient: the estimate (`known`, or
 * read now). A recipient without a price cannot be counted: INVALID_INPUT
 * naming its field (`path(i)`), nothing sent.
 */
export async function costsForCap(
  quote: () => Promise<readonly SmsQuote[]>,
  known: readonly SmsQuote[] | null | undefined,
  path: (index: number) => string,
): Promise<number[]> {
  let quotes = known;
  if (!quotes) {
    try {
      quotes = await quote();
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
  const unpriced = quotes.flatMap((q, i) => q.costMicros === null ? [i] : []);
  if (unpriced.length > 0) {
    const which = quotes.length === 1 ? "the destination" : "some destinations";
    throw new ServiceError(
      "INVALID_INPUT",
      `A daily spend cap is set on this server, and this account's price list has no rate for ` +
        `${which}, so the cost cannot be counted. Nothing was sent.`,
      {
        details: unpriced.map((i) => ({
          path: path(i),
          message: "no rate for this destination in the price list",
        })),
      },
    );
  }
  return quotes.map((q) => q.costMicros!);
}

function limit(
  name: LimitName,
  max: number,
  windowMs: number,
  amounts: readonly number[],
  owner: string,
): Limit {
  return { name, limit: max, windowMs, amounts, key: ["limit", owner, name] };
}

/** The refusal of a call (`what`: "This SMS", "This batch of 12 SMS") over a limit. */
function overLimit(p: Limit, window: Window, add: number, now: number, what: string): ServiceError {
  const used = window.n;
  const seconds = Math.max(1, Math.ceil((window.exp - now) / 1000));
  const batch = p.amounts.length > 1;
  if (add > p.limit) {
    // More than the limit on its own: no wait helps.
    const alone = p.name === "spend"
      ? `${what} alone is estimated at €${formatEur(add)}, more than the spend cap of ` +
        `€${formatEur(p.limit)} per 24 hours (SMS_DAILY_SPEND_CAP_EUR)`
      : p.name === "sends"
      ? `${what} alone is more than the ${p.limit} SMS a minute this server allows ` +
        `(SMS_SENDS_PER_MINUTE)`
      : `${what} alone reaches ${add} different recipients, more than the ${p.limit} an hour ` +
        "this server allows (SMS_RECIPIENTS_PER_HOUR)";
    const under = p.name === "spend" ? "this cap" : "this limit";
    const split = batch ? "; split it into smaller batches" : "";
    return new ServiceError(
      "RATE_LIMITED",
      `${alone}. Nothing was sent; it cannot be sent under ${under}${split}.`,
      { retryable: false },
    );
  }
  const wait = `Nothing was sent. Try again in ${seconds} seconds.`;
  // A batch says what it would add: the window alone may still have room for a smaller one.
  const adding = batch ? `, and ${what.replace(/^T/, "t")} would add ${add}, over the` : ", the";
  const message = p.name === "approvals"
    ? `This token already asked for ${used} approvals within an hour, the most this server ` +
      `allows. ${wait}`
    : p.name === "pins" || p.name === "pinsPerNumber"
    ? `${
      p.name === "pins" ? "This token" : "This number"
    } already got ${used} PIN texts within an hour, the limit of this server ` +
      `(PIN_TEXTS_PER_HOUR=${p.limit}). ${wait}`
    : p.name === "sends"
    ? `This token already sent ${used} SMS within a minute${adding} limit of this server ` +
      `(SMS_SENDS_PER_MINUTE=${p.limit}). ${wait}`
    : p.name === "recipients"
    ? `This token already messaged ${used} different recipients within an hour${adding} limit ` +
      `of this server (SMS_RECIPIENTS_PER_HOUR=${p.limit}). Recipients already messaged in this ` +
      `hour can still be reached. ${wait}`
    : `Sending would bring this token's estimated spend today to €${formatEur(used + add)}, over ` +
      `the cap of €${formatEur(p.limit)} per 24 hours (SMS_DAILY_SPEND_CAP_EUR). ${wait}`;
  return new ServiceError("RATE_LIMITED", message, { retryAfterSeconds: seconds });
}
