/**
 * The tools, one module per scope (`sms:send` has three: sending, sending to
 * many, and what happened after). {@link TOOLS} is the only list: the MCP
 * endpoint, the scope map, the README table and the tests all read it.
 */
import type { AnyTool } from "./define.ts";
import { DELIVERY_TOOLS } from "./delivery.ts";
import { HLR_TOOLS } from "./hlr.ts";
import { NUMBERS_TOOLS } from "./numbers.ts";
import { RATES_TOOLS } from "./rates.ts";
import { SENDER_TOOLS } from "./sender.ts";
import { SMS_TOOLS } from "./sms.ts";
import { sendSmsBatch } from "./sms_batch.ts";

export { ALL_SCOPES, type Scope, SCOPES } from "../core/scopes.ts";
export type { ToolContext, ToolServices } from "./context.ts";
export { type Annotations, type AnyTool, defineTool, type ToolDefinition } from "./define.ts";

/** Every tool, in the order of `tools.md`. */
export const TOOLS: readonly AnyTool[] = [
  ...SMS_TOOLS,
  ...RATES_TOOLS,
  ...SENDER_TOOLS,
  ...HLR_TOOLS,
  ...NUMBERS_TOOLS,
  sendSmsBatch,
  ...DELIVERY_TOOLS,
];
