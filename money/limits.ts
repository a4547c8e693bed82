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
import type { Store } from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import type { LimitName } from "./limit_messages.ts";
import { type Lease, limit, LimitWindows, type Taken, type Window } from "./limit_windows.ts";
import type { GuardContext, LimitWindow, SmsQuote } from "./types.ts";

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

/** Approvals one token may ask people for per hour (each is a page someone must look at). */
export const APPROVALS_PER_HOUR = 30;

/** The limits a snapshot shows, by the window's name. */
const SHOWN = [
  ["sends", "SMS_SENDS_PER_MINUTE", "sendsPerMinute"],
  ["recipients", "SMS_RECIPIENTS_PER_HOUR", "recipientsPerHour"],
  ["spend", "SMS_DAILY_SPEND_CAP_EUR", "dailySpendCapMicros"],
  ["pins", "PIN_TEXTS_PER_HOUR", "pinTextsPerHour"],
] as const satisfies readonly (readonly [LimitName, LimitWindow["name"], keyof SendLimits])[];

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
  readonly #windows: LimitWindows;
  readonly #digest: Digest;
  readonly #limits: SendLimits;
  readonly #now: () => number;

  constructor(options: LimitsOptions) {
    this.#store = options.store;
    this.#windows = new LimitWindows(options.store, options.now);
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
    return await this.#windows.take([
      limit("sends", sendsPerMinute, MINUTE, ones, principal),
      { ...limit("recipients", recipientsPerHour, HOUR, ones, principal), members },
      limit("spend", dailySpendCapMicros, DAY, costs.map((c) => c ?? 0), principal),
    ], recipients.length === 1 ? "This SMS" : `This batch of ${recipients.length} SMS`);
  }

  /** Count one PIN text, per token and per number, or refuse with RATE_LIMITED. */
  async reservePin(ctx: GuardContext, number: string): Promise<Lease> {
    const perHour = this.#limits.pinTextsPerHour;
    const numberOwner = await this.#digest("pin-number", number);
    const [lease] = await this.#windows.take([
      limit("pins", perHour, HOUR, [1], await ctx.principal()),
      limit("pinsPerNumber", perHour, HOUR, [1], numberOwner),
    ], "This PIN text");
    return lease!;
  }

  /** Count one approval request of this token, or refuse with RATE_LIMITED. */
  async reserveApproval(ctx: GuardContext): Promise<Lease> {
    const [lease] = await this.#windows.take([
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
   * Give back what refused calls (or recipients) counted (best effort: a lost
   * race keeps the count). A window counted back to zero is deleted with its
   * markers.
   */
  async refund(...leases: Lease[]): Promise<void> {
    await this.#windows.adjust(leases.flatMap((l) => l.taken), (t) => -t.amount, true);
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
    await this.#windows.adjust([...billed.keys()], (t) => billed.get(t)! - t.amount, false);
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

/**
 * What a sent message costs as the spend cap counts it: the estimate of
 * `parts` parts, corrected to the parts VertexSMS billed.
 */
export function billedCost(estimateMicros: number, parts: number, billedParts: number): number {
  return Math.ceil((estimateMicros / parts) * billedParts);
}
