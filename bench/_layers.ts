import process from "node:process";
import { Server, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { createApp } from "../server/app.ts";
import { loadConfig } from "../server/config.ts";
import { Logger } from "../server/log.ts";
import { TOOLS } from "../tools/mod.ts";
import { startFake } from "../conformance/fake/mod.ts";
import { Hono } from "hono";
const fake = startFake();
const config = { ...loadConfig({ VERTEXSMS_API_URL: fake.url, PORT: "8000" }) };
const app = createApp({ config, tools: TOOLS, logger: new Logger("info", () => {}), kv: null });
const headers = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
  Authorization: "Bearer demo-full-5f2c9a1e7b3d",
  Host: "localhost:8000",
  "MCP-Protocol-Version": "2025-11-25",
};
const body = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "get_sms_rates", arguments: { country: "LT" } },
  });
const info = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
} as unknown as Deno.ServeHandlerInfo;
const hono = new Hono();
hono.post("/mcp", (c) => c.json({ ok: true }));
const variants: Record<string, (i: number) => Promise<void>> = {
  full: async (i) => {
    const r = await app.fetch(
      new Request("http://localhost:8000/mcp", { method: "POST", headers, body: body(i) }),
      info,
    );
    await r.text();
  },
  bareHono: async (i) => {
    const r = await hono.fetch(
      new Request("http://localhost:8000/mcp", { method: "POST", headers, body: body(i) }),
    );
    await r.text();
  },
  sdkOnly: async (i) => {
    const req = new Request("http://localhost:8000/mcp", {
      method: "POST",
      headers,
      body: body(i),
    });
    const parsed = await req.json();
    const s = new Server({ name: "x", version: "1" }, { capabilities: { tools: {} } });
    s.setRequestHandler(
      "tools/call",
      () => ({
        content: [{ type: "text", text: '{"country":"LT"}' }],
        structuredContent: { country: "LT" },
      }),
    );
    const t = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await s.connect(t);
    const r = await t.handleRequest(req, { parsedBody: parsed });
    await r.text();
  },
};
for (const [name, fn] of Object.entries(variants)) for (let i = 0; i < 3000; i++) await fn(i);
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const N = 8000;
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await fn(i);
    const c1 = process.cpuUsage(c0);
    console.log(round, name.padEnd(10), ((c1.user + c1.system) / N).toFixed(1), "us cpu/req");
  }
}
await fake.shutdown();
Deno.exit(0);
