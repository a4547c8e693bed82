/**
 * The official MCP conformance runner, 0.2 line
 * (`@modelcontextprotocol/conformance` 0.2.0-alpha.12, pinned in dev.json as
 * `@modelcontextprotocol/conformance-next`), every scenario of the
 * 2026-07-28 revision (`--suite all --spec-version 2026-07-28`), through the
 * same header proxy as `official_test.ts` (see `testing/official.ts`).
 *
 * `official/expected_failures_2026.json` names the scenarios that must pass
 * and the expected failures with a reason each — whole scenarios, or single
 * checks as `scenario:check-id` where the rest of a scenario passes (24 of
 * `server-stateless`'s checks do; 4 need the reference server's diagnostic
 * tools). The runner fails on an unexpected failure and on a stale entry;
 * this test checks the same from its per-check results.
 */
import assert from "node:assert/strict";
import { LIST_TTL_MS } from "../server/mcp.ts";
import { assertBaseline, loadBaseline, runOfficial } from "../testing/official.ts";

const BASELINE = new URL("./official/expected_failures_2026.json", import.meta.url);

Deno.test("official MCP conformance runner, 2026-07-28: required scenarios pass, failures match the baseline", async () => {
  const baseline = await loadBaseline(BASELINE);
  const run = await runOfficial(
    "@modelcontextprotocol/conformance-next",
    ["--suite", "all", "--spec-version", "2026-07-28"],
    baseline,
  );
  try {
    assertBaseline(run, baseline, "official runner (2026-07-28)");
    const { results } = run;

    // The tools/list caching check passes with this server's real hints, not the SDK defaults.
    const caching = results.get("caching")?.find((c) =>
      c.id === "sep-2549-tools-list-caching-hints"
    );
    assert.equal(caching?.status, "SUCCESS");
    assert.equal(caching?.details?.ttlMs, LIST_TTL_MS);
    assert.equal(caching?.details?.cacheScope, "public");
  } finally {
    await run.close();
  }
});
