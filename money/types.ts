/**
 * The money guards as their callers see them: what a billable call hands
 * over, and what the guards need to know about the caller.
 */
import type { ConsentReason, ErrorCode, ServiceError } from "../core/errors.ts";
import type { ApprovalDetails } from "./approvals.ts";

/** The user's answer to a confirmation question. */
export type ConfirmAnswer = "accept" | "decline" | "cancel";

/** A question for the user before a billable call. */
export interface ConfirmRequest {
  /** What the user is asked, in full (recipient, sender, text preview, cost). */
  message: string;
  /**
   * An opaque digest of the caller and the exact arguments: an answer given
   * for other arguments (or another token) never counts for these.
   */
  binding: string;
  /** Ask anew even when the request carries an answer (that answer was already spent). */
  fresh?: boolean;
}

/** The user's answer, and the single-use receipt it was given under. */
export interface ConfirmResult {
  action: ConfirmAnswer;
  /**
   * A unique id of this answer (the nonce of the question it answers): an
   * "accept" counts for one send only, so a replayed answer is asked again.
   */
  receipt?: string;
}

/**
 * A keyed hash of the caller's token: a safe key, never the token. During a
 * secret rotation, `previous` gives its hash under the previous secret
 * (`undefined` once no rotation is under way), to find records made under it.
 */
export interface Principal {
  (): Promise<string>;
  previous?: () => Promise<string | undefined>;
  /**
   * The token's hash under the consent key, which outlives secret rotations
   * (`consent_keys.ts`): the owner of state kept for good (its opt-out list).
   * Without it, the consent guards derive one from the principal.
   */
  lasting?: () => Promise<string>;
}

/** What the guards need to know about the caller of one tool call. */
export interface GuardContext {
  /** A keyed hash of the caller's token (see {@link Principal}). */
  principal: Principal;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** The request's `Idempotency-Key` header, when it carried one (a plain value). */
  idempotencyKey?: string;
  /**
   * Ask the user to confirm, when the client can be asked; absent otherwise.
   * It may end the current round of the call and resume it once the user
   * has answered (2026-07-28 multi-round-trip).
   */
  confirm?: (request: ConfirmRequest) => Promise<ConfirmResult>;
  /** The client's own name (`clientInfo.name`), shown to the person approving a send. */
  clientName?: string;
}

/** What names a guarded call: its tool, its arguments and its idempotency key. */
export interface GuardedCall {
  tool: string;
  /**
   * The validated arguments that define the call, without `idempotencyKey`,
   * `confirmationToken` or `dryRun`: the same key with other arguments is refused.
   */
  args: Record<string, unknown>;
  /** The `idempotencyKey` argument (the `Idempotency-Key` header comes through the context). */
  idempotencyKey?: string;
}

/** What a billable call hands to {@link MoneyGuards}. */
export interface BillableCall<T> extends GuardedCall {
  /** The billable work itself: runs at most once per key. */
  run: () => Promise<T>;
}

/** The cost estimate of one SMS. */
export interface SmsQuote {
  /** ISO 3166-1 alpha-2 of the destination, when it is known for certain. */
  country: string | null;
  /** Price per part in EUR (the highest of the destination's operators), or null. */
  rateEur: string | null;
  /** The same in micro-euros. */
  rateMicros: number | null;
  /** `rateEur` × parts, or null. */
  costEur: string | null;
  /** The same in micro-euros, for the spend cap. */
  costMicros: number | null;
}

/**
 * A billable call a person may have to confirm: how to price it, what to ask,
 * what the approval page shows, and the results when nothing is sent.
 */
export interface ConfirmableCall<T, Q> extends GuardedCall {
  /** The `confirmationToken` argument, when given. */
  confirmationToken?: string;
  /** Estimate the cost (called only when a guard needs it). */
  quote: () => Promise<Q>;
  /**
   * The confirmation question, from the estimate (null when the price is
   * unknown) and what the consent guards refuse now (per recipient, in input
   * order: the refusal, or null).
   */
  question: (quote: Q | null, refused: Refusals) => string;
  /** The (non-error) result when nothing is sent: the user declined or cancelled, or it expired. */
  notSent: (reason: NotSentReason) => T;
  /** The approval this call brings (`approvalId`), when it brings one. */
  approvalId?: string;
  /** How long to wait for a pending approval's decision, in seconds (0: answer at once). */
  waitSeconds?: number;
  /** What a person approving the send is shown (from the estimate, and the consent refusals). */
  details: (quote: Q | null, refused: Refusals) => ApprovalDetails;
  /** The (non-error) result asking for a person's approval on its page. */
  approvalRequired: (approval: PendingApproval, quote: Q | null, refused: Refusals) => T;
}

/** Per recipient, in input order: a consent guard's refusal (`SEND_NOT_ALLOWED`), or null. */
export type Refusals = readonly (ServiceError | null)[];

/** What `send_sms` hands to {@link MoneyGuards.send}. */
export interface SendCall<T> extends ConfirmableCall<T, SmsQuote>, BillableCall<T> {
  /** The destination as given: counted (as a keyed hash) for the recipient limit. */
  recipient: string;
  /**
   * The E.164 number the consent guards judge: the destination, or the
   * number a national one with `correctBy` repairs to.
   */
  destination: string;
  /** The send's `scheduled` time, when it has one: quiet hours are judged then. */
  scheduled?: string;
  /**
   * Parts VertexSMS reported billing for the finished send, when it said
   * (`X-VertexSMS-Amount-Sent`): the spend cap is corrected to it.
   */
  billedParts?: () => number | null;
  /** Parts the estimate counted. */
  parts: number;
}

/** The estimate of a batch: each recipient's, in input order. */
export interface BatchQuote {
  recipients: readonly SmsQuote[];
}

/** One message of a batch that VertexSMS accepted. */
export interface BatchSent {
  /** The recipient's index in the batch. */
  index: number;
  messageId: string;
  /** Parts VertexSMS billed when it said, else the estimate. */
  parts: number;
}

/** Why a recipient of a batch was not sent, as its result says. */
export interface RecipientError {
  code: ErrorCode;
  message: string;
  outcomeUnknown: boolean;
  /** `SEND_NOT_ALLOWED`: which consent guard refused. */
  reason?: ConsentReason;
  /** Quiet hours: when it may be sent (ISO 8601), and the seconds until then. */
  nextAllowedAt?: string;
  retryAfterSeconds?: number;
}

/** What became of one recipient of a batch. */
export type RecipientOutcome =
  | { status: "sent"; messageId: string; parts: number }
  | { status: "failed"; error: RecipientError }
  /** A consent guard refused it: nothing was sent or counted. */
  | { status: "not_sent"; error: RecipientError };

/** What `send_sms_batch` hands to {@link MoneyGuards.sendBatch}: one decision, many sends. */
export interface BatchCall<T> extends ConfirmableCall<T, BatchQuote> {
  /** The recipients (E.164), distinct, in input order: each counted like one `send_sms`. */
  recipients: readonly string[];
  /** The batch's `scheduled` time, when it has one: quiet hours are judged then. */
  scheduled?: string;
  /** Parts each message is estimated at. */
  parts: number;
  /** Send the message to recipient `index`: its id, and the parts VertexSMS billed when it said. */
  send: (index: number) => Promise<{ messageId: string; billedParts: number | null }>;
  /**
   * A message VertexSMS accepted, handed over at once (its delivery report
   * may follow within milliseconds). A failure here is ignored: it was sent.
   */
  sent?: (batchId: string, sent: BatchSent) => Promise<void>;
  /**
   * The result, from the batch id and every recipient's outcome (input
   * order). It must not fail: the messages are sent.
   */
  result: (batchId: string, outcomes: readonly RecipientOutcome[]) => Promise<T>;
}

/** Why a send did not happen, in a non-error result. */
export type NotSentReason = "declined" | "cancelled" | "expired";

/** A pending approval a send waits for. */
export interface PendingApproval {
  id: string;
  expiresInSeconds: number;
}

/** A confirmation token minted by a dry run. */
export interface ConfirmationToken {
  token: string;
  expiresInSeconds: number;
}

/** One per-token limit's current window, as `get_sms_usage` shows it. */
export interface LimitWindow {
  /** The variable that sets the limit. */
  name:
    | "SMS_SENDS_PER_MINUTE"
    | "SMS_RECIPIENTS_PER_HOUR"
    | "SMS_DAILY_SPEND_CAP_EUR"
    | "PIN_TEXTS_PER_HOUR";
  /** Calls, recipients, micro-euros or PIN texts per window. */
  limit: number;
  /** What the open window counted so far (0 when none is open). */
  used: number;
  /** When the open window opened and when it closes (epoch ms); `null` when none is open. */
  start: number | null;
  end: number | null;
}

/** The consent settings in force, and the caller's list, as `get_sms_usage` shows them. */
export interface ConsentSettings {
  /** Numbers on the caller's opt-out list. */
  optOuts: number;
  /** `SMS_QUIET_HOURS` as set (`21:00-08:00`), or null. */
  quietHours: string | null;
  /** `SMS_PER_RECIPIENT_PER_DAY` (0: no limit). */
  perRecipientPerDay: number;
}

/** The consent guards as tools see them: the opt-out list, dry runs, the settings. */
export interface ConsentGuards {
  /**
   * For each number (E.164), the refusal a send would get now (or at
   * `scheduled`): `SEND_NOT_ALLOWED`, or null. Nothing is counted.
   */
  check(ctx: GuardContext, numbers: readonly string[], scheduled?: string): Promise<Refusals>;
  /** Put numbers on the caller's opt-out list: how many were added, how many were there. */
  addOptOuts(ctx: GuardContext, numbers: readonly string[]): Promise<ListChange>;
  /** Take numbers off it: how many were removed, how many were not there. */
  removeOptOuts(ctx: GuardContext, numbers: readonly string[]): Promise<ListChange>;
  /** Whether each number is on the caller's list. */
  optedOut(ctx: GuardContext, numbers: readonly string[]): Promise<boolean[]>;
  /** A page of the caller's list from position `from`, and where the next one starts. */
  listOptOuts(ctx: GuardContext, from: number): Promise<{ numbers: string[]; next: number | null }>;
  settings(ctx: GuardContext): Promise<ConsentSettings>;
}

/** A change to an opt-out list: numbers changed, and numbers already as asked. */
export interface ListChange {
  changed: number;
  unchanged: number;
}

/** The money guards, as tools see them. */
export interface MoneyGuards {
  /** Idempotency only: the same key and arguments within 24 h return the first outcome. */
  once<T extends object>(ctx: GuardContext, call: BillableCall<T>): Promise<T>;
  /** Idempotency, confirmation, per-token throttles and the daily spend cap, then `run`. */
  send<T extends object>(ctx: GuardContext, call: SendCall<T>): Promise<T>;
  /**
   * A batch as one decision: idempotency, one confirmation for all, the
   * limits counted for every recipient at once, then at most 5 sends at a
   * time; at most one SMS per recipient per key.
   */
  sendBatch<T extends object>(ctx: GuardContext, call: BatchCall<T>): Promise<T>;
  /** Count a PIN text against its limits (per token and per number), then run it. */
  pinText<T>(ctx: GuardContext, number: string, run: () => Promise<T>): Promise<T>;
  /**
   * The caller's per-token limits that are on, with their current windows
   * (read-only; `UPSTREAM_UNAVAILABLE` when the shared state cannot be read).
   */
  snapshot(ctx: GuardContext): Promise<LimitWindow[]>;
  /** A short-lived token confirming exactly these arguments for this caller. */
  confirmationToken(
    ctx: GuardContext,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<ConfirmationToken>;
}
