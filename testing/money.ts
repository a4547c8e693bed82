/**
 * Fixtures for the money guards' tests: one SMS estimate and one `send_sms`
 * call, shaped as the SMS tool would hand them to `Money.send`.
 */
import type { SendCall, SmsQuote } from "../money/mod.ts";

/** An estimate: one part to Lithuania at €0.05. */
export const QUOTE: SmsQuote = {
  country: "LT",
  rateEur: "0.05",
  rateMicros: 50_000,
  costEur: "0.05",
  costMicros: 50_000,
};

/** A one-part `send_sms` call to a Lithuanian number, running `run` when the guards allow it. */
export function sendCall(
  run: () => Promise<object>,
  extra: Partial<SendCall<object>> = {},
): SendCall<object> {
  return {
    tool: "send_sms",
    args: { to: "+37069912345", message: "hi" },
    recipient: "+37069912345",
    quote: () => Promise.resolve(QUOTE),
    question: (q) => `Send? ${q?.costEur}`,
    notSent: (reason) => ({ status: "not_sent", reason }),
    details: (q) => ({
      to: "+37069912345",
      from: "VertexSMS",
      message: "hi",
      parts: 1,
      encoding: "GSM-7",
      estimatedCostEur: q?.costEur ?? null,
      rateEur: q?.rateEur ?? null,
      country: q?.country ?? null,
    }),
    approvalRequired: (approval) => ({ status: "approval_required", id: approval.id }),
    parts: 1,
    run,
    ...extra,
  };
}
