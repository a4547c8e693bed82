/**
 * The MCP Inspector's command line (`npm:@modelcontextprotocol/inspector`,
 * `--cli … --format json`) against the server with a bearer header:
 * `tools/list` (with `--strict`: no schema portability finding at all,
 * neither error nor warning) and one `tools/call`, in the 2025 era (the Inspector's default)
 * and the 2026-07-28 era; and its skills check (`skills/list --verify`: each
 * skill's conformance and every file's digest), both eras. The Inspector
 * needs Node ≥ 22, so it runs on Deno.
 */
import assert from "node:assert/strict";
import { Logger } from "../core/log.ts";
import { Skills } from "../server/mcp/skills.ts";
import { SKILL_FILES } from "../server/skill_files.ts";
import { TOOLS } from "../tools/mod.ts";
import { DEMO_TOKENS, startHarness } from "../testing/harness.ts";
import { devProgram } from "../testing/process.ts";

/** Run the Inspector CLI against `mcpUrl` with the demo token; its output and exit code. */
async function runInspector(mcpUrl: string, home: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: devProgram(
      "@modelcontextprotocol/inspector",
      "--cli",
      mcpUrl,
      "--transport",
      "http",
      "--header",
      `Authorization: Bearer ${DEMO_TOKENS.full}`,
      "--format",
      "json",
      ...args,
    ),
    // Keep the Inspector's catalog and storage out of the user's home.
    env: {
      NO_COLOR: "1",
      MCP_STORAGE_DIR: `${home}/storage`,
      MCP_CATALOG_PATH: `${home}/mcp.json`,
      MCP_CLIENT_CONFIG_PATH: `${home}/client.json`,
    },
    stdout: "piped",
    stderr: "piped",
    // Bounded: the first run on a clean machine also downloads the Inspector.
    signal: AbortSignal.timeout(240_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `inspector ${args.join(" ")} exited ${out.code}:\n${stderr}`);
  return { stdout, stderr };
}

/** Run the Inspector CLI against `mcpUrl` with the demo token; parse its JSON output. */
async function inspect(mcpUrl: string, home: string, args: string[]) {
  const { stdout, stderr } = await runInspector(mcpUrl, home, args);
  const parsed = JSON.parse(stdout) as {
    result: Record<string, unknown>;
    schemaFindings?: { toolName: string; findings: unknown[] }[];
  };
  return { ...parsed, stderr };
}

Deno.test("MCP Inspector CLI: tools/list and tools/call with a bearer header, both eras", async () => {
  const h = startHarness();
  const home = await Deno.makeTempDir({ prefix: "mcp-inspector-" });
  try {
    const listed = await inspect(h.mcpUrl, home, ["--method", "tools/list", "--strict"]);
    // The strict lint (type arrays, untyped or boolean schemas, remote $refs): 0 errors,
    // 0 warnings. Findings would be in the envelope and, as a report, on stderr.
    assert.deepEqual(listed.schemaFindings ?? [], []);
    assert.doesNotMatch(listed.stderr, /(Error|Warning): tool "|\d+ warnings? across/);
    const tools = listed.result.tools as {
      name: string;
      inputSchema: { type: string };
      annotations: Record<string, unknown>;
    }[];
    assert.deepEqual(tools.map((t) => t.name), TOOLS.map((t) => t.name));
    for (const tool of TOOLS) {
      const seen = tools.find((t) => t.name === tool.name)!;
      assert.equal(seen.inputSchema.type, "object");
      assert.deepEqual(seen.annotations, { title: tool.title, ...tool.annotations }, tool.name);
    }

    for (const era of ["legacy", "modern"]) {
      h.server.app.rates.clear();
      h.fake.reset();
      const called = await inspect(h.mcpUrl, home, [
        "--protocol-era",
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "get_sms_rates",
        "--tool-arg",
        "country=LT",
      ]);
      const result = called.result as {
        isError?: boolean;
        structuredContent: { country: string; country_name: string; rates: unknown[] };
        content: { type: string; text: string }[];
      };
      assert.notEqual(result.isError, true, era);
      assert.equal(result.structuredContent.country, "LT", era);
      assert.equal(result.structuredContent.country_name, "Lithuania", era);
      assert.ok(result.structuredContent.rates.length > 0, era);
      assert.deepEqual(JSON.parse(result.content[0]!.text), result.structuredContent, era);
      assert.equal(h.fake.count("GET /rates", DEMO_TOKENS.full), 1, `${era}: VertexSMS was asked`);
    }
  } finally {
    await h.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("MCP Inspector CLI: skills/list --verify passes every skill and file, both eras", async () => {
  const h = startHarness();
  const home = await Deno.makeTempDir({ prefix: "mcp-inspector-" });
  const logger = new Logger("error", () => {});
  const offered = await new Skills(SKILL_FILES, TOOLS.map((t) => t.name), logger).offered();
  try {
    for (const era of ["legacy", "modern"]) {
      const { stdout, stderr } = await runInspector(h.mcpUrl, home, [
        "--protocol-era",
        era,
        "--method",
        "skills/list",
        "--verify",
      ]);
      // One JSON report per skill, one line each.
      const reports = stdout.trim().split("\n").map((line) => JSON.parse(line)) as {
        name: string;
        ok: boolean;
        outcome: string;
        conformance: unknown[];
        files: { status: string }[];
      }[];
      assert.deepEqual(reports.map((r) => r.name), offered, era);
      for (const report of reports) {
        assert.ok(report.ok && report.outcome === "verified", `${era}: ${report.name}`);
        assert.deepEqual(report.conformance, [], `${era}: ${report.name}`);
        assert.ok(report.files.length >= 2 && report.files.every((f) => f.status === "verified"));
      }
      assert.match(stderr, /no conformance errors/, era);
    }
  } finally {
    await h.close();
    await Deno.remove(home, { recursive: true });
  }
});
