/**
 * What one request costs inside the process, without sockets or a load
 * generator: CPU time and allocation per request, for this server (the app
 * `main.ts` serves, in-memory state, the fake VertexSMS in process) and for
 * the SDK alone (`sdk_floor.ts`, as shipped and with this server's fix).
 *
 *   deno task bench:request                      # every scenario
 *   deno task bench:request rates-2025 sdk-rates-2025
 *   HEAP_PROFILE_DIR=/tmp/heap deno task bench:request rates-2026   # + .heapprofile files
 *
 * - **CPU µs**: this process's CPU time (all its threads, the garbage
 *   collector's included) per request, 50 requests in flight, after a
 *   warm-up; the quickest of 5 rounds of 2,000 (other tenants of the machine
 *   only ever add).
 * - **KiB, objects**: V8's sampling heap profiler over 3,000 more requests
 *   (a sample every 128 bytes on average, objects the collector already
 *   freed included), scaled up the way V8 does.
 *
 * Each group runs in its own process (the fix is applied process-wide).
 * Timed rounds check each response cheaply (a full parse of a 20 KB tool
 * list would be timed with the server); the warm-up and the allocation
 * rounds check every response in full. The server's log lines go to
 * /dev/null, as a collector would take them.
 */
import { Session } from "node:inspector";
import { cpuUsage } from "node:process";
import { loadConfig } from "../core/config.ts";
import { Logger, stdoutSink } from "../core/log.ts";
import { createApp } from "../server/mod.ts";
import { patchSdk } from "../server/sdk_patches.ts";
import { memoryState } from "../state/mod.ts";
import { DEMO_TOKENS, startFake } from "../testing/fake/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import { scenarios } from "./scenarios.ts";
import { handler as sdkFloor } from "./sdk_floor.ts";

const HOST = "127.0.0.1:8000";
const IN_FLIGHT = 50;
const WARM_UP = 3_000;
const ROUNDS = 5;
const PER_ROUND = 2_000;
const SAMPLED = 3_000;
/** Where to write each scenario's sampled allocations (`.heapprofile`, for Chrome DevTools). */
const PROFILE_DIR = Deno.env.get("HEAP_PROFILE_DIR");
/** Mean bytes between two sampled allocations. */
const INTERVAL = 128;

/** The three groups, each measured in a process of its own. */
const GROUPS = {
  server: "",
  sdk: "sdk-",
  "sdk-fixed": "sdk+fix-",
} as const;
type Group = keyof typeof GROUPS;

/** One measured scenario. */
interface Row {
  id: string;
  cpuUs: number;
  kib: number;
  objects: number;
}

const ROW = "per-request-row ";

if (Deno.args[0] === "--group") {
  // `--timing-only`: no allocation rounds (for `bench/profile.ts`).
  const rest = Deno.args.slice(2);
  await measureGroup(
    Deno.args[1] as Group,
    new Set(rest.filter((a) => a !== "--timing-only")),
    !rest.includes("--timing-only"),
  );
  Deno.exit(0);
}

const wanted = Deno.args;
const rows: Row[] = [];
for (const group of Object.keys(GROUPS) as Group[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("../dev.json", import.meta.url).pathname,
      "--allow-all",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      "--group",
      group,
      ...wanted,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffered += chunk.value;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith(ROW)) {
        console.error(line);
        continue;
      }
      const row: Row = JSON.parse(line.slice(ROW.length));
      rows.push(row);
      console.log(format(row));
    }
  }
  if (!(await child.status).success) throw new Error(`the ${group} group failed`);
}
console.log(
  `\nper request, ${IN_FLIGHT} in flight, Deno ${Deno.version.deno}\n\n` +
    "| scenario | CPU µs | KiB | objects |\n| --- | ---: | ---: | ---: |\n" +
    rows.map(format).join("\n"),
);
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/per_request.json", import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), deno: Deno.version.deno, rows }, null, 2),
);

function format(row: Row): string {
  return `| ${row.id} | ${row.cpuUs.toFixed(1)} | ${row.kib.toFixed(1)} | ${
    row.objects.toFixed(0)
  } |`;
}

async function measureGroup(
  group: Group,
  only: ReadonlySet<string>,
  sampleAllocations: boolean,
): Promise<void> {
  const fake = startFake();
  // The server is called in process, not on its port: no delivery report could reach it.
  fake.inject({ kind: "no-report" });
  let fetch: (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;
  if (group === "server") {
    const app = createApp({
      config: loadConfig({
        PORT: "8000",
        VERTEXSMS_API_URL: fake.url,
        KV_PATH: "off",
        SMS_SENDS_PER_MINUTE: "0",
        SMS_RECIPIENTS_PER_HOUR: "0",
      }),
      tools: TOOLS,
      logger: new Logger("info", stdoutSink()),
      state: memoryState(),
    });
    await app.ready();
    fetch = async (request, info) => await app.fetch(request, info);
  } else {
    if (group === "sdk-fixed") patchSdk();
    fetch = sdkFloor;
  }
  const info = {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
    completed: Promise.resolve(),
  } as Deno.ServeHandlerInfo<Deno.NetAddr>;
  const encoder = new TextEncoder();
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

  for (const s of scenarios(`http://${HOST}/mcp`, DEMO_TOKENS.full)) {
    const id = GROUPS[group] + s.id;
    if (group !== "server" && s.what === "send") continue;
    if (only.size > 0 && !only.has(id)) continue;
    let full = true;
    const send = async (n: number) => {
      const body = s.body(n + 1);
      const res = await fetch(
        new Request(s.url, {
          method: "POST",
          // As over HTTP: a client sends Host and Content-Length.
          headers: {
            ...s.headers,
            Host: HOST,
            "Content-Length": String(encoder.encode(body).length),
          },
          body,
        }),
        info,
      );
      const text = await res.text();
      // The SDK floor answers a fixed result: HTTP 200 with a JSON-RPC result is its check.
      const ok = full && group === "server"
        ? s.check(res.status, text) === "ok"
        : res.status === 200 && text.includes('"result"') && !text.includes('"isError":true');
      if (!ok) throw new Error(`${id}: ${res.status} ${text.slice(0, 300)}`);
    };
    await drive(send, WARM_UP); // JIT, caches, the rates table
    fake.reset(); // the fake's request log
    full = false;
    const rounds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      gc();
      const started = cpuUsage();
      await drive(send, PER_ROUND);
      const used = cpuUsage(started);
      rounds.push((used.user + used.system) / PER_ROUND);
      fake.reset();
    }
    full = true;
    gc();
    const alloc = sampleAllocations
      ? await allocations(id, send)
      : { kib: Number.NaN, objects: Number.NaN };
    const row: Row = { id, cpuUs: Math.min(...rounds), ...alloc };
    console.error(ROW + JSON.stringify(row));
  }
  await fake.shutdown();
}

async function drive(send: (n: number) => Promise<void>, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Bytes and objects allocated per request, from V8's sampled allocations. */
async function allocations(id: string, send: (n: number) => Promise<void>) {
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<object | undefined>((resolve, reject) =>
      session.post(method, params, (e, r) => e ? reject(e) : resolve(r))
    );
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: Deno.env.get("PROMOTED") !== "1",
  });
  await drive(send, SAMPLED);
  const { profile } = await post("HeapProfiler.stopSampling") as {
    profile: { samples: { size: number }[] };
  };
  if (PROFILE_DIR) {
    await Deno.mkdir(PROFILE_DIR, { recursive: true });
    await Deno.writeTextFile(`${PROFILE_DIR}/${id}.heapprofile`, JSON.stringify(profile));
  }
  await post("HeapProfiler.disable");
  session.disconnect();
  let bytes = 0;
  let objects = 0;
  for (const sample of profile.samples) {
    // A sample of `size` bytes stands for 1 / P(sampled) allocations of that size.
    const weight = 1 / (1 - Math.exp(-sample.size / INTERVAL));
    bytes += sample.size * weight;
    objects += weight;
  }
  return { kib: bytes / SAMPLED / 1024, objects: objects / SAMPLED };
}
