/**
 * Fixtures for the money guards' tests: guards on a memory store, a guard
 * context, one SMS estimate, one `send_sms` call and one `send_sms_batch`
 * call, shaped as the SMS tools would hand them to `Money.send` and
 * `Money.sendBatch`.
 */
import {
  type BatchCall,
  type GuardContext,
  Money,
  type MoneyOptions,
  type SendCall,
  type SendLimits,
  type SmsQuote,
} from "../money/mod.ts";
import { MemoryStore } from "../state/mod.ts";

/** Every per-token limit off. */
export const NO_LIMITS: SendLimits = {
  sendsPerMinute: 0,
  recipientsPerHour: 0,
  dailySpendCapMicros: 0,
  pinTextsPerHour: 0,
};

/** The guards' secret in unit tests. */
export const TEST_SECRET = new TextEncoder().encode("unit-test-secret-of-at-least-32-bytes");

/** Guards on a fresh memory store, no limits, policy `ask` (each option may be replaced). */
export function testMoney(options: Partial<MoneyOptions> = {}): Money {
  return new Money({
    store: new MemoryStore({ now: options.now }),
    secret: TEST_SECRET,
    limits: NO_LIMITS,
    confirmation: "ask",
    leaseMs: 60_000,
    pollMs: 5,
    ...options,
  });
}

/** The context a tool call would get (no HTTP, no VertexSMS: guards only read these). */
export function guardContext(
  extra: Partial<GuardContext> = {},
  principal = "principal-A",
): GuardContext {
  return {
    principal: () => Promise.resolve(principal),
    signal: new AbortController().signal,
    ...extra,
  };
}

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

/** One outcome of a fixture batch's send: an id, or the error it throws. */
export type FixtureSend = (index: number) => Promise<{
  messageId: string;
  billedParts: number | null;
}>;

/**
 * A one-part `send_sms_batch` call to `recipients` (each quoted like
 * {@link QUOTE}), sending with `send`; its result lists each outcome.
 */
export function batchCall(
  recipients: readonly string[],
  send: FixtureSend,
  extra: Partial<BatchCall<object>> = {},
): BatchCall<object> {
  return {
    tool: "send_sms_batch",
    args: { to: recipients, message: "hi" },
    recipients,
    parts: 1,
    quote: () => Promise.resolve({ recipients: recipients.map(() => QUOTE) }),
    question: (q) => `Send to ${recipients.length}? ${q?.recipients.length}`,
    notSent: (reason) => ({ status: "not_sent", reason }),
    details: (q) => ({
      to: `${recipients.length} recipients`,
      from: "VertexSMS",
      message: "hi",
      parts: 1,
      encoding: "GSM-7",
      estimatedCostEur: q ? "0.05" : null,
      rateEur: null,
      country: null,
    }),
    approvalRequired: (approval) => ({ status: "approval_required", id: approval.id }),
    send,
    result: (batchId, outcomes) => Promise.resolve({ batchId, outcomes }),
    ...extra,
  };
}
