/**
 * The official MCP conformance runner, 0.1 line
 * (`@modelcontextprotocol/conformance` 0.1.16, server mode, its active suite
 * of 2025 scenarios), through the header proxy of `testing/official.ts`.
 *
 * `official/expected_failures.json` names the scenarios that must pass
 * (`server-initialize`, `ping`, `tools-list`, `dns-rebinding-protection`)
 * and those expected to fail, with a reason each (they test the reference
 * "everything" server's own tools, resources and prompts). The runner fails
 * on an unexpected failure and on a stale entry (an unexpected pass); this
 * test checks the same from the runner's per-check results, and checks both
 * halves of the DNS-rebinding scenario.
 */
import assert from "node:assert/strict";
import { rpc } from "../testing/harness.ts";
import { assertBaseline, loadBaseline, runOfficial } from "../testing/official.ts";

const BASELINE = new URL("./official/expected_failures.json", import.meta.url);

Deno.test("official MCP conformance runner: required scenarios pass, failures match the baseline", async () => {
  const baseline = await loadBaseline(BASELINE);
  const run = await runOfficial("@modelcontextprotocol/conformance", [[]], baseline);
  try {
    assertBaseline(run, baseline, "official runner");
    const { results } = run;

    // DNS rebinding: a foreign Host/Origin is refused; a localhost one is served.
    const rebinding = new Map(results.get("dns-rebinding-protection")!.map((c) => [c.id, c]));
    const rejected = rebinding.get("localhost-host-rebinding-rejected");
    assert.equal(rejected?.status, "SUCCESS");
    assert.equal(rejected?.details?.statusCode, 403);
    assert.equal(rebinding.get("localhost-host-valid-accepted")?.status, "SUCCESS");
    // Its acceptance half passes only because the proxy adds the token: the same
    // request without Authorization is refused, as every token-less request is.
    const direct = await rpc(
      `${run.direct}/mcp`,
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { Origin: run.direct },
    );
    assert.equal(direct.status, 401);
    assert.equal((await direct.json()).error.code, "AUTH_REQUIRED");
  } finally {
    await run.close();
  }
});
