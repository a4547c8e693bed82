/**
 * Process-wide services the tools call: the per-token rates cache, the HLR
 * hand-over and the ledger of sent messages.
 */
export { HlrBroker, type HlrBrokerOptions, type HlrHandover, type HlrWait } from "./hlr_broker.ts";
export {
  Ledger,
  type LedgerEntry,
  type LedgerOptions,
  type LedgerUsage,
  type MessageLedger,
  type SentMessage,
} from "./ledger.ts";
export { LEDGER_BOUND, LEDGER_BUCKET, type LedgerStatus, ledgerStore } from "./ledger_records.ts";
export { CAPABILITY } from "./report_capability.ts";
export { type CachedRates, RatesCache, type RatesCaller, type RatesSource } from "./rates_cache.ts";
