/**
 * The SDK alone: a bare `Deno.serve` that hands each request to the SDK the
 * way `server/mcp.ts` does (per-request low-level `Server`; the 2025 era
 * through a stateless JSON transport, 2026-07-28 through `createMcpHandler`)
 * with one tool answering a fixed result. What it costs is what any server
 * routing every message through the SDK pays.
 * `deno run --config dev.json --allow-net bench/sdk_floor.ts <port>`
 */
import {
  createMcpHandler,
  isLegacyRequest,
  Server,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { patchSdk } from "../server/sdk_patches.ts";

const result = {
  content: [{ type: "text" as const, text: '{"country":"LT"}' }],
  structuredContent: { country: "LT" },
};
// `SDK_PATCH=1`: with the fix this server carries (server/sdk_patches.ts).
if (Deno.env.get("SDK_PATCH")) patchSdk();
const factory = () => {
  const server = new Server({ name: "floor", version: "1.0.0" }, {
    capabilities: { tools: { listChanged: false } },
  });
  server.setRequestHandler("tools/list", () => ({ tools: [] }));
  server.setRequestHandler("tools/call", () => result);
  return server;
};
const modern = createMcpHandler(factory, { legacy: "reject" });
/** One request, as `server/mcp.ts` hands it to the SDK. */
export async function handler(request: Request): Promise<Response> {
  const body = await request.json();
  if (await isLegacyRequest(request, body)) {
    const server = factory();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    return await transport.handleRequest(request, { parsedBody: body });
  }
  return await modern.fetch(request, { parsedBody: body });
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 0);
  Deno.serve(
    { hostname: "127.0.0.1", port, onListen: (a) => console.log(`listening ${a.port}`) },
    handler,
  );
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
