/**
 * The run of one send (`send_sms`), once the guards let it go ahead
 * (`Money.send`: idempotency, consent, then confirmation):
 *
 * 1. the consent guards judge the recipient again (what was approved may
 *    have changed since) and count it against its per-recipient limit; the
 *    send is priced for the spend cap (when one is set) and counted against
 *    the per-token limits;
 * 2. the confirmation is spent, and the message goes out;
 * 3. only a definite refusal gives the counts back; a send that went out is
 *    corrected to the parts VertexSMS says it billed.
 */
import type { Authorized } from "./authorize.ts";
import type { Consent } from "./consent.ts";
import { billedCost, costsForCap, type Limits } from "./limits.ts";
import { billableFailure } from "./outcome.ts";
import type { GuardContext, SendCall, SmsQuote } from "./types.ts";

/** What a run needs besides the call. */
export interface SendRunOptions {
  limits: Limits;
  consent: Consent;
  authorized: Authorized<SmsQuote>;
}

/** Count, then send; the call's output. */
export async function runSend<T>(
  ctx: GuardContext,
  call: SendCall<T>,
  { limits, consent, authorized }: SendRunOptions,
): Promise<T> {
  const { lease, cost, release } = await count(ctx, call, limits, consent, authorized.quote);
  let output: T;
  try {
    await authorized.spend();
    output = await call.run();
  } catch (thrown) {
    throw await billableFailure(thrown, ctx.signal, async () => {
      // Best effort: a refund the shared state cannot take keeps the count (failing
      // closed), and the caller still hears why the call failed.
      await limits.refund(lease).catch(() => {});
      await release();
    });
  }
  const billed = call.billedParts?.() ?? null;
  if (cost !== null && billed !== null && billed !== call.parts) {
    // The SMS went out: a correction the shared state cannot take keeps the estimate,
    // and must not turn a sent message into an error that frees its idempotency key.
    const billedMicros = billedCost(cost, call.parts, billed);
    await limits.reconcile({ lease, billedMicros }).catch(() => {});
  }
  return output;
}

/**
 * Count one send: against its recipient's limit (consent, judged again),
 * priced for the spend cap, against the per-token limits. A refusal on the
 * way gives the recipient's count back; `release` gives it back later.
 */
async function count<T>(
  ctx: GuardContext,
  call: SendCall<T>,
  limits: Limits,
  consent: Consent,
  quote: SmsQuote | null | undefined,
) {
  const [admitted] = await consent.admit(ctx, [call.destination], call.scheduled);
  if ("refused" in admitted!) throw admitted.refused;
  const counted = admitted!.lease;
  const release = () => consent.release(counted).catch(() => {});
  try {
    const [cost = null] = limits.capped
      ? await costsForCap(async () => [await call.quote()], quote && [quote], () => "to")
      : [null];
    const lease = await limits.reserve(ctx, call.recipient, cost);
    return { lease, cost, release };
  } catch (thrown) {
    await release();
    throw thrown;
  }
}
