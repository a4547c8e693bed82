/**
 * Running the official MCP conformance runner (`@modelcontextprotocol/conformance`,
 * server mode) against this server, as `conformance/official_test.ts` (the
 * 0.1 line, 2025 scenarios) and `conformance/official_2026_test.ts` (the 0.2
 * line, `--spec-version 2026-07-28`) do.
 *
 * The runner sends no `Authorization` header, so it talks to a loopback proxy
 * that adds the demo token and passes `Host` and `Origin` through untouched;
 * the proxy is the server's `PUBLIC_URL`, as a reverse proxy in front of a
 * deployment is. Each baseline is a JSON file in `conformance/official/`:
 * scenarios that must pass, and the expected failures with a one-line reason
 * each — a scenario name, or `scenario:check-id` for a single check (the
 * runner's YAML baseline takes both). The runner gets the failures as its
 * baseline, so it fails on an unexpected failure and on a stale entry; the
 * tests check the same from the runner's per-check results.
 */
import assert from "node:assert/strict";
import devConfig from "../dev.json" with { type: "json" };
import { DEMO_TOKENS, type Harness, startHarness } from "./harness.ts";
import { devProgram } from "./process.ts";
import { startHeaderProxy } from "./proxy.ts";

/** A baseline file of `conformance/official/`. */
export interface Baseline {
  /** The runner and how it is run, for readers. */
  runner: string;
  /** Scenarios that must pass in full. */
  must_pass: string[];
  notes?: Record<string, string>;
  /** `scenario` or `scenario:check-id` → why it is expected to fail. */
  expected_failures: Record<string, string>;
}

/** One check of a scenario, as the runner writes it to `checks.json`. */
export interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
  details?: Record<string, unknown>;
}

/** `server-<scenario>-<ISO timestamp with dashes>` → scenario name. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Read a baseline and check that every reason is one readable line. */
export async function loadBaseline(url: URL): Promise<Baseline> {
  const baseline = JSON.parse(await Deno.readTextFile(url)) as Baseline;
  for (const [entry, reason] of Object.entries(baseline.expected_failures)) {
    assert.ok(reason.length > 10 && !reason.includes("\n"), `${entry} has a one-line reason`);
    assert.match(entry, /^[a-z0-9-]+(:[a-z0-9-]+)?$/, `${entry} is a scenario or scenario:check`);
  }
  return baseline;
}

/** The runner's YAML baseline for the server side (an empty list when nothing may fail). */
export function baselineYaml(baseline: Baseline): string {
  const entries = Object.keys(baseline.expected_failures);
  return entries.length === 0
    ? "server: []\n"
    : `server:\n${entries.map((s) => `  - ${s}\n`).join("")}`;
}

/** A failing check, as the runner's baseline counts them. */
const failed = (c: Check) => c.status === "FAILURE" || c.status === "WARNING";

/**
 * The runner's verdict in baseline vocabulary: a scenario listed whole is
 * reported whole when any of its checks fails; a scenario with per-check
 * entries reports each failing check as `scenario:check-id`; any other
 * scenario is reported whole when it fails (an unexpected failure).
 */
export function failures(results: Map<string, Check[]>, baseline: Baseline): string[] {
  const entries = Object.keys(baseline.expected_failures);
  const whole = new Set(entries.filter((e) => !e.includes(":")));
  const perCheck = new Set(entries.filter((e) => e.includes(":")).map((e) => e.split(":")[0]));
  const out: string[] = [];
  for (const [scenario, checks] of results) {
    const failing = checks.filter(failed);
    if (failing.length === 0) continue;
    if (!whole.has(scenario) && perCheck.has(scenario)) {
      out.push(...failing.map((c) => `${scenario}:${c.id}`));
    } else {
      out.push(scenario);
    }
  }
  return [...new Set(out)].sort();
}

/** Scenarios with no failing check. */
export function passing(results: Map<string, Check[]>): string[] {
  return [...results].filter(([, checks]) => !checks.some(failed)).map(([s]) => s).sort();
}

/**
 * Print a run's outcome and assert it against its baseline: the runner wrote
 * results, every must-pass scenario passed, the failures are exactly the
 * expected ones, and the runner itself accepted the baseline.
 */
export function assertBaseline(run: Run, baseline: Baseline, label: string): void {
  const { results, summary } = run;
  const passed = passing(results);
  const failing = failures(results, baseline);
  console.log(`${label}: ${results.size} scenarios in ${run.seconds} s`);
  console.log(`  passed (${passed.length}): ${passed.join(", ")}`);
  console.log(`  expected failures (${failing.length}): ${failing.join(", ")}`);

  assert.ok(
    results.size >= baseline.must_pass.length,
    `the runner wrote its results:\n${run.stdout}`,
  );
  for (const scenario of baseline.must_pass) {
    assert.ok(passed.includes(scenario), `${scenario} passes:\n${summary}`);
  }
  assert.deepEqual(
    failing,
    Object.keys(baseline.expected_failures).sort(),
    "failures match the baseline",
  );
  assert.equal(run.code, 0, `the runner accepts the baseline:\n${summary}`);
}

/** A finished run of the runner. */
export interface Run {
  results: Map<string, Check[]>;
  /** The runner's exit code (0: the baseline held). */
  code: number;
  stdout: string;
  /** From `=== SUMMARY ===` on, for assertion messages. */
  summary: string;
  seconds: string;
  /** The harness behind the proxy (still running until `close`). */
  harness: Harness;
  /** `http://127.0.0.1:<port>` of the server itself, without the proxy. */
  direct: string;
  close(): Promise<void>;
}

/**
 * Run one runner pinned in `dev.json` in server mode against a fresh server
 * behind the proxy: once per argument list of `runs` (each its own process,
 * one after the other, against the same server), with their results merged.
 */
export async function runOfficial(
  program: keyof typeof devConfig.imports,
  runs: string[][],
  baseline: Baseline,
): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-conformance-" });
  const yaml = `${dir}/baseline.yml`;
  await Deno.writeTextFile(yaml, baselineYaml(baseline));
  const proxy = startHeaderProxy({ Authorization: `Bearer ${DEMO_TOKENS.full}` });
  const harness = startHarness({ env: { PUBLIC_URL: proxy.url } });
  const direct = `http://127.0.0.1:${harness.server.addr.port}`;
  proxy.target = direct;
  const close = async () => {
    await proxy.shutdown();
    await harness.close();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    const started = performance.now();
    const results = new Map<string, Check[]>();
    let code = 0;
    let stdout = "";
    for (const [i, args] of runs.entries()) {
      const out = `${dir}/results-${i}`;
      const run = await runOnce(program, [`${proxy.url}/mcp`, ...args], yaml, out);
      code ||= run.code;
      stdout += run.stdout;
      for (const [scenario, checks] of await readResults(out)) {
        assert.ok(!results.has(scenario), `${scenario} ran once`);
        results.set(scenario, checks);
      }
    }
    return {
      results,
      code,
      stdout,
      summary: stdout.slice(stdout.indexOf("=== SUMMARY ===")),
      seconds: ((performance.now() - started) / 1000).toFixed(1),
      harness,
      direct,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One runner process: `--url` and `args`, the baseline, results written to `out`. */
async function runOnce(
  program: keyof typeof devConfig.imports,
  [url, ...args]: string[],
  yaml: string,
  out: string,
): Promise<{ code: number; stdout: string }> {
  const run = await new Deno.Command(Deno.execPath(), {
    args: devProgram(
      program,
      "server",
      "--url",
      url!,
      ...args,
      "--expected-failures",
      yaml,
      "--output-dir",
      out,
    ),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    // Bounded: the first run on a clean machine also downloads the runner.
    signal: AbortSignal.timeout(240_000),
  }).output();
  const written = await Deno.stat(out).then(() => true, () => false);
  if (!written) console.error(new TextDecoder().decode(run.stderr));
  return { code: run.code, stdout: new TextDecoder().decode(run.stdout) };
}

/**
 * The checks of each scenario the runner wrote to `dir` (none when it wrote
 * nothing; a scenario it skipped as not applicable has a folder but no checks).
 */
async function readResults(dir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  const written = await Deno.stat(dir).then(() => true, () => false);
  for await (const entry of written ? Deno.readDir(dir) : []) {
    const scenario = RESULT_DIR.exec(entry.name)?.[1];
    if (!entry.isDirectory || !scenario) continue;
    const text = await Deno.readTextFile(`${dir}/${entry.name}/checks.json`).catch(() => null);
    if (text !== null) results.set(scenario, JSON.parse(text));
  }
  return results;
}
