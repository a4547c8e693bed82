/**
 * One valid call per tool, answered by the fake's recordings: what the
 * reliability suites (faults, load, secrets, shutdown) drive each tool with.
 * {@link sampleCall} refuses a tool without a sample, so a new tool cannot be
 * left out of those suites silently.
 */
import type { AnyTool } from "../tools/mod.ts";
import { ONE_CALL_PER_TOOL } from "./cases.ts";
import { loadRecordings } from "./fake/recordings.ts";

/** Valid arguments per tool name: the first valid call of each tool in `cases.ts`. */
export const SAMPLE_ARGS: Readonly<Record<string, Record<string, unknown>>> = Object.fromEntries(
  [...ONE_CALL_PER_TOOL].map(([name, kase]) => [name, kase.args]),
);

/**
 * The HLR result VertexSMS posts back for the sample `lookup_hlr` (the fake's
 * `hlr-ok` recording): what a genuine callback carries.
 */
export const SAMPLE_HLR_CALLBACK = loadRecordings().find((r) => r.name === "hlr-ok")?.callback
  ?.body as Record<string, unknown>;

/** Whether a tool's sample asks VertexSMS (the ledger's tools read this server's own state). */
export function asksUpstream(tool: AnyTool): boolean {
  return ONE_CALL_PER_TOOL.get(tool.name)?.upstream !== null;
}

/** The `tools/call` params of a tool's sample. */
export function sampleCall(tool: AnyTool): { name: string; arguments: Record<string, unknown> } {
  const args = SAMPLE_ARGS[tool.name];
  if (!args) throw new Error(`testing/samples.ts has no sample call for ${tool.name}`);
  return { name: tool.name, arguments: args };
}
