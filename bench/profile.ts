/**
 * Where a request's CPU time goes: runs `bench/per_request.ts` for one
 * scenario under V8's CPU profiler and sums the samples' own time by layer.
 *
 *   deno task bench:profile rates-2025        # or rates-2026, list-2025, …
 *   deno task bench:profile rates-2025 --keep # also keep the .cpuprofile (Chrome DevTools)
 *
 * Layers: the MCP SDK, zod (the SDK's message guards and our tool schemas),
 * Hono, this server's edge (`server/`), its tools and services, `core/`
 * (logging, keys), @noble/hashes (the token's HMAC), JSON encoding and
 * decoding, the rest of the Deno runtime, and the garbage collector. The
 * profile covers the warm-up and the timed rounds (the benchmark's own work
 * — building requests, reading and checking answers — is its own line).
 */
const scenario = Deno.args.find((a) => !a.startsWith("--")) ?? "rates-2025";
const keep = Deno.args.includes("--keep");
const dir = await Deno.makeTempDir({ prefix: "vertexsms-profile-" });
const run = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--config",
    new URL("../dev.json", import.meta.url).pathname,
    "--allow-all",
    "--cpu-prof",
    `--cpu-prof-dir=${dir}`,
    "--v8-flags=--expose-gc",
    new URL("./per_request.ts", import.meta.url).pathname,
    "--group",
    scenario.startsWith("sdk") ? (scenario.startsWith("sdk+fix") ? "sdk-fixed" : "sdk") : "server",
    scenario,
    "--timing-only",
  ],
  stdout: "null",
  stderr: "piped",
}).output();
if (!run.success) throw new Error(new TextDecoder().decode(run.stderr));
const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".cpuprofile"))!.name;

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
}
const profile: { nodes: Node[]; samples: number[]; timeDeltas: number[] } = JSON.parse(
  await Deno.readTextFile(`${dir}/${file}`),
);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

/** The layer a function belongs to, from its name and script. */
function layer({ functionName: fn, url }: Node["callFrame"]): string {
  if (fn === "(garbage collector)") return "garbage collector";
  if (fn === "(idle)") return "(idle)";
  if (/serializeJSValueToJSONString|^stringify$|^parse$|JSON/.test(fn) && !url.includes("npm")) {
    return "JSON encoding and decoding";
  }
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (npm?.startsWith("@modelcontextprotocol/")) return "MCP SDK";
  if (npm === "zod") return "zod";
  if (npm === "hono") return "Hono";
  if (npm === "@noble/hashes") return "@noble/hashes (token HMAC)";
  if (npm) return `npm:${npm}`;
  const ours = /\/(server|tools|services|money|vertex|state|core|bench|testing)\/[^/]+(?:\/[^/]+)?$/
    .exec(url);
  if (ours) {
    const folder = ours[1]!;
    if (folder === "server") return "this server: edge (server/)";
    if (folder === "core") return "this server: core/ (logging, keys)";
    if (folder === "bench" || folder === "testing") return "the benchmark itself";
    return "this server: tools, services";
  }
  if (url.startsWith("ext:") || url.startsWith("node:")) {
    return "Deno runtime (HTTP, fetch, streams)";
  }
  return "V8 and Deno (native, compiling)";
}

const totals = new Map<string, number>();
let busy = 0;
profile.samples.forEach((id, i) => {
  const name = layer(byId.get(id)!.callFrame);
  if (name === "(idle)") return;
  const dt = profile.timeDeltas[i]!;
  busy += dt;
  totals.set(name, (totals.get(name) ?? 0) + dt);
});
console.log(
  `${scenario}: where the CPU time goes (samples' own time, ${(busy / 1000).toFixed(0)} ms busy)\n`,
);
console.log("| layer | share |\n| --- | ---: |");
for (const [name, t] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`| ${name} | ${(t / busy * 100).toFixed(1)} % |`);
}
if (keep) console.log(`\nprofile: ${dir}/${file}`);
else await Deno.remove(dir, { recursive: true });
