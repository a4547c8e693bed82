/**
 * Money safety: the guards in front of every billable call, in the order a
 * call meets them (see {@link Money.send}):
 *
 * 1. idempotency (`idempotency.ts`): a repeat of a finished call replays its
 *    outcome before anything else happens;
 * 1b. consent (`consent.ts`): a recipient on the token's opt-out list, in
 *    quiet hours or at its per-recipient limit is refused before anything is
 *    priced or anyone asked — and judged again at sending, so no approval
 *    or confirmation overrides it (a batch's refused recipients are not
 *    sent, the others go on);
 * 2. confirmation (`authorize.ts`), as `SMS_CONFIRMATION` says: the user is
 *    asked in-band when the client can be asked (an "accept" counts once); a
 *    call bringing an `approvalId` proceeds only once a person approved it on
 *    its page (`approvals.ts`); with `require` and no in-band channel, an
 *    approval is created and the call answers with its link, sending
 *    nothing; a dry run's confirmation token, when given, is checked
 *    (`confirmation.ts`);
 * 3. limits (`limits.ts`): per-token throttles and the spend cap, checked
 *    and counted atomically;
 * 4. the call itself, run at most once per idempotency key; a definite
 *    refusal gives back what the limits counted (`outcome.ts`: which
 *    failures are definite).
 *
 * Steps 3 and 4 of one send run in `send.ts`. A batch (`sendBatch`, the run
 * in `batch.ts`) meets the same guards once for all its recipients: one
 * record, one confirmation, every recipient counted in one commit before
 * the first send.
 *
 * Tools reach the guards through `ToolServices.money`; nothing here knows
 * HTTP or MCP. State lives in a shared `Store` (Deno KV across instances, or
 * bounded memory).
 */
import type { ConfirmationPolicy, SmsTestMode } from "../core/config.ts";
import { base64url, randomBytes, type SecretSource } from "../core/keys.ts";
import { BACKEND_NAMES, readUnavailable, type Store } from "../state/mod.ts";
import { Approvals } from "./approvals.ts";
import { Authorization } from "./authorize.ts";
import { BATCH_IN_FLIGHT, refusedOutcome, resumableIn, RESUMED, runBatch } from "./batch.ts";
import { Confirmations } from "./confirmation.ts";
import { Consent } from "./consent.ts";
import { keyedDigest } from "./digest.ts";
import { Idempotency } from "./idempotency.ts";
import { Stopped } from "./idempotency_records.ts";
import { Limits, type SendLimits } from "./limits.ts";
import { optOutStore } from "./opt_outs.ts";
import { billableFailure } from "./outcome.ts";
import { runSend } from "./send.ts";
import type {
  BatchCall,
  BillableCall,
  ConfirmationToken,
  GuardContext,
  GuardedCall,
  LimitWindow,
  MoneyGuards,
  Refusals,
  SendCall,
} from "./types.ts";

/** Options of {@link Money}. */
export interface MoneyOptions {
  store: Store;
  /** The master secret (see `core/keys.ts`). */
  secret: SecretSource;
  /**
   * During a secret rotation, the previous secret (`undefined` otherwise):
   * idempotency records made under it are still honoured.
   */
  previousSecret?: () => Promise<Uint8Array<ArrayBuffer> | undefined>;
  limits: SendLimits;
  /** Who must approve a send: `ask` in-band when possible, `require` a person always, `off`. */
  confirmation: ConfirmationPolicy;
  /**
   * Longest a billable call can take: a claim still pending after this is
   * treated as an unknown outcome (its instance stopped mid-call).
   */
  leaseMs: number;
  /**
   * Longest one upstream call takes (default `leaseMs`): a batch's claim
   * lasts one lease plus this for each further wave of sends.
   */
  callMs?: number;
  /** Poll interval while waiting for a duplicate on another instance (default 100 ms). */
  pollMs?: number;
  /**
   * `SMS_TEST_MODE` (default `off`). Approvals, in-band answers and
   * confirmation tokens are bound to it: one given for a simulated send never
   * authorises a real one, on another instance or after a restart.
   */
  testMode?: SmsTestMode;
  /**
   * The consent guards (opt-outs, quiet hours, the per-recipient limit);
   * default: on this store, with no quiet hours and no per-recipient limit.
   */
  consent?: Consent;
  now?: () => number;
}

/** The money guards of one server (all instances sharing its store and secret). */
export class Money implements MoneyGuards {
  readonly #idempotency: Idempotency;
  readonly #confirmations: Confirmations;
  readonly #limits: Limits;
  readonly #approvals: Approvals;
  readonly #authorization: Authorization;
  readonly #consent: Consent;
  readonly #leaseMs: number;
  readonly #callMs: number;
  readonly #testMode: SmsTestMode;
  readonly #backend: string;

  constructor(options: MoneyOptions) {
    const now = options.now ?? Date.now;
    const digest = keyedDigest(options.secret);
    const { store, secret } = options;
    const mode = options.testMode ?? "off";
    this.#idempotency = new Idempotency({
      store,
      secret,
      previousSecret: options.previousSecret,
      digest,
      leaseMs: options.leaseMs,
      pollMs: options.pollMs ?? 100,
      now,
    });
    this.#confirmations = new Confirmations({ store, secret, digest, now, mode });
    this.#limits = new Limits({ store, digest, limits: options.limits, now });
    this.#approvals = new Approvals({ store, secret, now, mode });
    this.#authorization = new Authorization({
      confirmations: this.#confirmations,
      approvals: this.#approvals,
      limits: this.#limits,
      policy: options.confirmation,
      testMode: mode,
    });
    this.#consent = options.consent ?? new Consent({
      store,
      lists: optOutStore(store),
      secret,
      previousSecret: options.previousSecret,
      quietHours: null,
      perRecipientPerDay: 0,
      now,
    });
    this.#leaseMs = options.leaseMs;
    this.#callMs = options.callMs ?? options.leaseMs;
    this.#testMode = mode;
    this.#backend = BACKEND_NAMES[store.kind];
  }

  /** The approvals people decide on their pages (the edge serves them). */
  get approvals(): Approvals {
    return this.#approvals;
  }

  /** The consent guards every send meets. */
  get consent(): Consent {
    return this.#consent;
  }

  /** Calls of this instance currently holding an idempotency claim. */
  get inflight(): number {
    return this.#idempotency.inflight;
  }

  async once<T extends object>(ctx: GuardContext, call: BillableCall<T>): Promise<T> {
    const slot = await this.#idempotency.slot(ctx, call);
    if (!slot) {
      try {
        return await call.run();
      } catch (thrown) {
        throw await billableFailure(thrown, ctx.signal);
      }
    }
    const earlier = await this.#idempotency.resolve(ctx, slot, true);
    if (earlier && "output" in earlier) return earlier.output as T;
    return await this.#idempotency.record(ctx, slot, call.run);
  }

  async send<T extends object>(ctx: GuardContext, call: SendCall<T>): Promise<T> {
    // 1. A repeat of a finished call answers before anyone is asked anything.
    const slot = await this.#slotOf(ctx, call);
    if (slot) {
      const earlier = await this.#idempotency.resolve(ctx, slot, false);
      if (earlier && "output" in earlier) return earlier.output as T;
    }
    // 1b. A recipient the consent guards refuse: before anything is priced or asked.
    const [refusal] = await this.#consent.check(ctx, [call.destination], call.scheduled);
    if (refusal) throw refusal;
    // 2. Confirmation, as the policy says.
    const authorized = await this.#authorization.authorize(ctx, call, [null]);
    if ("result" in authorized) return authorized.result;
    // 3 and 4. Counted, then sent (`send.ts`), at most once per key.
    const work = () =>
      runSend(ctx, call, { limits: this.#limits, consent: this.#consent, authorized });
    if (!slot) return await work();
    const earlier = await this.#idempotency.resolve(ctx, slot, true);
    if (earlier && "output" in earlier) return earlier.output as T;
    return await this.#idempotency.record(ctx, slot, work);
  }

  async sendBatch<T extends object>(ctx: GuardContext, call: BatchCall<T>): Promise<T> {
    // A batch's claim lasts as long as its slowest run: one upstream call per wave of sends.
    const waves = Math.ceil(call.recipients.length / BATCH_IN_FLIGHT);
    const slot = await this.#slotOf(ctx, call, this.#leaseMs + (waves - 1) * this.#callMs);
    // 1. A repeat of a finished batch answers at once; one stopped early (its progress kept)
    //    was authorized already, in this test mode: only its unsent recipients are left to send.
    let earlier = slot ? await this.#idempotency.resolve(ctx, slot, false) : null;
    if (earlier && "output" in earlier) return earlier.output as T;
    const resumed = earlier !== null && resumableIn(earlier.partial, this.#testMode);
    // 1b. The recipients the consent guards refuse, before anything is priced or asked (a
    //     resumed batch is judged again at sending); when that is all of them, nothing is.
    let refused: Refusals = [];
    if (!resumed) {
      refused = await this.#consent.check(ctx, call.recipients, call.scheduled);
      if (refused.every((r) => r !== null)) {
        return await call.result(
          base64url(randomBytes(12)),
          refused.map((r) => refusedOutcome(r!)),
        );
      }
    }
    // 2. One confirmation for the whole batch.
    const authorized = resumed ? RESUMED : await this.#authorization.authorize(ctx, call, refused);
    if ("result" in authorized) return authorized.result;
    // 3 and 4. Counted in one commit, then sent (`batch.ts`), at most once per key.
    const run = (progress: object | null) =>
      runBatch(ctx, call, {
        limits: this.#limits,
        consent: this.#consent,
        authorized,
        progress,
        keyed: slot !== undefined,
        mode: this.#testMode,
      });
    if (!slot) {
      // Nothing to keep a stopped batch's progress in: its error is the answer.
      return await run(null).catch((thrown) => {
        throw thrown instanceof Stopped ? thrown.error : thrown;
      });
    }
    earlier = await this.#idempotency.resolve(ctx, slot, true);
    if (earlier && "output" in earlier) return earlier.output as T;
    const progress = earlier?.partial ?? null;
    return await this.#idempotency.record(ctx, slot, () => run(progress));
  }

  /** The idempotency record of a call: its key, or the approval it brings (a repeat replays). */
  #slotOf(
    ctx: GuardContext,
    call: GuardedCall & { approvalId?: string },
    leaseMs?: number,
  ) {
    const implicit = call.idempotencyKey ?? ctx.idempotencyKey ??
      (call.approvalId !== undefined ? `approval:${call.approvalId}` : undefined);
    return this.#idempotency.slot(ctx, { ...call, idempotencyKey: implicit }, leaseMs);
  }

  /** Count one PIN text (per token and per number), then run; a definite refusal gives it back. */
  async pinText<T>(ctx: GuardContext, number: string, run: () => Promise<T>): Promise<T> {
    const lease = await this.#limits.reservePin(ctx, number);
    try {
      return await run();
    } catch (thrown) {
      throw await billableFailure(
        thrown,
        ctx.signal,
        () => this.#limits.refund(lease).catch(() => {}),
      );
    }
  }

  async snapshot(ctx: GuardContext): Promise<LimitWindow[]> {
    try {
      return await this.#limits.snapshot(await ctx.principal());
    } catch (error) {
      throw readUnavailable(this.#backend, "this token's limits", error);
    }
  }

  confirmationToken(
    ctx: GuardContext,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<ConfirmationToken> {
    return this.#confirmations.mint(ctx, tool, args);
  }
}
