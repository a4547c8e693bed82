/**
 * Consent: who may be texted, and when — checked like the money guards,
 * before anything is priced, asked or sent, and again at sending (an
 * approval or a confirmation never overrides them):
 *
 * - opt-outs (`opt_outs.ts`): a number on the token's list is refused;
 * - quiet hours (`quiet_hours.ts`): a number is refused while it is
 *   `SMS_QUIET_HOURS` in any of its time zones (a `scheduled` send is judged
 *   at its time), with the next allowed time;
 * - the per-recipient limit (`recipient_windows.ts`): texts to one number
 *   per token per rolling 24 hours, counted at sending, atomically, and
 *   given back on a definite refusal.
 *
 * Each refusal is `SEND_NOT_ALLOWED` with its `reason`. The state (lists,
 * counts) belongs to the token's lasting hash (`consent_keys.ts`), and a
 * shared state that cannot be read refuses the send (it fails closed).
 */
import { type QuietHours, quietHoursText } from "../core/config.ts";
import { ServiceError } from "../core/errors.ts";
import type { SecretSource } from "../core/keys.ts";
import { BACKEND_NAMES, readUnavailable, type Store } from "../state/mod.ts";
import { ConsentKeys } from "./consent_keys.ts";
import { OptOutLists } from "./opt_outs.ts";
import { quietUntil, zonesOf } from "./quiet_hours.ts";
import { type RecipientLease, RecipientWindows } from "./recipient_windows.ts";
import type {
  ConsentGuards,
  ConsentSettings,
  GuardContext,
  ListChange,
  Refusals,
} from "./types.ts";

/** Options of {@link Consent}. */
export interface ConsentOptions {
  /** The guards' store: the per-recipient counts. */
  store: Store;
  /** Where opt-out lists live (`optOutStore(store)`). */
  lists: Store;
  secret: SecretSource;
  previousSecret?: () => Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** `SMS_QUIET_HOURS`; `null`: none. */
  quietHours: QuietHours | null;
  /** `SMS_PER_RECIPIENT_PER_DAY`; 0: no limit. */
  perRecipientPerDay: number;
  now?: () => number;
}

/** A recipient admitted at sending: what it counted, to give back if it was not sent. */
export type Admission = { lease: RecipientLease | null } | { refused: ServiceError };

/** The consent guards of one server (all instances sharing its state and consent key). */
export class Consent implements ConsentGuards {
  readonly keys: ConsentKeys;
  readonly #lists: OptOutLists;
  readonly #windows: RecipientWindows;
  readonly #quiet: QuietHours | null;
  readonly #now: () => number;
  readonly #backend: string;
  readonly #owners = new WeakMap<GuardContext["principal"], Promise<string>>();

  constructor(options: ConsentOptions) {
    this.#now = options.now ?? Date.now;
    // The key lives with the lists (in memory: their own store, not the guards').
    this.keys = new ConsentKeys({ ...options, store: options.lists });
    this.#lists = new OptOutLists(options.lists, this.keys.keyring);
    this.#windows = new RecipientWindows(options.store, options.perRecipientPerDay, this.#now);
    this.#quiet = options.quietHours;
    this.#backend = BACKEND_NAMES[options.lists.kind];
  }

  /** A token's lasting hash: the owner of its opt-out list and counts. */
  async ownerOf(token: string): Promise<string> {
    return await (await this.keys.keyring()).owner(token);
  }

  /**
   * The owner of the caller's consent state: its lasting hash, or one made
   * from its principal (once per call: a send asks twice).
   */
  #owner(ctx: GuardContext): Promise<string> {
    const lasting = ctx.principal.lasting;
    if (lasting) return lasting();
    let owner = this.#owners.get(ctx.principal);
    if (!owner) {
      owner = (async () =>
        await (await this.keys.keyring()).owner(`principal:${await ctx.principal()}`))();
      this.#owners.set(ctx.principal, owner);
    }
    return owner;
  }

  async check(
    ctx: GuardContext,
    numbers: readonly string[],
    scheduled?: string,
  ): Promise<Refusals> {
    const { refusals, owner, hashes } = await this.#judge(ctx, numbers, scheduled);
    if (this.#windows.limit === 0) return refusals;
    const open = refusals.flatMap((r, i) => (r ? [] : [i]));
    const full = await this.#windows.full(owner, open.map((i) => hashes[i]!));
    open.forEach((i, j) => {
      const until = full[j];
      if (until != null) refusals[i] = this.#limitReached(until);
    });
    return refusals;
  }

  /**
   * At sending: judge each number again, and count each one allowed against
   * the per-recipient limit (each on its own: one at its limit is refused,
   * the others go on).
   */
  async admit(
    ctx: GuardContext,
    numbers: readonly string[],
    scheduled?: string,
  ): Promise<Admission[]> {
    const { refusals, owner, hashes } = await this.#judge(ctx, numbers, scheduled);
    const admitted: Admission[] = refusals.map((r) => (r ? { refused: r } : { lease: null }));
    if (this.#windows.limit === 0) return admitted;
    const open = refusals.flatMap((r, i) => (r ? [] : [i]));
    const counts = await this.#windows.take(owner, open.map((i) => hashes[i]!));
    open.forEach((i, j) => {
      const count = counts[j]!;
      admitted[i] = "lease" in count
        ? { lease: count.lease }
        : { refused: this.#limitReached(count.fullUntil) };
    });
    return admitted;
  }

  /** Give back what admitted numbers that were not sent counted (best effort). */
  async release(...leases: (RecipientLease | null)[]): Promise<void> {
    const taken = leases.filter((l): l is RecipientLease => l !== null);
    if (taken.length > 0) await this.#windows.give(...taken);
  }

  /** Opt-outs and quiet hours, for each number: its refusal, or null. */
  async #judge(ctx: GuardContext, numbers: readonly string[], scheduled?: string) {
    const owner = await this.#owner(ctx);
    const hashes = await this.#lists.hashes(numbers);
    const listed = await this.#lists.listed(owner, hashes);
    const refusals: (ServiceError | null)[] = listed.map((l) => (l ? optedOut() : null));
    if (this.#quiet) {
      const now = this.#now();
      const at = scheduled === undefined ? now : Math.max(now, Date.parse(scheduled));
      await Promise.all(numbers.map(async (number, i) => {
        if (refusals[i]) return;
        const until = quietUntil(this.#quiet!, await zonesOf(number), at);
        if (until !== undefined) refusals[i] = this.#quietHours(until, now, scheduled);
      }));
    }
    return { refusals, owner, hashes };
  }

  addOptOuts(ctx: GuardContext, numbers: readonly string[]): Promise<ListChange> {
    return this.#onList(async (owner) => await this.#lists.add(owner, numbers), ctx);
  }

  removeOptOuts(ctx: GuardContext, numbers: readonly string[]): Promise<ListChange> {
    return this.#onList(async (owner) => await this.#lists.remove(owner, numbers), ctx);
  }

  optedOut(ctx: GuardContext, numbers: readonly string[]): Promise<boolean[]> {
    return this.#onList(
      async (owner) => await this.#lists.listed(owner, await this.#lists.hashes(numbers)),
      ctx,
    );
  }

  listOptOuts(ctx: GuardContext, from: number) {
    return this.#onList(async (owner) => await this.#lists.page(owner, from), ctx);
  }

  async settings(ctx: GuardContext): Promise<ConsentSettings> {
    return {
      optOuts: await this.#onList(async (owner) => await this.#lists.count(owner), ctx),
      quietHours: this.#quiet ? quietHoursText(this.#quiet) : null,
      perRecipientPerDay: this.#windows.limit,
    };
  }

  /** Work on the caller's list; a state that cannot be reached says so (never an empty list). */
  async #onList<T>(work: (owner: string) => Promise<T>, ctx: GuardContext): Promise<T> {
    try {
      return await work(await this.#owner(ctx));
    } catch (error) {
      throw readUnavailable(this.#backend, "this token's opt-out list", error);
    }
  }

  #quietHours(until: number | null, now: number, scheduled?: string): ServiceError {
    const rule = `SMS_QUIET_HOURS=${quietHoursText(this.#quiet!)}`;
    if (until === null) {
      return new ServiceError(
        "SEND_NOT_ALLOWED",
        "This number's local time cannot be told (no country, or its country's time zones " +
          "together leave no time of day outside the quiet hours), and this server sends no SMS " +
          `during quiet hours (${rule}, the recipient's local time). Nothing was sent.`,
        { reason: "quiet_hours" },
      );
    }
    const next = iso(until);
    const when = scheduled === undefined
      ? "It is quiet hours where this number is"
      : `The scheduled time ${scheduled} falls in quiet hours where this number is`;
    return new ServiceError(
      "SEND_NOT_ALLOWED",
      `${when} (${rule}, the recipient's local time; a country of several time zones is quiet ` +
        `while any of them is). Nothing was sent. It may be sent from ${next}: pass that as ` +
        "scheduled, or send then.",
      {
        reason: "quiet_hours",
        retryable: true,
        retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)),
        nextAllowedAt: next,
      },
    );
  }

  #limitReached(until: number): ServiceError {
    const n = this.#windows.limit;
    return new ServiceError(
      "SEND_NOT_ALLOWED",
      `This token already sent ${n} SMS to this number within 24 hours, the most this server ` +
        `allows (SMS_PER_RECIPIENT_PER_DAY=${n}). Nothing was sent; the next one is allowed ` +
        `from ${iso(until)}.`,
      { reason: "recipient_limit" },
    );
  }
}

function optedOut(): ServiceError {
  return new ServiceError(
    "SEND_NOT_ALLOWED",
    "This number is on this token's opt-out list: its owner asked not to be texted. Nothing " +
      "was sent. Do not try to reach it another way; only if the person asks to be texted again " +
      "may it be taken off the list (manage_opt_outs, action remove).",
    { reason: "opted_out" },
  );
}

/** Epoch milliseconds as ISO 8601 in UTC, rounded up to the second. */
function iso(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
