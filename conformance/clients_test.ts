/**
 * What particular clients do with this server's answers, reproduced with the
 * real SDKs (the real clients themselves are run by `dev/clients/`):
 *
 * - Gemini CLI copies `JSON.parse(first text block)` into `structuredContent`
 *   when a result has none, and its SDK then validates that against the
 *   tool's `outputSchema` even on `isError`, replacing the result with MCP
 *   error -32602. Our error results pass through; the old shape (the envelope
 *   as the only block) is shown to fail exactly as Gemini failed.
 * - mcp-remote probes `GET /mcp` without a token and starts OAuth only on a
 *   401; mcporter falls back to an SSE `GET /mcp` (the SDK's SSE transport)
 *   after a 401 on POST: both must meet the challenge, not a 405.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/sse"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { Ajv } from "ajv";
import {
  checkErrorResult,
  CLIENTS,
  DEMO_TOKENS,
  geminiStructuredContent,
  recordingFetch,
  startHarness,
  type ToolResultLike,
} from "../testing/harness.ts";

/**
 * Gemini CLI 0.61.0's reading of a tool result: what its model is given, or
 * the -32602 its SDK raises instead (`callTool`: a tool with an output schema
 * must return structured content unless `isError`, and any structured content
 * must match the schema).
 */
function geminiReads(result: ToolResultLike, outputSchema: object): "the result" | "-32602" {
  const structured = geminiStructuredContent(result);
  if (!structured) return result.isError ? "the result" : "-32602";
  const validate = new Ajv({ strict: false }).compile(outputSchema);
  return validate(structured) ? "the result" : "-32602";
}

const CASES = [
  {
    label: "NOT_FOUND",
    token: DEMO_TOKENS.full,
    tool: "get_operator",
    args: { operatorId: 999999 },
  },
  {
    label: "a scope rejection",
    token: DEMO_TOKENS["sms:rates"],
    tool: "send_sms",
    args: { to: "+37060000001", from: "VertexDemo", message: "hello" },
  },
];

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: Gemini CLI's model reads our tool errors; the old one-block shape it could not`, async () => {
    const h = startHarness();
    try {
      for (const kase of CASES) {
        const c = await connect(h.mcpUrl, kase.token);
        try {
          const { tools } = await c.client.listTools();
          const schema = tools.find((t: { name: string }) => t.name === kase.tool).outputSchema;
          const result = await c.client.callTool({ name: kase.tool, arguments: kase.args });
          const envelope = checkErrorResult(result);
          assert.equal(geminiReads(result, schema), "the result", kase.label);
          // What this server answered before: the envelope as the first (only) block.
          const old = {
            isError: true,
            content: [{ type: "text", text: JSON.stringify({ error: envelope }) }],
          };
          assert.equal(geminiReads(old, schema), "-32602", `${kase.label}: the old shape`);
          assert.throws(
            () => checkErrorResult(old),
            `${kase.label}: the guard catches the old shape`,
          );
        } finally {
          await c.close();
        }
      }
      const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
      const ok = await c.client.callTool({ name: "get_operator", arguments: { operatorId: 493 } });
      const { tools } = await c.client.listTools();
      const schema = tools.find((t: { name: string }) => t.name === "get_operator").outputSchema;
      assert.equal(geminiReads(ok, schema), "the result");
      await c.close();
    } finally {
      await h.close();
    }
  });
}

Deno.test("mcp-remote's probe: GET /mcp without a token meets the challenge and leads to the metadata", async () => {
  const h = startHarness();
  try {
    for (let probe = 0; probe < 2; probe++) {
      const res = await fetch(h.mcpUrl, { headers: { Accept: "text/event-stream" } });
      assert.equal(res.status, 401, `probe ${probe + 1}`);
      await res.body?.cancel();
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(
        res.headers.get("www-authenticate") ?? "",
      )?.[1];
      assert.equal(metadataUrl, `${h.server.url}/.well-known/oauth-protected-resource/mcp`);
      const metadata = await (await fetch(metadataUrl!)).json();
      assert.equal(metadata.resource, h.mcpUrl);
      assert.deepEqual(metadata.authorization_servers, ["https://tool.vertexsms.com"]);
    }
  } finally {
    await h.close();
  }
});

Deno.test("mcporter's SSE fallback: the SDK's SSE transport (GET /mcp) gets 401 and the challenge, not 405", async () => {
  const h = startHarness();
  const wire = recordingFetch();
  const transport = new SSEClientTransport(new URL(h.mcpUrl), { fetch: wire.fetch });
  try {
    await assert.rejects(() => transport.start(), (error: { code?: number }) => error.code === 401);
    const get = wire.exchanges.find((e) => e.method === "GET");
    assert.equal(get?.status, 401);
    assert.match(get?.headers.get("www-authenticate") ?? "", /^Bearer resource_metadata="/);
  } finally {
    await transport.close();
    await h.close();
  }
});
