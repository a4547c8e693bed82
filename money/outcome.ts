/** What a failed billable call says about money: was anything (maybe) billed? */
import { ServiceError } from "../core/errors.ts";

/** Whether a failed billable call may have cost money (so its key must not be freed). */
export function mayHaveBilled(error: ServiceError, signal: AbortSignal): boolean {
  if (error.facts.outcomeUnknown === true || signal.aborted) return true;
  // HLR_TIMEOUT: billed. A 2xx we could not read, or a bug after the call: unknown.
  return error.code === "HLR_TIMEOUT" || error.code === "UPSTREAM_BAD_RESPONSE" ||
    error.code === "INTERNAL_ERROR";
}
