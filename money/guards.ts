/**
 * Money safety: the guards in front of every billable call, in the order a
 * call meets them (see {@link Money.send}):
 *
 * 1. idempotency (`idempotency.ts`): a repeat of a finished call replays its
 *    outcome before anything else happens;
 * 2. confirmation, as `SMS_CONFIRMATION` says: the user is asked in-band when
 *    the client can be asked (an "accept" counts once); a call bringing an
 *    `approvalId` proceeds only once a person approved it on its page
 *    (`approvals.ts`); with `require` and no in-band channel, an approval is
 *    created and the call answers with its link, sending nothing; a dry run's
 *    confirmation token, when given, is checked (`confirmation.ts`);
 * 3. limits (`limits.ts`): per-token throttles and the spend cap, checked
 *    and counted atomically;
 * 4. the call itself, run at most once per idempotency key; a definite
 *    refusal gives back what the limits counted.
 *
 * A batch (`sendBatch`, the run in `batch.ts`) meets the same guards once for
 * all its recipients: one record, one confirmation, every recipient counted
 * in one commit before the first send.
 *
 * Tools reach the guards through `ToolServices.money`; nothing here knows
 * HTTP or MCP. State lives in a shared `Store` (Deno KV across instances, or
 * bounded memory).
 */
import type { ConfirmationPolicy, SmsTestMode } from "../core/config.ts";
import { asServiceError, ServiceError } from "../core/errors.ts";
import { memo, type SecretSource } from "../core/keys.ts";
import { sleep } from "../core/sleep.ts";
import { BACKEND_NAMES, readUnavailable, type Store } from "../state/mod.ts";
import { Approvals } from "./approvals.ts";
import { Confirmations } from "./confirmation.ts";
import { keyedDigest } from "./digest.ts";
import { Idempotency, Stopped } from "./idempotency.ts";
import { type Authorized, BATCH_IN_FLIGHT, resumableIn, RESUMED, runBatch } from "./batch.ts";
import { costsForCap, Limits, type SendLimits } from "./limits.ts";
import { asUnknownOutcome, definitelyNotBilled } from "./outcome.ts";
import type {
  BatchCall,
  BillableCall,
  ConfirmableCall,
  ConfirmationToken,
  GuardContext,
  GuardedCall,
  LimitWindow,
  MoneyGuards,
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
  now?: () => number;
}

/** The money guards of one server (all instances sharing its store and secret). */
export class Money implements MoneyGuards {
  readonly #idempotency: Idempotency;
  readonly #confirmations: Confirmations;
  readonly #limits: Limits;
  readonly #approvals: Approvals;
  readonly #policy: ConfirmationPolicy;
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
    this.#policy = options.confirmation;
    this.#leaseMs = options.leaseMs;
    this.#callMs = options.callMs ?? options.leaseMs;
    this.#testMode = mode;
    this.#backend = BACKEND_NAMES[store.kind];
  }

  /** The approvals people decide on their pages (the edge serves them). */
  get approvals(): Approvals {
    return this.#approvals;
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
        const error = asServiceError(thrown);
        throw definitelyNotBilled(error, ctx.signal) ? error : asUnknownOutcome(error);
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
    // 2. Confirmation, as the policy says.
    const authorized = await this.#authorize(ctx, call);
    if ("result" in authorized) return authorized.result;
    // 3 and 4. Count against the limits, then send. Only a definite refusal gives the count
    //    back; a send that went out is corrected to the parts VertexSMS says it billed.
    const work = async () => {
      const quoted = authorized.quote && [authorized.quote];
      const [cost] = this.#limits.capped
        ? await costsForCap(async () => [await call.quote()], quoted, () => "to")
        : [null];
      const lease = await this.#limits.reserve(ctx, call.recipient, cost ?? null);
      let output: T;
      try {
        await authorized.spend();
        output = await call.run();
      } catch (thrown) {
        const error = asServiceError(thrown);
        if (definitelyNotBilled(error, ctx.signal)) {
          // Best effort: a refund the shared state cannot take keeps the count (failing
          // closed), and the caller still hears why the call failed.
          await this.#limits.refund(lease).catch(() => {});
          throw error;
        }
        throw asUnknownOutcome(error);
      }
      const billed = call.billedParts?.() ?? null;
      if (cost != null && billed !== null && billed !== call.parts) {
        // The SMS went out: a correction the shared state cannot take keeps the estimate,
        // and must not turn a sent message into an error that frees its idempotency key.
        const billedMicros = Math.ceil((cost / call.parts) * billed);
        await this.#limits.reconcile({ lease, billedMicros }).catch(() => {});
      }
      return output;
    };
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
    // 2. One confirmation for the whole batch.
    const authorized = resumed ? RESUMED : await this.#authorize(ctx, call);
    if ("result" in authorized) return authorized.result;
    const run = (progress: object | null) =>
      runBatch(ctx, call, {
        limits: this.#limits,
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

  /**
   * Confirmation, as the policy says: the user asked in-band, a person's
   * approval awaited, or one created (and its link answered); a dry run's
   * token checked. The result to answer when nothing may be sent; else the
   * estimate read on the way, and `spend` to use up the confirmation once
   * the call goes ahead.
   */
  async #authorize<T extends object, Q>(
    ctx: GuardContext,
    call: ConfirmableCall<T, Q>,
  ): Promise<{ result: T } | Authorized<Q>> {
    let quote: Q | null | undefined;
    const binding = memo(() => this.#confirmations.binding(ctx, call.tool, call.args));
    let approval: string | undefined;
    if (call.approvalId !== undefined) {
      const decided = await this.#awaitApproval(ctx, call, await binding());
      if (decided !== "approved") return { result: decided };
      approval = call.approvalId;
    } else if (this.#policy !== "off" && ctx.confirm) {
      quote = await call.quote().catch(unlessScope);
      const question = { message: call.question(quote), binding: await binding() };
      let answer = await ctx.confirm(question);
      if (
        answer.action === "accept" && answer.receipt !== undefined &&
        !(await this.#confirmations.spendReceipt(ctx, answer.receipt))
      ) {
        // A replayed "accept": it already sent once. Ask again.
        answer = await ctx.confirm({ ...question, fresh: true });
      }
      if (answer.action === "decline") return { result: call.notSent("declined") };
      if (answer.action !== "accept") return { result: call.notSent("cancelled") };
    } else if (this.#policy === "require") {
      // Nobody can be asked in-band: a person approves on the approval page. Pricing first also
      // proves VertexSMS knows the token (a rejected one leaves no approval behind).
      quote = await call.quote().catch(unlessScope);
      await this.#limits.reserveApproval(ctx);
      const pending = await this.#approvals.create(await binding(), {
        ...call.details(quote),
        clientName: ctx.clientName,
      });
      return { result: call.approvalRequired(pending, quote) };
    }
    let nonce: string | undefined;
    if (call.confirmationToken !== undefined) {
      nonce = await this.#confirmations.check(call.confirmationToken, await binding(), call.tool);
    }
    return {
      quote,
      spend: async () => {
        if (nonce !== undefined) await this.#confirmations.spend(ctx, nonce);
        if (approval !== undefined && !(await this.#approvals.spend(approval, await binding()))) {
          throw approvalUsed(call.tool);
        }
      },
    };
  }

  /**
   * The decision on the approval a call brings, waiting up to `waitSeconds`
   * while it is pending: `"approved"`, or the (non-error) result to answer.
   */
  async #awaitApproval<T extends object, Q>(
    ctx: GuardContext,
    call: ConfirmableCall<T, Q>,
    binding: string,
  ): Promise<"approved" | T> {
    const id = call.approvalId!;
    const until = Date.now() + (call.waitSeconds ?? 0) * 1000;
    for (;;) {
      const state = await this.#approvals.status(id, binding);
      switch (state) {
        case "approved":
          return "approved";
        case "declined":
          return call.notSent("declined");
        case "expired":
          return call.notSent("expired");
        case "used":
          throw approvalUsed(call.tool);
        case "other_mode":
          throw approvalRefused(
            this.#testMode !== "off"
              ? "was given for a real send, and this server runs in SMS test mode: it only " +
                `simulates sends. Call ${call.tool} without approvalId to ask for a new approval.`
              : "was given in SMS test mode, for a simulated send; this server sends real SMS. " +
                `Call ${call.tool} without approvalId to ask for a new approval of a real send.`,
          );
        case "mismatch":
          throw approvalRefused(
            "was given for other arguments or another token. Send exactly what was approved, " +
              `or call ${call.tool} without approvalId to ask for a new approval.`,
          );
        case "unknown":
          throw approvalRefused(
            `is unknown (never issued, or long expired). Call ${call.tool} without approvalId ` +
              "to ask for a new approval.",
          );
        case "pending": {
          if (Date.now() >= until || ctx.signal.aborted) {
            const view = await this.#approvals.view(id);
            const left = Math.max(
              1,
              Math.ceil(((view?.expiresAt ?? Date.now()) - Date.now()) / 1000),
            );
            const quote = await call.quote().catch(unlessScope);
            return call.approvalRequired({ id, expiresInSeconds: left }, quote);
          }
          await sleep(APPROVAL_POLL_MS, ctx.signal);
        }
      }
    }
  }

  /** Count one PIN text (per token and per number), then run; a definite refusal gives it back. */
  async pinText<T>(ctx: GuardContext, number: string, run: () => Promise<T>): Promise<T> {
    const lease = await this.#limits.reservePin(ctx, number);
    try {
      return await run();
    } catch (thrown) {
      const error = asServiceError(thrown);
      if (!definitelyNotBilled(error, ctx.signal)) throw asUnknownOutcome(error);
      await this.#limits.refund(lease).catch(() => {});
      throw error;
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

/** Rates the token may not read leave the estimate unknown; anything else is an error. */
function unlessScope(thrown: unknown): null {
  const error = asServiceError(thrown);
  if (error.facts.requiredScope !== undefined) return null;
  throw error;
}

/** How often a call waiting for an approval looks again. */
const APPROVAL_POLL_MS = 250;

function approvalRefused(why: string): ServiceError {
  return new ServiceError("INVALID_INPUT", `The approvalId ${why} Nothing was sent.`, {
    details: [{ path: "approvalId", message: why.split(".")[0]! }],
  });
}

function approvalUsed(tool: string): ServiceError {
  return approvalRefused(
    `was already used for a send. Each approval covers one send: call ${tool} without ` +
      "approvalId to ask for a new one.",
  );
}
