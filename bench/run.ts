/**
 * `deno task bench`: starts everything it needs on loopback (the floor, the
 * fake VertexSMS, this server, the reference `server-everything` on Node),
 * runs bounded load with autocannon, prints a table with pass/fail targets
 * and writes the same numbers to `bench/results/latest.json`.
 *
 *   deno task bench                 # 10 s per run after a 2 s warm-up
 *   deno task bench --seconds 3     # quicker, noisier
 *
 * Servers are pinned to core 0 and the load generator (this process) to
 * core 1 when `taskset` is available and the machine has two cores or more.
 */
import { DEMO_TOKENS } from "../testing/fake/tokens.ts";
import { devPackage, freePort } from "../testing/process.ts";
import manifest from "../deno.json" with { type: "json" };
import { load, type LoadResult, type Scenario } from "./load.ts";

const args = Deno.args;
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = arg("seconds", 10);
const WARMUP = arg("warmup", 2);
const CONCURRENCY = [1, 10, 50];
const ROOT = new URL("..", import.meta.url).pathname;
const TOKEN = DEMO_TOKENS.full;
const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";

// ---------------------------------------------------------------------------
// processes

const cores = navigator.hardwareConcurrency;
const canPin = cores >= 2 && await run(["taskset", "-V"]).then((r) => r.success, () => false);

async function run(cmd: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd[0]!, { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
}

const children: Deno.ChildProcess[] = [];

/** Spawn a server pinned to core 0 and wait until its port accepts connections. */
async function spawn(cmd: string[], port: number, env: Record<string, string> = {}) {
  const full = canPin ? ["taskset", "-c", "0", ...cmd] : cmd;
  const child = new Deno.Command(full[0]!, {
    args: full.slice(1),
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "inherit",
    cwd: ROOT,
  }).spawn();
  children.push(child);
  for (let i = 0; i < 600; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`${cmd.join(" ")} did not listen on ${port}`);
}

async function stop(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
}

function peakRssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

const DENO = Deno.execPath();
/** Exactly what `deno task start` runs (its flags included), with this Deno. */
const serverCmd = [DENO, ...manifest.tasks.start.split(" ").slice(1)];
/**
 * The server's environment: the fake upstream, no Deno KV (state in process),
 * and the per-token send throttles off — a benchmark sends far more than 20
 * SMS a minute from one token, and the throttles would (rightly) refuse them.
 */
const serverEnv = (port: number, fake: number, extra: Record<string, string> = {}) => ({
  PORT: String(port),
  VERTEXSMS_API_URL: `http://127.0.0.1:${fake}`,
  KV_PATH: "off",
  SMS_SENDS_PER_MINUTE: "0",
  SMS_RECIPIENTS_PER_HOUR: "0",
  ...extra,
});

// ---------------------------------------------------------------------------
// scenarios

const jsonHeaders = {
  "Content-Type": "application/json",
  "Accept": "application/json, text/event-stream",
  "Authorization": `Bearer ${TOKEN}`,
};

function rpcBody(era: "2025" | "2026", method: string, params: Record<string, unknown>) {
  return (id: number) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      method,
      params: era === "2026"
        ? {
          ...params,
          _meta: {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1.0.0" },
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        }
        : params,
    });
}

function eraHeaders(era: "2025" | "2026", method: string, name?: string) {
  return era === "2026"
    ? {
      ...jsonHeaders,
      "MCP-Protocol-Version": MODERN,
      "Mcp-Method": method,
      ...(name ? { "Mcp-Name": name } : {}),
    }
    : { ...jsonHeaders, "MCP-Protocol-Version": LEGACY };
}

type Check = (result: Record<string, unknown>) => boolean;

function rpcCheck(check: Check): Scenario["check"] {
  return (status, body) => {
    if (status !== 200) return "wrong";
    try {
      const parsed = JSON.parse(body);
      const result = parsed.result;
      if (!result) return "wrong";
      if (result.isError) return "tool-error";
      return check(result) ? "ok" : "wrong";
    } catch {
      return "wrong";
    }
  };
}

function toolCall(
  base: string,
  era: "2025" | "2026",
  name: string,
  args: Record<string, unknown>,
  check: Check,
): Scenario {
  return {
    url: `${base}/mcp`,
    headers: eraHeaders(era, "tools/call", name),
    body: rpcBody(era, "tools/call", { name, arguments: args }),
    check: rpcCheck(check),
  };
}

const ratesOk: Check = (r) =>
  (r.structuredContent as { country?: string; rates?: unknown[] })?.country === "LT" &&
  ((r.structuredContent as { rates: unknown[] }).rates.length === 4);
const sentOk: Check = (r) => (r.structuredContent as { status?: string })?.status === "sent";

function toolsList(base: string, era: "2025" | "2026", expected: number): Scenario {
  return {
    url: `${base}/mcp`,
    headers: eraHeaders(era, "tools/list"),
    body: rpcBody(era, "tools/list", {}),
    check: rpcCheck((r) => (r.tools as unknown[])?.length === expected),
  };
}

// ---------------------------------------------------------------------------
// the run

interface Row extends LoadResult {
  scenario: string;
  era: string;
}

const rows: Row[] = [];

async function measure(scenario: string, era: string, s: Scenario, connections: number) {
  if (WARMUP > 0) await load(s, connections, WARMUP);
  const result = await load(s, connections, SECONDS);
  const row = { scenario, era, ...result };
  rows.push(row);
  console.log(
    `${scenario.padEnd(22)} ${era.padEnd(5)} c=${String(connections).padEnd(3)} ` +
      `${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(2)}  p90 ${
        result.p90.toFixed(2)
      }  p99 ${result.p99.toFixed(2)} ms  ok ${result.ok}  isError ${result.toolErrors}  ` +
      `wrong ${result.wrongBodies}  non2xx ${result.non2xx}  errors ${result.errors}`,
  );
  if (result.sample) console.log(`  first failure: ${result.sample}`);
  return row;
}

if (canPin) await run(["taskset", "-a", "-p", "-c", "1", String(Deno.pid)]);
console.log(
  `bench: ${SECONDS}s per run after ${WARMUP}s warm-up; ${cores} cores; pinned: ${canPin}`,
);

const ports = { floor: freePort(), fake: freePort(), cached: freePort(), uncached: freePort() };
const floor = await spawn(
  [DENO, "run", "--allow-net", "bench/floor.ts", String(ports.floor)],
  ports.floor,
);
// The fake shares core 1 with the load generator: the server under test has core 0 alone.
const fakeChild = await spawn(
  [DENO, "run", "-A", "bench/fake_server.ts", String(ports.fake)],
  ports.fake,
);
if (canPin) await run(["taskset", "-a", "-p", "-c", "1", String(fakeChild.pid)]);
const cached = await spawn(serverCmd, ports.cached, serverEnv(ports.cached, ports.fake));
const uncached = await spawn(
  serverCmd,
  ports.uncached,
  serverEnv(ports.uncached, ports.fake, { RATES_CACHE_TTL_SECONDS: "0" }),
);
const base = (port: number) => `http://127.0.0.1:${port}`;

for (const c of CONCURRENCY) {
  await measure("floor: Deno.serve JSON", "-", {
    url: `${base(ports.floor)}/`,
    body: (id) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }),
    headers: { "Content-Type": "application/json" },
    check: (status, body) => (status === 200 && body.includes('"ok":true') ? "ok" : "wrong"),
  }, c);
  await measure("floor: fake GET /rates", "-", {
    url: `${base(ports.fake)}/rates/?format=json`,
    method: "GET",
    headers: { "X-VertexSMS-Token": TOKEN, Accept: "application/json" },
    check: (status, body) => (status === 200 && body.startsWith("[") ? "ok" : "wrong"),
  }, c);
}
for (const era of ["2025", "2026"] as const) {
  for (const c of CONCURRENCY) {
    await measure(
      "get_sms_rates cached",
      era,
      toolCall(base(ports.cached), era, "get_sms_rates", { country: "LT" }, ratesOk),
      c,
    );
    await measure(
      "get_sms_rates uncached",
      era,
      toolCall(base(ports.uncached), era, "get_sms_rates", { country: "LT" }, ratesOk),
      c,
    );
    await measure(
      "send_sms",
      era,
      toolCall(base(ports.cached), era, "send_sms", {
        to: "+37069912345",
        from: "Bench",
        message: "Benchmark message",
      }, sentOk),
      c,
    );
    await measure("tools/list", era, toolsList(base(ports.cached), era, 10), c);
  }
}

// Peak RSS: a fresh server, three consecutive runs at concurrency 50 (the peak after each).
const afterAll = peakRssMiB(cached.pid);
await Promise.all([stop(uncached), stop(cached)]);
const rssPort = freePort();
const rssServer = await spawn(serverCmd, rssPort, serverEnv(rssPort, ports.fake));
const rss: number[] = [];
for (let i = 0; i < 3; i++) {
  await load(
    toolCall(base(rssPort), "2025", "get_sms_rates", { country: "LT" }, ratesOk),
    50,
    SECONDS,
  );
  rss.push(peakRssMiB(rssServer.pid));
}
await stop(rssServer);
console.log(
  `peak RSS: ${rss.map((r) => r.toFixed(0)).join(" / ")} MiB over three c50 runs; ` +
    `${afterAll.toFixed(0)} MiB for the server that ran every scenario above`,
);

// Tool count: the same server with 10 and with 40 tools.
const scaling: Record<string, number> = {};
for (const extra of [0, 30]) {
  const port = freePort();
  const child = await spawn(
    [
      DENO,
      "run",
      "-A",
      ...serverCmd.filter((a) => a.startsWith("--v8-flags")),
      "bench/dummy_tools.ts",
      String(extra),
    ],
    port,
    serverEnv(port, ports.fake),
  );
  const row = await measure(
    `rates with ${10 + extra} tools`,
    "2025",
    toolCall(base(port), "2025", "get_sms_rates", { country: "LT" }, ratesOk),
    50,
  );
  scaling[String(10 + extra)] = row.rps;
  await stop(child);
}

// Cold start: process start to first successful tools/call (median of 7).
const coldStarts: number[] = [];
for (let i = 0; i < 8; i++) {
  const port = freePort();
  const started = performance.now();
  const full = canPin ? ["taskset", "-c", "0", ...serverCmd] : serverCmd;
  const child = new Deno.Command(full[0]!, {
    args: full.slice(1),
    env: { NO_COLOR: "1", ...serverEnv(port, ports.fake) },
    stdout: "null",
    stderr: "null",
    cwd: ROOT,
  }).spawn();
  const call = toolCall(base(port), "2025", "get_sms_rates", { country: "LT" }, ratesOk);
  for (;;) {
    try {
      const res = await fetch(call.url, {
        method: "POST",
        headers: call.headers,
        body: call.body!(1),
      });
      if (call.check(res.status, await res.text()) === "ok") break;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  if (i > 0) coldStarts.push(performance.now() - started); // the first run warms Deno's caches
  await stop(child);
}
coldStarts.sort((a, b) => a - b);
const coldStart = coldStarts[Math.floor(coldStarts.length / 2)] as number;

// The reference: server-everything on Node, in Streamable HTTP mode, one session.
const reference = await startReference();
if (reference) {
  for (const c of CONCURRENCY) {
    await measure("reference: everything echo", "2025", reference.scenario, c);
  }
  await stop(reference.child);
}

await Promise.all([stop(floor), stop(fakeChild)]);

// ---------------------------------------------------------------------------
// targets

const find = (scenario: string, era: string, c: number) =>
  rows.find((r) => r.scenario === scenario && r.era === era && r.connections === c);

interface Target {
  name: string;
  value: string;
  pass: boolean;
}
const targets: Target[] = [];
const ref50 = find("reference: everything echo", "2025", 50);
const floor1 = find("floor: Deno.serve JSON", "-", 1)!;
for (const era of ["2025", "2026"]) {
  const cached50 = find("get_sms_rates cached", era, 50)!;
  const cached1 = find("get_sms_rates cached", era, 1)!;
  if (ref50) {
    const ratio = cached50.rps / ref50.rps;
    targets.push({
      name: `${era}: cached rates ≥ 2× reference echo (c50)`,
      value: `${ratio.toFixed(2)}×`,
      pass: ratio >= 2,
    });
  }
  const d50 = cached1.p50 - floor1.p50;
  const d90 = cached1.p90 - floor1.p90;
  targets.push({
    name: `${era}: c1 p50 over floor ≤ 0.3 ms`,
    value: `${d50.toFixed(3)} ms`,
    pass: d50 <= 0.3,
  });
  targets.push({
    name: `${era}: c1 p90 over floor ≤ 1 ms`,
    value: `${d90.toFixed(3)} ms`,
    pass: d90 <= 1,
  });
  targets.push({
    name: `${era}: cached rates p99 ≤ 40 ms (c50)`,
    value: `${cached50.p99.toFixed(2)} ms`,
    pass: cached50.p99 <= 40,
  });
  const list50 = find("tools/list", era, 50)!;
  const listRatio = list50.rps / cached50.rps;
  targets.push({
    name: `${era}: tools/list ≥ 0.8× tools/call (c50)`,
    value: `${listRatio.toFixed(2)}×`,
    pass: listRatio >= 0.8,
  });
}
targets.push({
  name: "cold start ≤ 200 ms (median of 7)",
  value: `${coldStart.toFixed(0)} ms`,
  pass: coldStart <= 200,
});
const rssMax = Math.max(...rss);
targets.push({
  name: "peak RSS ≤ 150 MiB at c50, flat over 3 runs",
  value: rss.map((r) => r.toFixed(0)).join(" / ") + " MiB",
  pass: rssMax <= 150 && rssMax - rss[0]! <= 0.1 * rss[0]!,
});
const scale = scaling["40"]! / scaling["10"]!;
targets.push({
  name: "tools/call with 40 vs 10 tools within 10 %",
  value: `${(scale * 100).toFixed(1)} %`,
  pass: Math.abs(1 - scale) <= 0.1,
});
const clean = rows.every((r) =>
  r.toolErrors === 0 && r.wrongBodies === 0 && r.non2xx === 0 && r.errors === 0
);
targets.push({ name: "every response body correct", value: clean ? "all" : "NO", pass: clean });

console.log("\n| target | measured | |\n| --- | --- | --- |");
for (const t of targets) console.log(`| ${t.name} | ${t.value} | ${t.pass ? "pass" : "FAIL"} |`);

const cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown";
const report = {
  date: new Date().toISOString(),
  machine: { cpu, cores, pinned: canPin, deno: Deno.version.deno, v8: Deno.version.v8 },
  server: manifest.version,
  secondsPerRun: SECONDS,
  warmupSeconds: WARMUP,
  runs: rows,
  peakRssMiB: rss,
  peakRssAllScenariosMiB: afterAll,
  coldStartMs: { median: coldStart, samples: coldStarts },
  toolCountRps: scaling,
  targets,
};
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/latest.json", import.meta.url),
  JSON.stringify(report, null, 2),
);
console.log("\nwrote bench/results/latest.json");
Deno.exit(targets.every((t) => t.pass) ? 0 : 1);

// ---------------------------------------------------------------------------

async function startReference(): Promise<
  { child: Deno.ChildProcess; scenario: Scenario } | undefined
> {
  const spec = devPackage("@modelcontextprotocol/server-everything");
  const version = spec.split("@").pop()!;
  const prefix = `${Deno.env.get("HOME")}/.cache/vertexsms-mcp/bench-reference-${version}`;
  const entry = `${prefix}/node_modules/@modelcontextprotocol/server-everything/dist/index.js`;
  try {
    Deno.statSync(entry);
  } catch {
    console.log(`installing server-everything ${version} into ${prefix}`);
    const out = await run([
      "npm",
      "install",
      "--silent",
      "--no-audit",
      "--no-fund",
      "--prefix",
      prefix,
      `@modelcontextprotocol/server-everything@${version}`,
    ]);
    if (!out.success) {
      console.log("reference: npm install failed; skipping the reference runs");
      return undefined;
    }
  }
  const port = freePort();
  const child = await spawn(["node", entry, "streamableHttp"], port, { PORT: String(port) });
  const url = `${base(port)}/mcp`;
  const headers = {
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
  };
  const init = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: LEGACY,
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    }),
  });
  const session = init.headers.get("mcp-session-id")!;
  await init.body?.cancel();
  const sessionHeaders = { ...headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY };
  const ack = await fetch(url, {
    method: "POST",
    headers: sessionHeaders,
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await ack.body?.cancel();
  return {
    child,
    scenario: {
      url,
      headers: sessionHeaders,
      body: (id) =>
        JSON.stringify({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "echo", arguments: { message: "hello" } },
        }),
      check: (status, body) => {
        if (status !== 200) return "wrong";
        // Skip the empty priming event; the result is the last data line.
        const data = body.split("\n").filter((l) => l.startsWith("data: {")).pop();
        try {
          const result = JSON.parse((data ?? body).replace(/^data: /, "")).result;
          if (result?.isError) return "tool-error";
          return result?.content?.[0]?.text === "Echo: hello" ? "ok" : "wrong";
        } catch {
          return "wrong";
        }
      },
    },
  };
}
