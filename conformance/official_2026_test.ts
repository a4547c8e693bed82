/**
 * The official MCP conformance runner, 0.2 line
 * (`@modelcontextprotocol/conformance` 0.2.0-alpha.12, pinned in dev.json as
 * `@modelcontextprotocol/conformance-next`), every scenario of the
 * 2026-07-28 revision (`--suite all --spec-version 2026-07-28`), and the
 * three scenarios of the Skills extension (SEP-2640), which are on no
 * revision's timeline and so run one by one (`--scenario`, at the runner's
 * latest revision), through the same header proxy as `official_test.ts`
 * (see `testing/official.ts`).
 *
 * `official/expected_failures_2026.json` names the scenarios that must pass
 * and the expected failures with a reason each — whole scenarios, or single
 * checks as `scenario:check-id` where the rest of a scenario passes (24 of
 * `server-stateless`'s checks do; 4 need the reference server's diagnostic
 * tools). The runner fails on an unexpected failure and on a stale entry;
 * this test checks the same from its per-check results. The skills
 * scenarios also run on the 2025-era protocol (`--spec-version 2025-11-25
 * --force`), where only the two cache-field checks are not applicable.
 */
import assert from "node:assert/strict";
import { LIST_TTL_MS } from "../server/mcp.ts";
import { assertBaseline, type Check, loadBaseline, runOfficial } from "../testing/official.ts";

const BASELINE = new URL("./official/expected_failures_2026.json", import.meta.url);
const RUNNER = "@modelcontextprotocol/conformance-next";

/** The Skills extension's server scenarios. */
const SKILLS = [
  "sep-2640-skills-directory",
  "sep-2640-skills-enumeration",
  "sep-2640-skills-manifest",
];

/** The checks of the skills scenarios that did not pass, as `scenario:check status`. */
function notPassed(results: Map<string, Check[]>, allowed: (c: Check) => boolean): string[] {
  return SKILLS.flatMap((scenario) =>
    (results.get(scenario) ?? []).filter((c) => c.status !== "SUCCESS" && !allowed(c))
      .map((c) => `${scenario}:${c.id} ${c.status} ${c.errorMessage ?? ""}`)
  );
}

Deno.test("official MCP conformance runner, 2026-07-28: required scenarios pass, failures match the baseline", async () => {
  const baseline = await loadBaseline(BASELINE);
  for (const scenario of SKILLS) assert.ok(baseline.must_pass.includes(scenario), scenario);
  const run = await runOfficial(RUNNER, [
    ["--suite", "all", "--spec-version", "2026-07-28"],
    ...SKILLS.map((scenario) => ["--scenario", scenario]),
  ], baseline);
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

    // Skills: every check ran and passed (none skipped as "not declared" or "not applicable").
    const checks = SKILLS.map((s) => results.get(s)?.length ?? 0);
    assert.ok(checks.every((n) => n >= 5), `each skills scenario ran its checks: ${checks}`);
    assert.deepEqual(notPassed(results, () => false), []);
  } finally {
    await run.close();
  }
});

Deno.test("official MCP conformance runner, skills scenarios on the 2025-era protocol: every check passes", async () => {
  const baseline = await loadBaseline(BASELINE);
  const skillsOnly = { ...baseline, must_pass: SKILLS, expected_failures: {} };
  const run = await runOfficial(
    RUNNER,
    SKILLS.map((scenario) => ["--scenario", scenario, "--spec-version", "2025-11-25", "--force"]),
    skillsOnly,
  );
  try {
    assertBaseline(run, skillsOnly, "official runner, skills (2025-11-25)");
    // ttlMs and cacheScope exist from 2026-07-28 on: their two checks do not apply to 2025-11-25.
    const cacheFields = (c: Check) =>
      c.status === "SKIPPED" && /cache-attributes$/.test(c.id) &&
      /not applicable on negotiated protocol 2025-11-25/.test(c.errorMessage ?? "");
    assert.deepEqual(notPassed(run.results, cacheFields), []);
    const skipped = SKILLS.flatMap((s) => run.results.get(s) ?? []).filter(cacheFields);
    assert.equal(skipped.length, 2);
  } finally {
    await run.close();
  }
});
