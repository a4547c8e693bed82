/**
 * Every tool through both client SDKs against the fake: a valid call returns
 * structured content matching its output schema plus the same JSON as text,
 * and the fake saw the right path, body and token; invalid input is refused
 * locally, naming the field; tools/list matches the `tools.md` table.
 */
import assert from "node:assert/strict";
import { TOOLS } from "../tools/mod.ts";
import { VALID } from "../testing/cases.ts";
import { CLIENTS, DEMO_TOKENS, envelopeOf, startHarness } from "../testing/harness.ts";

/** The annotation table of `tools.md` (read-only / destructive / idempotent / open-world). */
const SPEC_ANNOTATIONS: Record<string, [boolean, boolean, boolean, boolean]> = {
  send_sms: [false, true, false, true],
  get_sms_rates: [true, false, true, true],
  register_sender_id: [false, false, false, true],
  register_msisdn_sender: [false, false, false, true],
  confirm_msisdn_sender: [false, false, false, true],
  lookup_hlr: [true, false, true, true],
  get_operator: [true, false, true, true],
  get_mcc_mnc_list: [true, false, true, true],
  get_mobile_prefixes: [true, false, true, true],
  correct_phone_number: [true, false, true, true],
  send_sms_batch: [false, true, false, true],
  get_sms_status: [true, false, true, false],
  get_sms_usage: [true, false, true, false],
};

/** The scope table of `tools.md`. */
const SPEC_SCOPES: Record<string, string> = {
  send_sms: "sms:send",
  get_sms_rates: "sms:rates",
  register_sender_id: "sender:write",
  register_msisdn_sender: "sender:write",
  confirm_msisdn_sender: "sender:write",
  lookup_hlr: "hlr:lookup",
  get_operator: "numbers:read",
  get_mcc_mnc_list: "numbers:read",
  get_mobile_prefixes: "numbers:read",
  correct_phone_number: "numbers:read",
  send_sms_batch: "sms:send",
  get_sms_status: "sms:send",
  get_sms_usage: "sms:send",
};

/** Invalid inputs: the field each must name. */
const INVALID: { tool: string; args: Record<string, unknown>; field: string }[] = [
  { tool: "send_sms", args: { to: "37069912345", from: "Shop", message: "x" }, field: "to" },
  { tool: "send_sms", args: { to: "+0123456789", from: "Shop", message: "x" }, field: "to" },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "TooLongSender", message: "x" },
    field: "from",
  },
  { tool: "send_sms", args: { to: "+37069912345", from: "Shop!", message: "x" }, field: "from" },
  { tool: "send_sms", args: { to: "+37069912345", from: "Shop", message: "" }, field: "message" },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "Shop", message: "x".repeat(1601) },
    field: "message",
  },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "Shop", message: "ąčę", coding: 0 },
    field: "message",
  },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "Shop", message: "x", expireIn: 359 },
    field: "expireIn",
  },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "Shop", message: "x", scheduled: "tomorrow" },
    field: "scheduled",
  },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "Shop", message: "x", testMode: "1" },
    field: "(arguments)",
  },
  { tool: "send_sms", args: { to: "+37069912345", from: "Shop" }, field: "message" },
  {
    tool: "send_sms_batch",
    args: { to: ["+37069912345", "+37069912345"], from: "Shop", message: "x" },
    field: "to.1",
  },
  {
    tool: "send_sms_batch",
    args: { to: ["869912345"], from: "Shop", message: "x" },
    field: "to.0",
  },
  {
    tool: "send_sms_batch",
    args: { to: ["+37069912345"], from: "Shop", message: "x", correctBy: "LT" },
    field: "(arguments)",
  },
  {
    tool: "send_sms_batch",
    args: { to: ["+37069912345"], from: "Shop", message: "ąčę", coding: 0 },
    field: "message",
  },
  { tool: "get_sms_rates", args: { country: "LTU" }, field: "country" },
  { tool: "get_sms_rates", args: {}, field: "country" },
  {
    tool: "register_sender_id",
    args: { name: "AB", category: "Brand", categoryDescription: "x" },
    field: "name",
  },
  {
    tool: "register_sender_id",
    args: { name: "Shop", category: "Person", categoryDescription: "x" },
    field: "category",
  },
  {
    tool: "register_sender_id",
    args: { name: "Shop", category: "Brand", categoryDescription: "" },
    field: "categoryDescription",
  },
  {
    tool: "register_sender_id",
    args: {
      name: "Shop",
      category: "Brand",
      categoryDescription: "x",
      notificationUrl: "http://plain.example",
    },
    field: "notificationUrl",
  },
  { tool: "register_msisdn_sender", args: { msisdn: "069555555" }, field: "msisdn" },
  { tool: "confirm_msisdn_sender", args: { senderId: 124, code: "1234" }, field: "code" },
  { tool: "confirm_msisdn_sender", args: { senderId: 0, code: "12345" }, field: "senderId" },
  { tool: "confirm_msisdn_sender", args: { senderId: "124", code: "12345" }, field: "senderId" },
  { tool: "lookup_hlr", args: { msisdn: "+37069912345", waitSeconds: 31 }, field: "waitSeconds" },
  { tool: "get_operator", args: { operatorId: -1 }, field: "operatorId" },
  { tool: "get_mcc_mnc_list", args: { country: "LT", page: 0 }, field: "page" },
  { tool: "get_mobile_prefixes", args: { country: "L1" }, field: "country" },
  { tool: "correct_phone_number", args: { numbers: [] }, field: "numbers" },
  {
    tool: "correct_phone_number",
    args: { numbers: [{ number: "1".repeat(33), country: "LT" }] },
    field: "numbers.0.number",
  },
  {
    tool: "correct_phone_number",
    args: { numbers: Array.from({ length: 101 }, () => ({ number: "1", country: "LT" })) },
    field: "numbers",
  },
];

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: tools/list matches the tools.md table`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      const { tools } = await c.client.listTools();
      assert.deepEqual(
        tools.map((t: { name: string }) => t.name).sort(),
        Object.keys(SPEC_ANNOTATIONS).sort(),
      );
      for (const t of tools) {
        const [readOnlyHint, destructiveHint, idempotentHint, openWorldHint] =
          SPEC_ANNOTATIONS[t.name]!;
        assert.deepEqual(
          { ...t.annotations, title: undefined },
          { title: undefined, readOnlyHint, destructiveHint, idempotentHint, openWorldHint },
          t.name,
        );
        assert.ok(
          t.title && t.description.length > 80,
          `${t.name} has a title and a real description`,
        );
        assert.equal(t.inputSchema.type, "object");
        assert.equal(t.outputSchema.type, "object");
        assert.match(
          t.description,
          ["send_sms", "lookup_hlr", "send_sms_batch"].includes(t.name)
            ? /BILLABLE/
            : /Not billable/,
        );
      }
      for (const tool of TOOLS) assert.equal(tool.scope, SPEC_SCOPES[tool.name], tool.name);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: every tool's valid call, checked against the fake's request log`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      for (const kase of VALID) {
        h.fake.reset();
        h.server.app.rates.clear();
        const label = `${kase.tool} ${JSON.stringify(kase.args).slice(0, 60)}`;
        const result = await c.client.callTool({ name: kase.tool, arguments: kase.args });
        assert.notEqual(result.isError, true, `${label}: ${result.content?.[0]?.text}`);
        const declaration = TOOLS.find((t) => t.name === kase.tool)!;
        const structured = result.structuredContent;
        declaration.output.parse(structured);
        assert.deepEqual(JSON.parse(result.content[0].text), structured, label);
        for (const [key, value] of Object.entries(kase.expect)) {
          assert.deepEqual(structured[key], value, `${label}: ${key}`);
        }
        const seen = h.fake.requests.filter((r) =>
          !r.path.startsWith("/callbacks") && !(kase.prices && r.path.startsWith("/rates"))
        );
        if (kase.upstream === null) {
          assert.equal(seen.length, 0, `${label}: no upstream request`);
          continue;
        }
        assert.equal(seen.length, 1, `${label}: one upstream request`);
        const [method, path] = kase.upstream.split(" ");
        assert.equal(seen[0]!.method, method, label);
        assert.equal(seen[0]!.path, path, label);
        assert.equal(seen[0]!.token, DEMO_TOKENS.full, label);
        assert.equal(seen[0]!.headers["x-vertexsms-token"], DEMO_TOKENS.full, label);
        if (kase.body !== undefined) {
          // A send carries its delivery-report URL (PUBLIC_URL is reachable from the fake).
          const { dlrUrl, ...body } = seen[0]!.body as Record<string, unknown>;
          if (kase.upstream === "POST /sms") {
            assert.match(String(dlrUrl), new RegExp(`^${h.server.url}/callbacks/dlr/[\\w-]{90,}$`));
          } else {
            assert.equal(dlrUrl, undefined, label);
          }
          assert.deepEqual(Array.isArray(seen[0]!.body) ? seen[0]!.body : body, kase.body, label);
        }
      }
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: invalid input is INVALID_INPUT naming the field, with no upstream call`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      for (const { tool, args, field } of INVALID) {
        const label = `${tool} ${JSON.stringify(args).slice(0, 80)}`;
        const result = await c.client.callTool({ name: tool, arguments: args });
        assert.equal(result.isError, true, label);
        assert.equal(result.structuredContent, undefined, label);
        const error = envelopeOf(result);
        assert.equal(error.code, "INVALID_INPUT", label);
        assert.equal(error.retryable, false, label);
        const details = error.details as { path: string; message: string }[];
        assert.ok(
          details.some((d) => d.path === field),
          `${label}: names ${field} in ${JSON.stringify(details)}`,
        );
        assert.ok(String(error.message).includes(field), label);
      }
      assert.equal(h.fake.requests.length, 0, "nothing reached VertexSMS");
    } finally {
      await c.close();
      await h.close();
    }
  });
}

/** Rejections the recordings hold, per tool: code and what the envelope carries. */
const REJECTIONS: {
  tool: string;
  args: Record<string, unknown>;
  code: string;
  check?: (e: Record<string, unknown>) => void;
}[] = [
  {
    tool: "send_sms",
    args: { to: "+37060000021", from: "Shop", message: "hi" },
    code: "VERTEX_SEND_FAILED",
    check: (e) => {
      assert.equal(e.vertex_error_code, 21);
      assert.match(String(e.message), /blacklisted/);
    },
  },
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "NotMine", message: "hi" },
    code: "VERTEX_SEND_FAILED",
    check: (e) => assert.match(String(e.message), /Invalid value for field 'from'/),
  },
  {
    tool: "register_sender_id",
    args: { name: "Taken", category: "Brand", categoryDescription: "ours" },
    code: "VERTEX_REQUEST_REJECTED",
  },
  {
    tool: "confirm_msisdn_sender",
    args: { senderId: 124, code: "99999" },
    code: "VERTEX_REQUEST_REJECTED",
    check: (e) => assert.match(String(e.message), /expired/),
  },
  { tool: "get_operator", args: { operatorId: 999999 }, code: "NOT_FOUND" },
];

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: upstream rejections map to the catalog`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      for (const { tool, args, code, check } of REJECTIONS) {
        const result = await c.client.callTool({ name: tool, arguments: args });
        assert.equal(result.isError, true, tool);
        assert.equal(result.structuredContent, undefined);
        const error = envelopeOf(result);
        assert.equal(error.code, code, tool);
        assert.equal(error.retryable, false, tool);
        check?.(error);
      }
    } finally {
      await c.close();
      await h.close();
    }
  });
}
