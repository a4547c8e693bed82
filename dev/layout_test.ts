/**
 * The layout keeps its shape: the folders are layers, imports point one way,
 * and what `main.ts` loads (and a fresh machine downloads to run it) holds no
 * test, fake, development tool or benchmark.
 *
 * The import graph comes from `deno info --json`, type-only imports included,
 * over every TypeScript file of the project at once. The MCP endpoint
 * (`server/mcp.ts` and its parts in `server/mcp/`), the HTTP app
 * (`server/app.ts`, `server/services.ts`, `server/routes/`) and the Redis
 * state (`state/redis*.ts`) stay split: their functions are measured on
 * Deno's own syntax tree (`Deno.lint.runPlugin`).
 */
import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import devConfig from "../dev.json" with { type: "json" };
import { PLATFORM_VARIABLES, VARIABLES } from "../core/config.ts";
import { DEV_CONFIG, ROOT } from "../testing/process.ts";

/** Runtime folders, top to bottom, and the folders each may import (besides itself). */
const LAYERS: Record<string, readonly string[]> = {
  "main.ts": ["server", "tools", "state", "core"],
  server: ["tools", "money", "services", "vertex", "state", "core"],
  tools: ["money", "services", "vertex", "core"],
  money: ["state", "core"],
  services: ["vertex", "state", "core"],
  vertex: ["core"],
  state: ["core"],
  core: [],
};

/** The MCP endpoint's files: the assembly and its parts. */
const ENDPOINT = /^server\/mcp(\.ts|\/[^/]+\.ts)$/;
/** The HTTP app's files: the assembly, what it owns, its routes. */
const APP = /^server\/(app\.ts|services\.ts|routes\/[^/]+\.ts)$/;
/** The Redis state's files: opening it, its connections, store, mailboxes and vault. */
const REDIS = /^state\/redis(_[a-z]+)?\.ts$/;
/** Lines a file of a split module may hold: one sitting's reading. */
const FILE_BUDGET = 250;
/** Lines a function (declaration, method or closure, nested ones included) may span. */
const FUNCTION_BUDGET = 60;

/** Folders of tests and tools: they may import anything; nothing of the runtime imports them. */
const TOOLING = new Set(["testing", "conformance", "reliability", "dev", "bench"]);

interface Module {
  specifier: string;
  dependencies?: {
    specifier: string;
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

interface Info {
  modules: Module[];
  npmPackages: Record<string, unknown>;
}

async function projectFiles(dir = ROOT): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory && !entry.name.startsWith(".") && entry.name !== "node_modules") {
      out.push(...await projectFiles(`${path}/`));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push(path);
    }
  }
  return out;
}

async function denoInfo(entry: string, config?: string): Promise<Info> {
  const args = ["info", "--json", ...(config ? ["--config", config] : []), entry];
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Project-relative path of a `file:` specifier inside the project, else undefined. */
function local(specifier: string): string | undefined {
  const prefix = `file://${ROOT}`;
  return specifier.startsWith(prefix) ? specifier.slice(prefix.length) : undefined;
}

/** The project's own import edges (code and type-only), from one graph of every file. */
async function projectGraph(): Promise<Map<string, Set<string>>> {
  const dir = await Deno.makeTempDir({ prefix: "layout-" });
  try {
    const all = `${dir}/all.ts`;
    const files = await projectFiles();
    await Deno.writeTextFile(all, files.map((f) => `import "file://${f}";\n`).join(""));
    const info = await denoInfo(all, DEV_CONFIG);
    const graph = new Map<string, Set<string>>();
    for (const module of info.modules) {
      const from = local(module.specifier);
      if (from === undefined || !from.endsWith(".ts")) continue;
      const to = new Set<string>();
      for (const dep of module.dependencies ?? []) {
        for (const target of [dep.code?.specifier, dep.type?.specifier]) {
          const path = target && local(target);
          if (path?.endsWith(".ts")) to.add(path);
        }
      }
      graph.set(from, to);
    }
    assert.equal(graph.size, files.length, "every project file is in the graph");
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const folderOf = (path: string) => path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
const isTestCode = (path: string) => /_(test|bench)\.ts$/.test(path);

/** Every import cycle of `graph`, as "a → b → a". */
function findCycles(graph: Map<string, Set<string>>): string[] {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) visit(file, []);
  return cycles;
}

/** Every edge of `graph` from a runtime layer to a folder it may not import. */
function layerViolations(graph: Map<string, Set<string>>): string[] {
  const wrong: string[] = [];
  for (const [from, targets] of graph) {
    const layer = folderOf(from);
    if (TOOLING.has(layer)) continue;
    const allowed = LAYERS[layer];
    if (!allowed) {
      wrong.push(`${from}: outside the known layers`);
      continue;
    }
    for (const to of targets) {
      const target = folderOf(to);
      if (target === layer) continue;
      if (isTestCode(from) && (target === "testing" || allowed.includes(target))) continue;
      if (!allowed.includes(target)) wrong.push(`${from} → ${to}`);
    }
  }
  return wrong;
}

/** Each function of `source` longer than `budget` lines, as "file:line: N lines". */
function longFunctions(file: string, source: string, budget: number): string[] {
  const long: string[] = [];
  const measure = (node: Deno.lint.Node) => {
    const [start, end] = node.range;
    const lines = source.slice(start, end).split("\n").length;
    const line = source.slice(0, start).split("\n").length;
    if (lines > budget) long.push(`${file}:${line}: ${lines} lines`);
  };
  const plugin: Deno.lint.Plugin = {
    name: "layout",
    rules: {
      "function-length": {
        create: () => ({
          FunctionDeclaration: measure,
          FunctionExpression: measure,
          ArrowFunctionExpression: measure,
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, file, source);
  return long;
}

/** Files above {@link FILE_BUDGET} lines, and functions above {@link FUNCTION_BUDGET}. */
function oversized(files: Map<string, string>): string[] {
  const wrong: string[] = [];
  for (const [file, source] of files) {
    const lines = source.trimEnd().split("\n").length;
    if (lines > FILE_BUDGET) wrong.push(`${file}: ${lines} lines`);
    wrong.push(...longFunctions(file, source, FUNCTION_BUDGET));
  }
  return wrong;
}

const graph = await projectGraph();

Deno.test("no import cycle among the project's files, type-only imports included", () => {
  assert.deepEqual(findCycles(graph), []);
});

Deno.test("each layer imports only the layers below it; nothing of the runtime imports tooling", () => {
  const edges = [...graph.values()].reduce((n, targets) => n + targets.size, 0);
  assert.ok(edges > 100, `the graph has the project's imports (${edges})`);
  assert.deepEqual(layerViolations(graph), []);
});

Deno.test("the checks report what they exist for: a cycle, an edge upwards, tooling in the runtime", () => {
  const sample = new Map([
    ["tools/a.ts", new Set(["server/app.ts", "core/errors.ts"])],
    ["server/app.ts", new Set(["tools/a.ts", "testing/harness.ts"])],
    ["money/guards_test.ts", new Set(["testing/harness.ts", "state/kv.ts"])],
    ["core/errors.ts", new Set<string>()],
    ["testing/harness.ts", new Set(["server/app.ts"])],
  ]);
  assert.deepEqual(findCycles(sample), [
    "server/app.ts → tools/a.ts → server/app.ts",
    "testing/harness.ts → server/app.ts → testing/harness.ts",
  ]);
  assert.deepEqual(layerViolations(sample), [
    "tools/a.ts → server/app.ts",
    "server/app.ts → testing/harness.ts",
  ]);
});

/** The project's files (tests left out) whose path matches `pattern`, with their text. */
async function sources(pattern: RegExp): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const file of graph.keys()) {
    if (pattern.test(file) && !isTestCode(file)) {
      files.set(file, await Deno.readTextFile(`${ROOT}${file}`));
    }
  }
  return files;
}

Deno.test("the MCP endpoint stays split: small files, no function doing six jobs", async () => {
  const files = await sources(ENDPOINT);
  assert.ok(
    files.has("server/mcp.ts") && files.size >= 5,
    `the endpoint's files: ${[...files.keys()]}`,
  );
  assert.deepEqual(oversized(files), []);
});

Deno.test("the HTTP app and the Redis state stay split: small files, no function doing six jobs", async () => {
  const app = await sources(APP);
  assert.ok(
    app.has("server/app.ts") && app.has("server/services.ts") && app.size >= 5,
    `the app's files: ${[...app.keys()]}`,
  );
  const redis = await sources(REDIS);
  assert.ok(
    redis.has("state/redis.ts") && redis.size >= 4,
    `the Redis state's files: ${[...redis.keys()]}`,
  );
  assert.deepEqual(oversized(new Map([...app, ...redis])), []);
});

Deno.test("the size check reports a long file and a long closure, nested or not", () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  x += ${i};`).join("\n");
  const long = `let x = 0;\nexport function f() {\n${body(70)}\n}\n`;
  const nested = `const g = () => {\n  const h = (y: number) => {\n${
    body(FUNCTION_BUDGET)
  }\n    return y;\n  };\n  return h;\n};\n`;
  const fine = `export function k() {\n${body(10)}\n}\n`;
  assert.deepEqual(
    oversized(new Map([["a.ts", long], ["b.ts", nested], ["c.ts", fine], ["d.ts", body(300)]])),
    ["a.ts:2: 72 lines", "b.ts:1: 66 lines", "b.ts:2: 63 lines", "d.ts: 300 lines"],
  );
});

Deno.test("main.ts loads no test, fake, development tool or benchmark, and only runtime packages", async () => {
  const info = await denoInfo("main.ts");
  const files = info.modules.map((m) => local(m.specifier)).filter((p) => p !== undefined);
  assert.ok(files.includes("server/app.ts") && files.includes("tools/sms.ts"));
  const tooling = files.filter((f) => TOOLING.has(folderOf(f)) || isTestCode(f));
  assert.deepEqual(tooling, []);
  const packages = packagesOf(info);
  for (const name of RUNTIME) assert.ok(packages.includes(name), `${name} is locked`);
  assert.ok(packages.length <= 10, `deno.lock holds ${packages.length} packages: ${packages}`);
});

/** The runtime packages: deno.json's imports, by name. */
const RUNTIME = Object.values(denoConfig.imports).map((s) => s.slice(4).replace(/@[^@]+$/, ""));

/** Package names of a graph: "name@version", or "name@version_peer@version" with a peer. */
const packagesOf = (info: Info) =>
  Object.keys(info.npmPackages).map((p) => /^(@?[^@]+)@/.exec(p)![1]!).sort();

Deno.test("the demo loads the server and the fake only: deno.json's lockfile, no test or dev tool", async () => {
  // A first `deno task dev` fetches what its configuration locks: deno.json's, not dev.json's.
  assert.doesNotMatch(denoConfig.tasks.dev, /--config/, "`deno task dev` runs with deno.json");
  const info = await denoInfo("dev/dev.ts");
  const files = info.modules.map((m) => local(m.specifier)).filter((p) => p !== undefined);
  assert.ok(files.includes("server/app.ts") && files.includes("testing/fake/mod.ts"));
  const tools = files.filter((f) =>
    isTestCode(f) || ["conformance", "reliability", "bench"].includes(folderOf(f)) ||
    (folderOf(f) === "dev" && f !== "dev/dev.ts") ||
    (folderOf(f) === "testing" && !f.startsWith("testing/fake/") && f !== "testing/process.ts")
  );
  assert.deepEqual(tools, []);
  const packages = packagesOf(info);
  assert.deepEqual(
    packages.filter((p) => !RUNTIME.includes(p) && p !== "@modelcontextprotocol/core"),
    [],
  );
  assert.ok(packages.length <= 10, `the demo needs ${packages.length} packages: ${packages}`);
  // And deno.lock, frozen, holds all of them.
  const cached = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--frozen", "dev/dev.ts"],
    cwd: ROOT,
  }).output();
  assert.equal(cached.code, 0, new TextDecoder().decode(cached.stderr));
});

Deno.test("dev.json repeats deno.json's imports, compiler options and unstable flags exactly", () => {
  const devImports = devConfig.imports as Record<string, string>;
  for (const [name, spec] of Object.entries(denoConfig.imports)) {
    assert.equal(devImports[name], spec, `${name} in dev.json`);
  }
  assert.deepEqual(devConfig.compilerOptions, denoConfig.compilerOptions);
  assert.deepEqual(devConfig.unstable, denoConfig.unstable);
  assert.equal(denoConfig.lock.path, "./deno.lock");
  assert.equal(devConfig.lock.path, "./dev.lock");
  assert.ok(denoConfig.lock.frozen && devConfig.lock.frozen, "both lockfiles frozen");
});

Deno.test("`deno task start` may read exactly the variables the server reads", () => {
  const flag = /--allow-env=(\S+)/.exec(denoConfig.tasks.start)?.[1];
  assert.ok(flag, "the start task narrows --allow-env");
  assert.deepEqual(
    flag.split(",").sort(),
    [...Object.keys(VARIABLES), ...PLATFORM_VARIABLES].sort(),
    "run `deno task readme` to regenerate the start task",
  );
});
