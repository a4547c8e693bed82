/** Process-wide services the tools call: the per-token rates cache and the HLR hand-over. */
export { HlrBroker, type HlrBrokerOptions, type HlrHandover, type HlrWait } from "./hlr_broker.ts";
export { type CachedRates, RatesCache, type RatesCaller, type RatesSource } from "./rates_cache.ts";
