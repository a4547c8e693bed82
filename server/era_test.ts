import { isLegacyRequest } from "@modelcontextprotocol/server";
import fc from "fast-check";
import assert from "node:assert/strict";
import { rpcBody, rpcHeaders } from "../testing/messages.ts";
import { claimsModernEra, isLegacy } from "./era.ts";

const post = (headers: Record<string, string>, body: unknown) =>
  new Request("http://localhost/mcp", { method: "POST", headers, body: JSON.stringify(body) });

Deno.test("claimsModernEra never says modern where the SDK would serve the legacy leg", async () => {
  let claimed = 0;
  await fc.assert(
    fc.asyncProperty(rpcHeaders, rpcBody, async (headers, body) => {
      const sdk = await isLegacyRequest(post(headers, body), body);
      assert.equal(await isLegacy(post(headers, body), body), sdk);
      if (claimsModernEra(body)) {
        claimed++;
        assert.equal(sdk, false);
      }
    }),
    { numRuns: 5_000 },
  );
  assert.ok(claimed > 300, `the short cut was taken (${claimed} times)`);
});

Deno.test("claimsModernEra: a 2026-07-28 call yes; initialize, responses, batches and 2025 calls no", () => {
  const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28" };
  const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x", _meta: meta } };
  assert.equal(claimsModernEra(call), true);
  assert.equal(claimsModernEra({ ...call, method: "initialize" }), false);
  assert.equal(claimsModernEra({ ...call, result: {} }), false);
  assert.equal(claimsModernEra({ ...call, error: { code: 1, message: "x" } }), false);
  assert.equal(claimsModernEra([call]), false);
  assert.equal(claimsModernEra({ ...call, params: { name: "x" } }), false);
  assert.equal(claimsModernEra({ ...call, params: { _meta: [meta] } }), false);
  assert.equal(claimsModernEra(null), false);
});
