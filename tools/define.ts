/**
 * The shape of a tool declaration. One declaration per tool is the single
 * source for registration, the scope map, `tools/list`, the README table and
 * the tests; its type makes every annotation mandatory.
 */
import { z } from "zod";
import type { HlrResult, Rate, VertexApi } from "../server/vertex.ts";

/** The five OAuth scopes, with the consent-screen wording of the public docs. */
export const SCOPES = {
  "sms:send": "Send SMS on your behalf.",
  "sms:rates": "Read SMS rates.",
  "sender:write": "Register and confirm Sender IDs on your account.",
  "hlr:lookup": "Run HLR lookups (billable per query).",
  "numbers:read": "Read mobile network metadata and validate phone numbers.",
} as const;

/** One of the five scopes. */
export type Scope = keyof typeof SCOPES;

/** All scopes, in documentation order. */
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

/** The four MCP tool annotations, all required. */
export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Process-wide services a tool may use (never HTTP details). */
export interface ToolServices {
  /** Canonical external base URL of this server. */
  publicUrl: string;
  /** Whether VertexSMS could reach `publicUrl` (HLR callbacks). */
  callbacksReachable: boolean;
  /** Per-token cache of the rates table. */
  rates: RatesSource;
  /** Hand-over of HLR results from the callback route to the waiting call. */
  hlr: HlrBroker;
  /** Idempotency, confirmation, throttles and the spend cap of billable calls. */
  money: MoneyGuards;
}

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
}

/** Everything a tool handler gets for one call. */
export interface ToolContext {
  /** VertexSMS, as the caller's token sees it. */
  vertex: VertexApi;
  /** A keyed hash of the caller's token: a safe cache key, never the token. */
  principal: () => Promise<string>;
  requestId: string;
  signal: AbortSignal;
  services: ToolServices;
  /** The request's `Idempotency-Key` header, when it carried one (a plain value). */
  idempotencyKey?: string;
  /**
   * Ask the user to confirm, when the client can be asked (it declared
   * elicitation support on a protocol revision where the server can reach
   * it); absent otherwise. It may end the current round of the call and
   * resume it once the user has answered (2026-07-28 multi-round-trip).
   */
  confirm?: (request: ConfirmRequest) => Promise<ConfirmAnswer>;
}

/** What a billable call hands to {@link MoneyGuards}. */
export interface BillableCall<T> {
  tool: string;
  /**
   * The validated arguments that define the call, without `idempotencyKey`,
   * `confirmationToken` or `dryRun`: the same key with other arguments is refused.
   */
  args: Record<string, unknown>;
  /** The `idempotencyKey` argument (the `Idempotency-Key` header comes through the context). */
  idempotencyKey?: string;
  /** The billable work itself: runs at most once per key. */
  run: () => Promise<T>;
}

/** The cost estimate of one SMS. */
export interface SmsQuote {
  /** ISO 3166-1 alpha-2 of the destination, when it is known for certain. */
  country: string | null;
  /** Price per part in EUR (the highest of the destination's operators), or null. */
  rateEur: string | null;
  /** `rateEur` × parts, or null. */
  costEur: string | null;
  /** The same in micro-euros, for the spend cap. */
  costMicros: number | null;
}

/** What `send_sms` hands to {@link MoneyGuards.send}. */
export interface SendCall<T> extends BillableCall<T> {
  /** The destination as given: counted (as a keyed hash) for the recipient limit. */
  recipient: string;
  /** The `confirmationToken` argument, when given. */
  confirmationToken?: string;
  /** Estimate the cost (called only when a guard needs it). */
  quote: () => Promise<SmsQuote>;
  /** The confirmation question, from the estimate (null when the price is unknown). */
  question: (quote: SmsQuote | null) => string;
  /** The (non-error) result when the user declines or cancels. */
  declined: (answer: "decline" | "cancel") => T;
}

/** A confirmation token minted by a dry run. */
export interface ConfirmationToken {
  token: string;
  expiresInSeconds: number;
}

/** The money guards, as tools see them (implemented in `server/money.ts`). */
export interface MoneyGuards {
  /** Idempotency only: the same key and arguments within 24 h return the first outcome. */
  once<T extends object>(ctx: ToolContext, call: BillableCall<T>): Promise<T>;
  /** Idempotency, confirmation, per-token throttles and the daily spend cap, then `run`. */
  send<T extends object>(ctx: ToolContext, call: SendCall<T>): Promise<T>;
  /** A short-lived token confirming exactly these arguments for this caller. */
  confirmationToken(
    ctx: ToolContext,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<ConfirmationToken>;
}

/** Rates of one country, from the per-token cache. */
export interface CachedRates {
  /** Rows of the country, already in output shape. */
  rows: readonly Rate[];
  countryName: string | null;
  ageSeconds: number;
}

/** Source of the per-token rates table. */
export interface RatesSource {
  forCountry(ctx: ToolContext, country: string): Promise<CachedRates>;
}

/** The HLR hand-over seen from a tool. */
export interface HlrBroker {
  /** Reserve a one-time callback id. */
  open(): Promise<HlrWait>;
}

/** A reserved HLR callback: its URL id, and a way to await the result. */
export interface HlrWait {
  id: string;
  /** Resolve with the delivered result, or `null` after `timeoutMs` (or when aborted). */
  wait(timeoutMs: number, signal: AbortSignal): Promise<HlrResult | null>;
  /** Give up the reservation. */
  close(): Promise<void>;
}

/** A tool declaration. */
export interface ToolDefinition<
  I extends z.ZodObject = z.ZodObject,
  O extends OutputSchema = z.ZodObject,
> {
  name: string;
  title: string;
  /** What it does, when to use it, and whether it is billable. */
  description: string;
  scope: Scope;
  /** Costs money per call: never retried, timeouts are not retryable. */
  billable: boolean;
  input: I;
  output: O;
  annotations: Annotations;
  handler: (args: z.output<I>, ctx: ToolContext) => Promise<z.input<O>>;
}

/** An output schema: an object, or a union of objects (one per kind of result). */
export type OutputSchema = z.ZodObject | z.ZodUnion<readonly z.ZodObject[]>;

/** A declaration with its input and output types erased, for lists. */
// deno-lint-ignore no-explicit-any
export type AnyTool = ToolDefinition<any, any>;

/** Declare a tool (identity at runtime; the type checks the declaration). */
export function defineTool<I extends z.ZodObject, O extends OutputSchema>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}
