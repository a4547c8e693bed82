/**
 * `deno task bench`: starts everything it needs on loopback, runs bounded
 * load with autocannon, prints a table with pass/fail targets and writes the
 * same numbers to `bench/results/latest.json`.
 *
 *   deno task bench                 # 10 s per run after a 2 s warm-up
 *   deno task bench --seconds 3     # quicker, noisier
 *
 * What runs, each server pinned to core 0 and the load generator (this
 * process) to core 1 when `taskset` exists and there are two cores:
 * - the floor: a bare `Deno.serve` answering a small JSON body;
 * - the fake VertexSMS (sharing core 1: the server under test has core 0);
 * - this server, exactly as `deno task start` runs it (its flags included);
 * - the SDK alone (`sdk_floor.ts`: what any server pays that routes every
 *   message through the SDK), as shipped and with this server's fix;
 * - the reference, `@modelcontextprotocol/server-everything`'s `echo`, on
 *   Deno and on Node.
 * Then `bench/per_request.ts` (CPU time and allocation per request, in
 * process).
 */
import manifest from "../deno.json" with { type: "json" };
import { DEMO_TOKENS } from "../testing/fake/tokens.ts";
import {
  devPackage,
  devProgram,
  freePort,
  type Listening,
  ROOT,
  spawnListening,
} from "../testing/process.ts";
import { load, type LoadResult } from "./load.ts";
import {
  batchScenario,
  type Era,
  type McpScenario,
  rpcCheck,
  type Scenario,
  scenarios,
  statusScenario,
} from "./scenarios.ts";
import { TOOLS } from "../tools/mod.ts";

const args = Deno.args;
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = arg("seconds", 10);
const WARMUP = arg("warmup", 2);
const CONCURRENCY = [1, 10, 50];
const TOKEN = DEMO_TOKENS.full;
const DENO = Deno.execPath();
const base = (port: number) => `http://127.0.0.1:${port}`;

// ---------------------------------------------------------------------------
// processes

const cores = navigator.hardwareConcurrency;
const canPin = cores >= 2 &&
  await new Deno.Command("taskset", { args: ["-V"], stdout: "null", stderr: "null" }).output()
    .then((r) => r.success, () => false);

/** Pin a process (all its threads) to one core. */
async function pin(pid: number, core: number) {
  if (!canPin) return;
  await new Deno.Command("taskset", { args: ["-a", "-p", "-c", String(core), String(pid)] })
    .output();
}

/** Start a server on core 0 (through `taskset`, so every thread it starts stays there). */
function serve(command: string[], port: number, env: Record<string, string> = {}) {
  const full = canPin ? ["taskset", "-c", "0", ...command] : command;
  return spawnListening(full[0]!, { args: full.slice(1), port, env, cwd: ROOT });
}

/** The CPU time a process has used so far, in µs (all its threads; from /proc). */
function cpuMicros(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, 100 per second
  return ticks * 10_000;
}

function peakRssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

/** Exactly what `deno task start` runs (its flags included), with this Deno. */
const serverCmd = [DENO, ...manifest.tasks.start.split(" ").slice(1)];
/**
 * The server's environment: the fake upstream, state in process, and the
 * per-token send throttles off — a benchmark sends far more than 20 SMS a
 * minute from one token, and the throttles would (rightly) refuse them.
 */
const serverEnv = (port: number, fake: number, extra: Record<string, string> = {}) => ({
  PORT: String(port),
  VERTEXSMS_API_URL: base(fake),
  KV_PATH: "off",
  SMS_SENDS_PER_MINUTE: "0",
  SMS_RECIPIENTS_PER_HOUR: "0",
  ...extra,
});

// ---------------------------------------------------------------------------
// measuring

interface Row extends LoadResult {
  scenario: string;
  era: string;
  /** The server's CPU time per request during the run (all its threads). */
  cpuUs: number;
}

const rows: Row[] = [];

async function measure(
  scenario: string,
  era: string,
  s: Scenario,
  connections: number,
  server: { pid: number },
): Promise<Row> {
  if (WARMUP > 0) await load(s, connections, WARMUP);
  const before = cpuMicros(server.pid);
  const result = await load(s, connections, SECONDS);
  const cpuUs = (cpuMicros(server.pid) - before) / Math.max(1, result.requests);
  const row = { scenario, era, cpuUs, ...result };
  rows.push(row);
  console.log(
    `${scenario.padEnd(28)} ${era.padEnd(5)} c=${String(connections).padEnd(3)} ` +
      `${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)}  p99 ${
        result.p99.toFixed(2)
      } ms  cpu ${cpuUs.toFixed(0)} µs/req  ok ${result.ok}  isError ${result.toolErrors}  ` +
      `wrong ${result.wrongBodies}  non2xx ${result.non2xx}  errors ${result.errors}`,
  );
  if (result.sample) console.log(`  first failure: ${result.sample}`);
  return row;
}

const find = (scenario: string, era: string, c: number) =>
  rows.find((r) => r.scenario === scenario && r.era === era && r.connections === c);

// ---------------------------------------------------------------------------
// the run

await pin(Deno.pid, 1);
console.log(
  `bench: ${SECONDS}s per run after ${WARMUP}s warm-up; ${cores} cores; pinned: ${canPin}`,
);

const ports = {
  floor: freePort(),
  fake: freePort(),
  cached: freePort(),
  uncached: freePort(),
  sender: freePort(),
};
const floor = await serve(
  [DENO, "run", "--allow-net", "bench/floor.ts", String(ports.floor)],
  ports.floor,
);
const fake = await spawnListening(DENO, {
  args: ["run", "--config", "dev.json", "-A", "bench/fake_server.ts", String(ports.fake)],
  port: ports.fake,
  cwd: ROOT,
});
await pin(fake.pid, 1);
const cached = await serve(serverCmd, ports.cached, serverEnv(ports.cached, ports.fake));
const uncached = await serve(
  serverCmd,
  ports.uncached,
  serverEnv(ports.uncached, ports.fake, { RATES_CACHE_TTL_SECONDS: "0" }),
);
// Sends on a server of their own: what they leave behind does not weigh on the reads.
const sender = await serve(serverCmd, ports.sender, serverEnv(ports.sender, ports.fake));

for (const c of CONCURRENCY) {
  await measure(
    "floor: Deno.serve JSON",
    "-",
    {
      url: `${base(ports.floor)}/`,
      body: (id) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }),
      headers: { "Content-Type": "application/json" },
      check: (status, body) => (status === 200 && body.includes('"ok":true') ? "ok" : "wrong"),
    },
    c,
    floor,
  );
  await measure(
    "floor: fake GET /rates",
    "-",
    {
      url: `${base(ports.fake)}/rates/?format=json`,
      method: "GET",
      headers: { "X-VertexSMS-Token": TOKEN, Accept: "application/json" },
      check: (status, body) => (status === 200 && body.startsWith("[") ? "ok" : "wrong"),
    },
    c,
    fake,
  );
}
const BATCH_SIZE = 100;
const NAMES = {
  rates: "get_sms_rates cached",
  send: "send_sms",
  list: "tools/list",
  batch: `send_sms_batch of ${BATCH_SIZE}`,
} as const;
/** How many messages each `get_sms_status` call asks about. */
const STATUS_IDS = 10;

/** Send `n` SMS through the sender server and return their message ids. */
async function sendSome(port: number, era: Era, n: number): Promise<string[]> {
  const send = forEra(port, era).find((s) => s.what === "send")!;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(send.url, {
      method: "POST",
      headers: send.headers,
      body: send.body(i),
    });
    const text = await res.text();
    const data = text.startsWith("{") ? text : text.split("\n").find((l) => l.startsWith("data: "))
      ?.slice(6) ?? "";
    ids.push(JSON.parse(data).result.structuredContent.message_id);
  }
  return ids;
}
const forEra = (port: number, era: Era) =>
  scenarios(`${base(port)}/mcp`, TOKEN).filter((s) => s.era === era);
for (const era of ["2025", "2026"] as const) {
  const of = (port: number, what: McpScenario["what"]) =>
    forEra(port, era).find((s) => s.what === what)!;
  for (const c of CONCURRENCY) {
    await measure(NAMES.rates, era, of(ports.cached, "rates"), c, cached);
    await measure(NAMES.list, era, of(ports.cached, "list"), c, cached);
    await measure("get_sms_rates uncached", era, of(ports.uncached, "rates"), c, uncached);
    await measure(NAMES.send, era, of(ports.sender, "send"), c, sender);
    // The statuses of messages just sent (the ledger of the server that sent them).
    const ids = await sendSome(ports.sender, era, STATUS_IDS);
    const status = statusScenario(`${base(ports.sender)}/mcp`, TOKEN, era, ids);
    await measure(`get_sms_status (${STATUS_IDS} ids)`, era, status, c, sender);
  }
}
// One batch at a time: 100 POST /sms each, at most 5 in flight (after the other rows: each batch
// leaves 100 delivery reports coming back to the sender).
for (const era of ["2025", "2026"] as const) {
  const batch = batchScenario(`${base(ports.sender)}/mcp`, TOKEN, era, BATCH_SIZE);
  await measure(NAMES.batch, era, batch, 1, sender);
}
const afterAll = peakRssMiB(cached.pid);
await Promise.all([uncached.stop(), cached.stop(), sender.stop()]);

// Peak RSS: a fresh server, three consecutive runs at concurrency 50 (the peak after each).
const rssPort = freePort();
const rssServer = await serve(serverCmd, rssPort, serverEnv(rssPort, ports.fake));
const rss: { mib: number; rps: number }[] = [];
for (let i = 0; i < 3; i++) {
  const rates = forEra(rssPort, "2025").find((s) => s.what === "rates")!;
  const result = await load(rates, 50, SECONDS);
  rss.push({ mib: peakRssMiB(rssServer.pid), rps: result.rps });
}
await rssServer.stop();
console.log(
  `peak RSS: ${rss.map((r) => r.mib.toFixed(0)).join(" / ")} MiB over three c50 runs (${
    rss.map((r) => r.rps.toFixed(0)).join(" / ")
  } req/s); ${afterAll.toFixed(0)} MiB for the server that ran the cached reads above`,
);

// Tool count: the same server with its own tools and with 30 more.
const scaling: Record<string, number> = {};
const OWN = TOOLS.length;
for (const extra of [0, 30]) {
  const port = freePort();
  const child = await serve(
    [DENO, "run", "-A", "bench/dummy_tools.ts", String(extra)],
    port,
    serverEnv(port, ports.fake),
  );
  const rates = forEra(port, "2025").find((s) => s.what === "rates")!;
  const row = await measure(`rates with ${OWN + extra} tools`, "2025", rates, 50, child);
  scaling[String(OWN + extra)] = row.rps;
  await child.stop();
}

// Cold start: process start to the first successful tools/call (median of 7).
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
  const call = forEra(port, "2025").find((s) => s.what === "rates")!;
  for (;;) {
    try {
      const res = await fetch(call.url, {
        method: "POST",
        headers: call.headers,
        body: call.body(1),
      });
      if (call.check(res.status, await res.text()) === "ok") break;
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  if (i > 0) coldStarts.push(performance.now() - started); // the first run warms Deno's caches
  child.kill("SIGTERM");
  await child.status;
}
coldStarts.sort((a, b) => a - b);
const coldStart = coldStarts[Math.floor(coldStarts.length / 2)] as number;

// The SDK alone, as shipped and with this server's fix, at c=50.
for (const fixed of [false, true]) {
  const port = freePort();
  const child = await serve(
    [DENO, "run", "--config", "dev.json", "-A", "bench/sdk_floor.ts", String(port)],
    port,
    fixed ? { SDK_PATCH: "1" } : {},
  );
  for (const s of scenarios(`${base(port)}/mcp`, TOKEN).filter((s) => s.what === "rates")) {
    await measure(
      fixed ? "SDK alone, with the fix" : "SDK alone",
      s.era,
      sdkFloorScenario(s),
      50,
      child,
    );
  }
  await child.stop();
}

// The reference: server-everything's echo, one session, on Deno and on Node.
for (const runtime of ["deno", "node"] as const) {
  const reference = await startReference(runtime);
  if (!reference) continue;
  for (const c of CONCURRENCY) {
    await measure(
      `reference on ${runtime === "deno" ? "Deno" : "Node"}: echo`,
      "2025",
      reference.scenario,
      c,
      reference.child,
    );
  }
  await reference.child.stop();
}

await Promise.all([floor.stop(), fake.stop()]);

// ---------------------------------------------------------------------------
// targets

interface Target {
  name: string;
  value: string;
  pass: boolean;
}
const targets: Target[] = [];
const refDeno = find("reference on Deno: echo", "2025", 50);
const refNode = find("reference on Node: echo", "2025", 50);
const cached50 = (era: Era) => find(NAMES.rates, era, 50)!;
for (const era of ["2025", "2026"] as const) {
  if (refDeno) {
    const ratio = cached50(era).rps / refDeno.rps;
    targets.push({
      name: `${era}: cached rates ≥ 3× the reference's echo on Deno (c50)`,
      value: `${ratio.toFixed(2)}×` +
        (refNode ? ` (${(cached50(era).rps / refNode.rps).toFixed(2)}× the one on Node)` : ""),
      pass: ratio >= 3,
    });
  }
}
const eraRatio = cached50("2026").rps / cached50("2025").rps;
targets.push({
  name: "cached rates: 2026 ≥ 0.95× 2025 (c50)",
  value: `${eraRatio.toFixed(2)}×`,
  pass: eraRatio >= 0.95,
});
for (const era of ["2025", "2026"] as const) {
  const ratio = find(NAMES.list, era, 50)!.rps / cached50(era).rps;
  targets.push({
    name: `${era}: tools/list ≥ 1.0× tools/call (c50)`,
    value: `${ratio.toFixed(2)}×`,
    pass: ratio >= 1,
  });
}
for (const era of ["2025", "2026"] as const) {
  targets.push({
    name: `${era}: cached rates p99 ≤ 25 ms (c50)`,
    value: `${cached50(era).p99.toFixed(2)} ms`,
    pass: cached50(era).p99 <= 25,
  });
}
for (const era of ["2025", "2026"] as const) {
  const batch = find(NAMES.batch, era, 1)!;
  targets.push({
    name: `${era}: ${NAMES.batch} recipients against the fake ≤ 2 s (p99, c1)`,
    value: `p50 ${batch.p50.toFixed(0)} ms, p99 ${batch.p99.toFixed(0)} ms`,
    pass: batch.p99 <= 2000,
  });
}
const rssMax = Math.max(...rss.map((r) => r.mib));
targets.push({
  name: "peak RSS ≤ 128 MiB at c50, flat over 3 runs",
  value: rss.map((r) => r.mib.toFixed(0)).join(" / ") + " MiB",
  pass: rssMax <= 128 && rssMax - rss[0]!.mib <= 0.1 * rss[0]!.mib,
});
targets.push({
  name: "cold start ≤ 120 ms (start → first tools/call, median of 7)",
  value: `${coldStart.toFixed(0)} ms`,
  pass: coldStart <= 120,
});
const floor1 = find("floor: Deno.serve JSON", "-", 1)!;
for (const era of ["2025", "2026"] as const) {
  const d50 = find(NAMES.rates, era, 1)!.p50 - floor1.p50;
  targets.push({
    name: `${era}: c1 cached rates p50 over the floor ≤ 0.3 ms`,
    value: `${d50.toFixed(3)} ms`,
    pass: d50 <= 0.3,
  });
}
const scale = scaling[String(OWN + 30)]! / scaling[String(OWN)]!;
targets.push({
  name: `tools/call with ${OWN + 30} vs ${OWN} tools within 10 %`,
  value: `${(scale * 100).toFixed(1)} %`,
  pass: Math.abs(1 - scale) <= 0.1,
});
const clean = rows.every((r) =>
  r.toolErrors === 0 && r.wrongBodies === 0 && r.non2xx === 0 && r.errors === 0
);
targets.push({ name: "every response body correct", value: clean ? "all" : "NO", pass: clean });

console.log("\n| target | measured | |\n| --- | --- | --- |");
for (const t of targets) console.log(`| ${t.name} | ${t.value} | ${t.pass ? "pass" : "FAIL"} |`);

// CPU time and allocation per request, in process (bench/per_request.ts).
const perRequest = await new Deno.Command(DENO, {
  args: ["run", "--config", "dev.json", "-A", "bench/per_request.ts"],
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
}).output();

const cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown";
const report = {
  date: new Date().toISOString(),
  machine: { cpu, cores, pinned: canPin, deno: Deno.version.deno, v8: Deno.version.v8 },
  server: manifest.version,
  secondsPerRun: SECONDS,
  warmupSeconds: WARMUP,
  runs: rows,
  peakRss: rss,
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
console.log("\nwrote bench/results/latest.json (and per_request.json)");
Deno.exit(targets.every((t) => t.pass) && perRequest.success ? 0 : 1);

// ---------------------------------------------------------------------------

/** The SDK floor answers a fixed tool result: a 200 with that result is its check. */
function sdkFloorScenario(s: McpScenario): Scenario {
  return { ...s, check: rpcCheck((r) => JSON.stringify(r).includes('"country":"LT"')) };
}

/** `server-everything` in Streamable HTTP mode with one initialized session. */
async function startReference(
  runtime: "deno" | "node",
): Promise<{ child: Listening; scenario: Scenario } | undefined> {
  const port = freePort();
  let command: string[];
  if (runtime === "deno") {
    command = [DENO, ...devProgram("@modelcontextprotocol/server-everything", "streamableHttp")];
  } else {
    const spec = devPackage("@modelcontextprotocol/server-everything");
    const version = spec.split("@").pop()!;
    const prefix = `${Deno.env.get("HOME")}/.cache/vertexsms-mcp/bench-reference-${version}`;
    const entry = `${prefix}/node_modules/@modelcontextprotocol/server-everything/dist/index.js`;
    try {
      Deno.statSync(entry);
    } catch {
      console.log(`installing server-everything ${version} into ${prefix}`);
      const out = await new Deno.Command("npm", {
        args: ["install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix, spec.slice(4)],
      }).output().catch(() => undefined);
      if (!out?.success) {
        console.log("reference on Node: npm install failed; skipping it");
        return undefined;
      }
    }
    command = ["node", entry, "streamableHttp"];
  }
  const child = await serve(command, port, { PORT: String(port) });
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
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    }),
  });
  const session = init.headers.get("mcp-session-id")!;
  await init.body?.cancel();
  const sessionHeaders = {
    ...headers,
    "Mcp-Session-Id": session,
    "MCP-Protocol-Version": "2025-11-25",
  };
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
