/**
 * Guard 2 of `guards.ts`, confirmation, shared by `send` and `sendBatch`, as
 * `SMS_CONFIRMATION` says: the user is asked in-band when the client can be
 * asked (an "accept" counts once); a call bringing an `approvalId` proceeds
 * only once a person approved it on its page (`approvals.ts`), waiting up to
 * `waitSeconds` while it is pending; with `require` and no in-band channel,
 * an approval is created and the call answers with its link, sending
 * nothing; a dry run's confirmation token, when given, is checked
 * (`confirmation.ts`).
 */
import type { ConfirmationPolicy, SmsTestMode } from "../core/config.ts";
import { asServiceError, ServiceError } from "../core/errors.ts";
import { memo } from "../core/keys.ts";
import { sleep } from "../core/sleep.ts";
import type { Approvals } from "./approvals.ts";
import type { Confirmations } from "./confirmation.ts";
import type { Limits } from "./limits.ts";
import type { ConfirmableCall, GuardContext, NotSentReason, Refusals } from "./types.ts";

/** A call the guards let go ahead: the estimate read on the way, and how to spend its confirmation. */
export interface Authorized<Q> {
  quote?: Q | null;
  spend: () => Promise<void>;
}

/** Options of {@link Authorization}. */
export interface AuthorizationOptions {
  confirmations: Confirmations;
  approvals: Approvals;
  /** Counts the approvals a token asks people for. */
  limits: Limits;
  policy: ConfirmationPolicy;
  testMode: SmsTestMode;
}

/** How often a call waiting for an approval looks again. */
const APPROVAL_POLL_MS = 250;

/** The confirmation step of one server's guards. */
export class Authorization {
  readonly #confirmations: Confirmations;
  readonly #approvals: Approvals;
  readonly #limits: Limits;
  readonly #policy: ConfirmationPolicy;
  readonly #testMode: SmsTestMode;

  constructor(options: AuthorizationOptions) {
    this.#confirmations = options.confirmations;
    this.#approvals = options.approvals;
    this.#limits = options.limits;
    this.#policy = options.policy;
    this.#testMode = options.testMode;
  }

  /**
   * Confirmation, as the policy says: the user asked in-band, a person's
   * approval awaited, or one created (and its link answered); a dry run's
   * token checked. The result to answer when nothing may be sent; else the
   * estimate read on the way, and `spend` to use up the confirmation once
   * the call goes ahead.
   */
  async authorize<T extends object, Q>(
    ctx: GuardContext,
    call: ConfirmableCall<T, Q>,
    refused: Refusals,
  ): Promise<{ result: T } | Authorized<Q>> {
    let quote: Q | null | undefined;
    const binding = memo(() => this.#confirmations.binding(ctx, call.tool, call.args));
    let approval: string | undefined;
    if (call.approvalId !== undefined) {
      const decided = await this.#awaitApproval(ctx, call, await binding(), refused);
      if (decided !== "approved") return { result: decided };
      approval = call.approvalId;
    } else if (this.#policy !== "off" && ctx.confirm) {
      quote = await call.quote().catch(unlessScope);
      const declined = await this.#askInBand(ctx, call.question(quote, refused), await binding());
      if (declined) return { result: call.notSent(declined) };
    } else if (this.#policy === "require") {
      return { result: await this.#requestApproval(ctx, call, binding, refused) };
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

  /** Ask the user in-band: `null` once they accept, else why nothing is sent. */
  async #askInBand(
    ctx: GuardContext,
    message: string,
    binding: string,
  ): Promise<NotSentReason | null> {
    const question = { message, binding };
    let answer = await ctx.confirm!(question);
    if (
      answer.action === "accept" && answer.receipt !== undefined &&
      !(await this.#confirmations.spendReceipt(ctx, answer.receipt))
    ) {
      // A replayed "accept": it already sent once. Ask again.
      answer = await ctx.confirm!({ ...question, fresh: true });
    }
    if (answer.action === "decline") return "declined";
    if (answer.action !== "accept") return "cancelled";
    return null;
  }

  /** Create an approval a person decides on its page: the result that answers with its link. */
  async #requestApproval<T extends object, Q>(
    ctx: GuardContext,
    call: ConfirmableCall<T, Q>,
    binding: () => Promise<string>,
    refused: Refusals,
  ): Promise<T> {
    // Nobody can be asked in-band: a person approves on the approval page. Pricing first also
    // proves VertexSMS knows the token (a rejected one leaves no approval behind).
    const quote = await call.quote().catch(unlessScope);
    await this.#limits.reserveApproval(ctx);
    const pending = await this.#approvals.create(await binding(), {
      ...call.details(quote, refused),
      clientName: ctx.clientName,
    });
    return call.approvalRequired(pending, quote, refused);
  }

  /**
   * The decision on the approval a call brings, waiting up to `waitSeconds`
   * while it is pending: `"approved"`, or the (non-error) result to answer.
   */
  async #awaitApproval<T extends object, Q>(
    ctx: GuardContext,
    call: ConfirmableCall<T, Q>,
    binding: string,
    refused: Refusals,
  ): Promise<"approved" | T> {
    const id = call.approvalId!;
    const until = Date.now() + (call.waitSeconds ?? 0) * 1000;
    for (;;) {
      const state = await this.#approvals.status(id, binding);
      switch (state) {
        case "approved":
          return "approved";
        case "declined":
        case "expired":
          return call.notSent(state);
        case "pending":
          break;
        default:
          throw approvalRefusal(state, call.tool, this.#testMode);
      }
      if (Date.now() >= until || ctx.signal.aborted) {
        const view = await this.#approvals.view(id);
        const left = Math.max(1, Math.ceil(((view?.expiresAt ?? Date.now()) - Date.now()) / 1000));
        const quote = await call.quote().catch(unlessScope);
        return call.approvalRequired({ id, expiresInSeconds: left }, quote, refused);
      }
      await sleep(APPROVAL_POLL_MS, ctx.signal);
    }
  }
}

/** Rates the token may not read leave the estimate unknown; anything else is an error. */
function unlessScope(thrown: unknown): null {
  const error = asServiceError(thrown);
  if (error.facts.requiredScope !== undefined) return null;
  throw error;
}

/** Why the approval a call brings cannot let it go ahead (nothing sent). */
function approvalRefusal(
  state: "used" | "other_mode" | "mismatch" | "unknown",
  tool: string,
  testMode: SmsTestMode,
): ServiceError {
  switch (state) {
    case "used":
      return approvalUsed(tool);
    case "other_mode":
      return approvalRefused(
        testMode !== "off"
          ? "was given for a real send, and this server runs in SMS test mode: it only " +
            `simulates sends. Call ${tool} without approvalId to ask for a new approval.`
          : "was given in SMS test mode, for a simulated send; this server sends real SMS. " +
            `Call ${tool} without approvalId to ask for a new approval of a real send.`,
      );
    case "mismatch":
      return approvalRefused(
        "was given for other arguments or another token. Send exactly what was approved, " +
          `or call ${tool} without approvalId to ask for a new approval.`,
      );
    case "unknown":
      return approvalRefused(
        `is unknown (never issued, or long expired). Call ${tool} without approvalId ` +
          "to ask for a new approval.",
      );
  }
}

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
