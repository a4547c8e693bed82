/**
 * One valid call per tool, answered by the fake's recordings: what the
 * reliability suites (faults, load, secrets, shutdown) drive each tool with.
 * {@link sampleCall} refuses a tool without a sample, so a new tool cannot be
 * left out of those suites silently.
 */
import type { AnyTool } from "../tools/define.ts";
import { loadRecordings } from "./fake/recordings.ts";

/** Valid arguments per tool name. */
export const SAMPLE_ARGS: Readonly<Record<string, Record<string, unknown>>> = {
  send_sms: { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" },
  get_sms_rates: { country: "LT" },
  register_sender_id: {
    name: "Shop-24",
    category: "Brand",
    categoryDescription: "Our registered trade mark",
  },
  register_msisdn_sender: { msisdn: "+37069555555" },
  confirm_msisdn_sender: { senderId: 124, code: "12345" },
  lookup_hlr: { msisdn: "+37069912345", waitSeconds: 5 },
  get_operator: { operatorId: 493 },
  get_mcc_mnc_list: { country: "LT" },
  get_mobile_prefixes: { country: "LT" },
  correct_phone_number: { numbers: [{ number: "861860698", country: "LT" }] },
};

/**
 * The HLR result VertexSMS posts back for the sample `lookup_hlr` (the fake's
 * `hlr-ok` recording): what a genuine callback carries.
 */
export const SAMPLE_HLR_CALLBACK = loadRecordings().find((r) => r.name === "hlr-ok")?.callback
  ?.body as Record<string, unknown>;

/** The `tools/call` params of a tool's sample. */
export function sampleCall(tool: AnyTool): { name: string; arguments: Record<string, unknown> } {
  const args = SAMPLE_ARGS[tool.name];
  if (!args) throw new Error(`conformance/samples.ts has no sample call for ${tool.name}`);
  return { name: tool.name, arguments: args };
}
