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
  O extends z.ZodObject = z.ZodObject,
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

/** A declaration with its input and output types erased, for lists. */
// deno-lint-ignore no-explicit-any
export type AnyTool = ToolDefinition<any, any>;

/** Declare a tool (identity at runtime; the type checks the declaration). */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}
