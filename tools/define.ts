/**
 * The shape of a tool declaration. One declaration per tool is the single
 * source for registration, the scope map, `tools/list`, the README table and
 * the tests; its type makes every annotation mandatory.
 */
import { z } from "zod";
import type { Scope } from "../core/scopes.ts";
import type { ToolContext } from "./context.ts";

/** The four MCP tool annotations, all required. */
export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
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
