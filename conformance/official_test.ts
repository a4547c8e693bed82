/**
 * The official MCP conformance runner (`@modelcontextprotocol/conformance`,
 * server mode, its active suite) against the server. The runner sends no
 * `Authorization` header, so it talks to a loopback proxy that adds the demo
 * token and passes `Host` and `Origin` through untouched; the proxy is the
 * server's `PUBLIC_URL`, as a reverse proxy in front of a deployment is.
 *
 * `official/expected_failures.json` names the scenarios that must pass
 * (`server-initialize`, `ping`, `tools-list`, `dns-rebinding-protection`)
 * and those expected to fail, with a reason each (they test the reference
 * "everything" server's own tools, resources and prompts). The runner gets
 * the failures as its baseline, so it fails on an unexpected failure and on
 * a stale entry (an unexpected pass); this test checks the same from the
 * runner's per-check results, and checks both halves of the DNS-rebinding
 * scenario.
 */
import assert from "node:assert/strict";
import { DEMO_TOKENS, rpc, startHarness } from "../testing/harness.ts";
import { devProgram } from "../testing/process.ts";
import { startHeaderProxy } from "../testing/proxy.ts";

const EXPECTED_FAILURES = new URL("./official/expected_failures.json", import.meta.url);

/** One check of a scenario, as the runner writes it to `checks.json`. */
interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
  details?: Record<string, unknown>;
}

/** `server-<scenario>-<ISO timestamp with dashes>` → scenario name. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

async function readResults(dir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for await (const entry of Deno.readDir(dir)) {
    const scenario = RESULT_DIR.exec(entry.name)?.[1];
    if (!entry.isDirectory || !scenario) continue;
    const checks = JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}/checks.json`));
    results.set(scenario, checks);
  }
  return results;
}

Deno.test("official MCP conformance runner: required scenarios pass, failures match the baseline", async () => {
  const { must_pass: mustPass, expected_failures: expected } = JSON.parse(
    await Deno.readTextFile(EXPECTED_FAILURES),
  ) as { must_pass: string[]; expected_failures: Record<string, string> };
  for (const [scenario, reason] of Object.entries(expected)) {
    assert.ok(reason.length > 10 && !reason.includes("\n"), `${scenario} has a one-line reason`);
  }
  const dir = await Deno.makeTempDir({ prefix: "mcp-conformance-" });
  const baseline = `${dir}/baseline.yml`;
  await Deno.writeTextFile(
    baseline,
    `server:\n${Object.keys(expected).map((s) => `  - ${s}\n`).join("")}`,
  );
  const proxy = startHeaderProxy({ Authorization: `Bearer ${DEMO_TOKENS.full}` });
  const h = startHarness({ env: { PUBLIC_URL: proxy.url } });
  proxy.target = `http://127.0.0.1:${h.server.addr.port}`;
  try {
    const started = performance.now();
    const run = await new Deno.Command(Deno.execPath(), {
      args: devProgram(
        "@modelcontextprotocol/conformance",
        "server",
        "--url",
        `${proxy.url}/mcp`,
        "--expected-failures",
        baseline,
        "--output-dir",
        `${dir}/results`,
      ),
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      // Bounded: the first run on a clean machine also downloads the runner.
      signal: AbortSignal.timeout(240_000),
    }).output();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const stdout = new TextDecoder().decode(run.stdout);
    const summary = stdout.slice(stdout.indexOf("=== SUMMARY ==="));

    const results = await readResults(`${dir}/results`);
    // As the runner's baseline counts them: any FAILURE or WARNING check fails a scenario.
    const failing = [...results]
      .filter(([, checks]) => checks.some((c) => c.status === "FAILURE" || c.status === "WARNING"))
      .map(([scenario]) => scenario).sort();
    const passing = [...results.keys()].filter((s) => !failing.includes(s)).sort();
    console.log(`official runner: ${results.size} scenarios in ${seconds} s`);
    console.log(`  passed (${passing.length}): ${passing.join(", ")}`);
    console.log(`  expected failures (${failing.length}): ${failing.join(", ")}`);

    assert.ok(results.size >= mustPass.length, `the runner wrote its results:\n${stdout}`);
    for (const scenario of mustPass) {
      assert.ok(passing.includes(scenario), `${scenario} passes:\n${summary}`);
    }
    assert.deepEqual(failing, Object.keys(expected).sort(), "failures match the baseline");
    assert.equal(run.code, 0, `the runner accepts the baseline:\n${summary}`);

    // DNS rebinding: a foreign Host/Origin is refused; a localhost one is served.
    const rebinding = new Map(results.get("dns-rebinding-protection")!.map((c) => [c.id, c]));
    const rejected = rebinding.get("localhost-host-rebinding-rejected");
    assert.equal(rejected?.status, "SUCCESS");
    assert.equal(rejected?.details?.statusCode, 403);
    assert.equal(rebinding.get("localhost-host-valid-accepted")?.status, "SUCCESS");
    // Its acceptance half passes only because the proxy adds the token: the same
    // request without Authorization is refused, as every token-less request is.
    const direct = await rpc(
      `${proxy.target}/mcp`,
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      {
        Origin: `http://127.0.0.1:${h.server.addr.port}`,
      },
    );
    assert.equal(direct.status, 401);
    assert.equal((await direct.json()).error.code, "AUTH_REQUIRED");
  } finally {
    await proxy.shutdown();
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});
