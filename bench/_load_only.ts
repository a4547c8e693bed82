import { load } from "/work/wt/issue6/bench/load.ts";
const [url, era, secs, conc] = [
  Deno.args[0]!,
  Deno.args[1] ?? "2025",
  Number(Deno.args[2] ?? 8),
  Number(Deno.args[3] ?? 10),
];
const headers: Record<string, string> = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
  Authorization: "Bearer demo-full-5f2c9a1e7b3d",
  "MCP-Protocol-Version": era === "2026" ? "2026-07-28" : "2025-11-25",
};
if (era === "2026") {
  headers["Mcp-Method"] = "tools/call";
  headers["Mcp-Name"] = "get_sms_rates";
}
const meta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "b", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};
const r = await load(
  {
    url,
    headers,
    body: (id) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: {
          name: "get_sms_rates",
          arguments: { country: "LT" },
          ...(era === "2026" ? { _meta: meta } : {}),
        },
      }),
    check: (s, b) => s === 200 && b.includes('"LT"') ? "ok" : "wrong",
  },
  conc,
  secs,
);
console.log(JSON.stringify(r));
