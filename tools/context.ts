/**
 * What a tool handler gets for one call: the caller's view of VertexSMS, a
 * keyed hash of its token, and the process-wide services. Each service's
 * interface is declared by the layer that provides it (`money/`,
 * `services/`); this module only assembles them. Tools never see HTTP.
 */
import type { GuardContext, MoneyGuards, Principal } from "../money/mod.ts";
import type { HlrHandover, MessageLedger, RatesCaller, RatesSource } from "../services/mod.ts";
import type { SimulatedOutcome, VertexApi } from "../vertex/mod.ts";

/** Process-wide services a tool may use (never HTTP details). */
export interface ToolServices {
  /** Canonical external base URL of this server. */
  publicUrl: string;
  /** Whether VertexSMS could reach `publicUrl` (HLR callbacks, delivery reports). */
  callbacksReachable: boolean;
  /** Per-token cache of the rates table. */
  rates: RatesSource;
  /** Hand-over of HLR results from the callback route to the waiting call. */
  hlr: HlrHandover;
  /** Idempotency, confirmation, throttles and the spend cap of billable calls. */
  money: MoneyGuards;
  /** Every message sent, per token, with the statuses delivery reports bring. */
  ledger: MessageLedger;
  /** `SMS_TEST_MODE`: `off`, or the outcome VertexSMS simulates for every send. */
  smsTestMode: "off" | SimulatedOutcome;
}

/** Everything a tool handler gets for one call. */
export interface ToolContext extends GuardContext, RatesCaller {
  /** A keyed hash of the caller's token (see `Principal`). */
  principal: Principal;
  /** VertexSMS, as the caller's token sees it. */
  vertex: VertexApi;
  requestId: string;
  services: ToolServices;
}
