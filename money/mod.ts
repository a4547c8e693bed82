/**
 * The money guards: idempotency, confirmation, throttles and the spend cap in
 * front of every billable call (order and promises in `guards.ts`).
 */
export { canonicalJson } from "../core/canonical_json.ts";
export {
  APPROVAL_TTL_SECONDS,
  type ApprovalDetails,
  Approvals,
  type ApprovalState,
  type ApprovalView,
  type BatchDetails,
} from "./approvals.ts";
export { canonicalSignedState, CONFIRMATION_TTL_SECONDS } from "./confirmation.ts";
export { Money, type MoneyOptions } from "./guards.ts";
export { type Admission, Consent, type ConsentOptions } from "./consent.ts";
export { ConsentKeyError, FOREVER } from "./consent_keys.ts";
export { OPT_OUT_BOUND, OPT_OUT_PAGE, optOutStore } from "./opt_outs.ts";
export { quietUntil, zonesOf } from "./quiet_hours.ts";
export { IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_MS } from "./idempotency_records.ts";
export { billedCost, type SendLimits } from "./limits.ts";
export { BATCH_IN_FLIGHT } from "./batch.ts";
export type {
  BatchCall,
  BatchQuote,
  BatchSent,
  BillableCall,
  ConfirmableCall,
  ConfirmAnswer,
  ConfirmationToken,
  ConfirmRequest,
  ConfirmResult,
  ConsentGuards,
  ConsentSettings,
  GuardContext,
  GuardedCall,
  LimitWindow,
  ListChange,
  MoneyGuards,
  NotSentReason,
  PendingApproval,
  Principal,
  RecipientError,
  RecipientOutcome,
  Refusals,
  SendCall,
  SmsQuote,
} from "./types.ts";
