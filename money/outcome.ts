/**
 * What a failed billable call says about money. Only a definite refusal
 * proves nothing was sent: VertexSMS answered a 4xx that means "not done"
 * (400, 401, 403, 404, 409, 429), a guard refused before the request left,
 * or the connection could not be opened. Anything else — a 5xx (possibly from
 * a gateway after the request was carried out), a timeout, a connection that
 * broke after the request was written, an unreadable 2xx, a bug — may have
 * been billed: its outcome is unknown, it is replayed rather than repeated,
 * and it keeps its count against the limits and the spend cap.
 */
import { asServiceError, type ErrorCode, ServiceError } from "../core/errors.ts";

/** Codes that prove nothing was carried out (unless marked `outcomeUnknown`). */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "AUTH_REQUIRED",
  "AUTH_INVALID",
  "RATE_LIMITED",
  "INVALID_INPUT",
  "SEND_NOT_ALLOWED",
  "VERTEX_SEND_FAILED",
  "VERTEX_REQUEST_REJECTED",
  "NOT_FOUND",
  "HLR_UNAVAILABLE",
]);

/** Whether a failed billable call certainly cost nothing (so its key and counts are freed). */
export function definitelyNotBilled(error: ServiceError, signal: AbortSignal): boolean {
  if (error.facts.outcomeUnknown === true || signal.aborted) return false;
  if (REFUSALS.has(error.code)) return true;
  // A connection that could not be opened never carried the request (retryable, not unknown).
  return error.code === "UPSTREAM_UNAVAILABLE" && error.retryable;
}

/** Whether VertexSMS rejected the caller's token itself (401, or 403 for a missing route). */
export function tokenRejected(error: ServiceError): boolean {
  return error.code === "AUTH_INVALID";
}

/**
 * The error a failed billable call answers: a definite refusal as it is,
 * once `giveBack` gave back what the call counted; anything else as an
 * unknown outcome (its counts kept).
 */
export async function billableFailure(
  thrown: unknown,
  signal: AbortSignal,
  giveBack?: () => Promise<void>,
): Promise<ServiceError> {
  const error = asServiceError(thrown);
  if (!definitelyNotBilled(error, signal)) return asUnknownOutcome(error);
  await giveBack?.();
  return error;
}

/** The error as the caller must see a maybe-billed failure: not retryable, outcome unknown. */
export function asUnknownOutcome(error: ServiceError): ServiceError {
  // Already said; or HLR_TIMEOUT, which is known to be billed (its result is what is missing).
  if (error.facts.outcomeUnknown === true && error.facts.retryable === false) return error;
  if (error.code === "HLR_TIMEOUT") return error;
  return new ServiceError(
    error.code,
    `${error.message} The request may have been carried out (and billed): check before trying ` +
      "again, or it may be done twice.",
    { ...error.facts, retryable: false, outcomeUnknown: true },
    { cause: error },
  );
}

/** The refusal when the in-memory state has no room for this caller's new counters. */
export function storeFull(): ServiceError {
  return new ServiceError(
    "RATE_LIMITED",
    "This server is holding as much state for this token as it can (idempotency records, " +
      "counters). Nothing was sent; try again later.",
    { retryAfterSeconds: 60 },
  );
}
