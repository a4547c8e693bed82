import process from "node:process";
import { createApp } from "../server/app.ts";
import { loadConfig } from "../server/config.ts";
import { Logger } from "../server/log.ts";
import { TOOLS } from "../tools/mod.ts";
import { startFake } from "../conformance/fake/mod.ts";
const fake = startFake();
const era = Deno.args[0] ?? "2025";
const tool = Deno.args[1] ?? "get_sms_rates";
const N = Number(Deno.args[2] ?? 20000);
const config = { ...loadConfig({ VERTEXSMS_API_URL: fake.url, PORT: "8000" }) };
const app = createApp({
  config,
  tools: TOOLS,
  logger: new Logger("info", (l) => {
    if (l.length === 0) console.log(l);
  }),
  kv: null,
});
const headers: Record<string, string> = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
  Authorization: "Bearer demo-full-5f2c9a1e7b3d",
  Host: "localhost:8000",
  "MCP-Protocol-Version": era === "2026" ? "2026-07-28" : "2025-11-25",
};
const meta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "b", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};
const isList = tool === "list";
if (era === "2026") {
  headers["Mcp-Method"] = isList ? "tools/list" : "tools/call";
  if (!isList) headers["Mcp-Name"] = tool;
}
const body = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: isList ? "tools/list" : "tools/call",
    params: {
      ...(isList ? {} : { name: tool, arguments: { country: "LT" } }),
      ...(era === "2026" ? { _meta: meta } : {}),
    },
  });
const info = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
} as unknown as Deno.ServeHandlerInfo;
async function one(i: number) {
  const b = body(i);
  const res = await app.fetch(
    new Request("http://localhost:8000/mcp", {
      method: "POST",
      headers: { ...headers, "Content-Length": String(new TextEncoder().encode(b).length) },
      body: b,
    }),
    info,
  );
  const t = await res.text();
  if (res.status !== 200 || t.includes("isError")) throw new Error(t.slice(0, 300));
}
for (let i = 0; i < 2000; i++) await one(i);
const c0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < N; i++) await one(i);
const c1 = process.cpuUsage(c0);
const t1 = performance.now();
console.log(JSON.stringify(Deno.memoryUsage()));
console.log(
  `${era} ${tool}: cpu ${((c1.user + c1.system) / N).toFixed(1)} us/req, wall ${
    ((t1 - t0) * 1000 / N).toFixed(1)
  } us/req`,
);
await fake.shutdown();
Deno.exit(0);
