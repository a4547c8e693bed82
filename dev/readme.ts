/**
 * The documentation's generated tables: tools, scopes, errors and
 * configuration in the README, toolset URLs in docs/clients.md, and both
 * official conformance runners' scenarios in docs/conformance.md, rendered from
 * the declarations and baselines (never kept by hand). `deno task readme`
 * rewrites them; `readme_test.ts` fails when a page disagrees.
 */
import { PLATFORM_VARIABLES, VARIABLES } from "../core/config.ts";
import { CATALOG } from "../core/errors.ts";
import { Toolsets } from "../server/toolsets.ts";
import { ALL_SCOPES, SCOPES, TOOLS } from "../tools/mod.ts";
import official from "../conformance/official/expected_failures.json" with { type: "json" };
import official2026 from "../conformance/official/expected_failures_2026.json" with {
  type: "json",
};

const yesNo = (b: boolean) => (b ? "yes" : "no");
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The tool table. */
export function toolTable(): string {
  const rows = TOOLS.map((t) => {
    const a = t.annotations;
    return `| \`${t.name}\` | \`${t.scope}\` | ${yesNo(t.billable)} | ${
      [a.readOnlyHint, a.destructiveHint, a.idempotentHint, a.openWorldHint].map(yesNo).join(" / ")
    } | ${cell(t.title)} |`;
  });
  return [
    "| tool | scope | billable | read-only / destructive / idempotent / open-world | title |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** The scope table. */
export function scopeTable(): string {
  const rows = Object.entries(SCOPES).map(([scope, text]) => {
    const tools = TOOLS.filter((t) => t.scope === scope).map((t) => `\`${t.name}\``).join(", ");
    return `| \`${scope}\` | ${text} | ${tools} |`;
  });
  return ["| scope | consent text | tools |", "| --- | --- | --- |", ...rows].join("\n");
}

/** The error catalog. */
export function errorTable(): string {
  const rows = Object.entries(CATALOG).map(([code, e]) => {
    const retry = "retryableNote" in e ? e.retryableNote : yesNo(e.retryable);
    return `| \`${code}\` | ${cell(e.form)} | ${cell(retry)} | ${cell(e.when)} |`;
  });
  return ["| code | form | retryable | when |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The configuration table. */
export function configTable(): string {
  const rows = Object.entries(VARIABLES).map(([name, v]) =>
    `| \`${name}\` | ${
      v.default === undefined ? "(derived)" : v.default === "" ? "(empty)" : `\`${v.default}\``
    } | ${cell(v.meaning)} |`
  );
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

/** A conformance baseline: scenarios that must pass, then the expected failures. */
function baselineTable(
  baseline: { must_pass: string[]; expected_failures: Record<string, string> },
): string {
  const rows = [
    ...baseline.must_pass.map((s) => `| \`${s}\` | passes (required) | |`),
    ...Object.entries(baseline.expected_failures).map(([s, why]) =>
      `| \`${s}\` | expected failure | ${cell(why)} |`
    ),
  ];
  return ["| scenario or check | result | why |", "| --- | --- | --- |", ...rows].join("\n");
}

/** The 0.1 runner's 2025 scenarios. */
export function officialTable(): string {
  return baselineTable(official);
}

/** The 0.2 runner's 2026-07-28 scenarios (and single checks). */
export function official2026Table(): string {
  return baselineTable(official2026);
}

/** The toolset URLs: every tool, the read-only ones, and one per scope. */
export function toolsetTable(): string {
  const toolsets = new Toolsets(TOOLS);
  const paths = ["/mcp", "/mcp/readonly", ...ALL_SCOPES.map((s) => `/mcp/x/${s}`)];
  const rows = paths.map((path) => {
    const set = toolsets.forPath(path);
    if (!set) throw new Error(`no toolset at ${path}`);
    const tools = set.tools.map((t) => `\`${t.name}\``).join(", ");
    return `| \`${path}\` | ${tools} | ${set.scopes.map((s) => `\`${s}\``).join(" ")} |`;
  });
  return ["| URL path | tools | scopes it asks for |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Every generated block, by marker name. */
export const BLOCKS: Record<string, () => string> = {
  tools: toolTable,
  scopes: scopeTable,
  toolsets: toolsetTable,
  errors: errorTable,
  config: configTable,
  official: officialTable,
  "official-2026": official2026Table,
};

/** Which page (a path from the repository root) holds which generated blocks. */
export const PAGES: Record<string, string[]> = {
  "README.md": ["tools", "scopes", "errors", "config"],
  "docs/clients.md": ["toolsets"],
  "docs/conformance.md": ["official", "official-2026"],
};

/** Replace each named `<!-- generated:name -->…<!-- /generated:name -->` block of a page. */
export function render(page: string, names: string[], where = "the page"): string {
  let out = page;
  for (const name of names) {
    const make = BLOCKS[name];
    if (!make) throw new Error(`no generated table is called ${name}`);
    const pattern = new RegExp(
      `(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`,
    );
    if (!pattern.test(out)) throw new Error(`${where} has no generated:${name} block`);
    out = out.replace(pattern, (_all, open, close) => `${open}\n\n${make()}\n\n${close}`);
  }
  return out;
}

/** Table rows with cell padding removed, so `deno fmt`'s alignment does not matter. */
export function normalizeTables(text: string): string {
  return text.split("\n").map((line) =>
    line.startsWith("|")
      ? line.split(/(?<!\\)\|/).map((c) => c.trim().replace(/^-+$/, "-")).join("|")
      : line
  ).join("\n");
}

/** The repository root. */
export const ROOT = new URL("../", import.meta.url);

/** `deno.json`'s location. */
export const DENO_JSON = new URL("../deno.json", import.meta.url);

/** `deno task start` with `--allow-env` narrowed to the variables the server reads. */
export function startTask(current: string): string {
  const env = [...Object.keys(VARIABLES), ...PLATFORM_VARIABLES].join(",");
  return current.replace(/--allow-env(=\S*)?/, `--allow-env=${env}`);
}

if (import.meta.main) {
  const changed: string[] = [];
  for (const [path, names] of Object.entries(PAGES)) {
    const file = new URL(path, ROOT);
    const before = await Deno.readTextFile(file);
    const after = render(before, names, path);
    await Deno.writeTextFile(file, after);
    if (normalizeTables(before) !== normalizeTables(after)) changed.push(path);
  }
  const config = JSON.parse(await Deno.readTextFile(DENO_JSON));
  const start = startTask(config.tasks.start);
  if (start !== config.tasks.start) {
    config.tasks.start = start;
    await Deno.writeTextFile(DENO_JSON, `${JSON.stringify(config, null, 2)}\n`);
    console.log("deno.json: the start task's --allow-env rewritten");
  }
  const files = Object.keys(PAGES).map((path) => new URL(path, ROOT).pathname);
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...files, DENO_JSON.pathname],
  }).output();
  console.log(
    changed.length
      ? `tables rewritten in ${changed.join(", ")}`
      : "generated tables already current",
  );
}
