/**
 * What clients learn before they call a tool, in both protocol eras:
 * `serverInfo` with title, description, website and icon (2025 `initialize`,
 * 2026 `server/discover`), the icon itself, and the 2026-07-28 cache hints on
 * `tools/list` and `server/discover` (`ttlMs`, `cacheScope`), which 2025-era
 * answers never carry.
 */
import assert from "node:assert/strict";
import { ICON_MAX_AGE_SECONDS } from "../server/icon.ts";
import { LIST_TTL_MS } from "../server/mcp.ts";
import { TOOLS } from "../tools/mod.ts";
import {
  CLIENTS,
  DEMO_TOKENS,
  MODERN,
  recordingFetch,
  rpc,
  startHarness,
} from "../testing/harness.ts";
import { SERVER_DESCRIPTION, SERVER_TITLE, VERSION, WEBSITE_URL } from "../core/version.ts";

const AUTH = { Authorization: `Bearer ${DEMO_TOKENS.full}` };

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: serverInfo carries title, description, website and the served icon`, async () => {
    const h = startHarness();
    const wire = recordingFetch();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full, { fetch: wire.fetch });
    try {
      const info = c.client.getServerVersion();
      assert.deepEqual(info, {
        name: "vertexsms-mcp",
        version: VERSION,
        title: SERVER_TITLE,
        description: SERVER_DESCRIPTION,
        websiteUrl: WEBSITE_URL,
        icons: [{ src: `${h.server.url}/icon.svg`, mimeType: "image/svg+xml", sizes: ["any"] }],
      });
      // It came from the era's own handshake.
      const methods = wire.exchanges.map((e) => JSON.parse(e.requestBody || "{}").method);
      assert.ok(methods.includes(era === "2025" ? "initialize" : "server/discover"), `${methods}`);
      const icon = await fetch(String((info?.icons as { src: string }[])[0]?.src));
      assert.equal(icon.status, 200);
      assert.equal(icon.headers.get("content-type"), "image/svg+xml");
      assert.match(await icon.text(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("/icon.svg: no auth, cached for 30 days, revalidated by version, no script allowed", async () => {
  const h = startHarness();
  try {
    const res = await fetch(`${h.server.url}/icon.svg`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), `public, max-age=${ICON_MAX_AGE_SECONDS}`);
    assert.ok(ICON_MAX_AGE_SECONDS >= 7 * 24 * 3600, "a long cache lifetime");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const svg = await res.text();
    assert.ok(!/<script|href=|on\w+=/i.test(svg), "plain shapes only");
    const etag = res.headers.get("etag");
    assert.ok(etag?.includes(VERSION));
    const again = await fetch(`${h.server.url}/icon.svg`, {
      headers: { "If-None-Match": String(etag) },
    });
    assert.equal(again.status, 304);
    await again.body?.cancel();
    assert.equal(h.fake.requests.length, 0);
  } finally {
    await h.close();
  }
});

/** A raw 2026-07-28 request as the v2 client sends it. */
function modern(url: string, method: string, headers: Record<string, string> = {}) {
  return rpc(url, {
    jsonrpc: "2.0",
    id: 1,
    method,
    params: {
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1.0.0" },
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  }, { "MCP-Protocol-Version": MODERN, "Mcp-Method": method, ...AUTH, ...headers });
}

Deno.test("2026: tools/list and server/discover carry real cache hints; a narrowed list is private", async () => {
  const h = startHarness();
  try {
    assert.equal(LIST_TTL_MS, 3_600_000);
    const list = (await (await modern(h.mcpUrl, "tools/list")).json()).result;
    assert.equal(list.tools.length, TOOLS.length);
    assert.equal(list.ttlMs, LIST_TTL_MS);
    assert.equal(list.cacheScope, "public", "the same list for every caller of the URL");
    const discover = (await (await modern(h.mcpUrl, "server/discover")).json()).result;
    assert.equal(discover.ttlMs, LIST_TTL_MS);
    assert.equal(discover.cacheScope, "public");
    // 2026-07-28 carries serverInfo in the result's _meta.
    assert.equal(discover._meta["io.modelcontextprotocol/serverInfo"].title, SERVER_TITLE);
    const readonly = (await (await modern(`${h.server.url}/mcp/readonly`, "tools/list")).json())
      .result;
    assert.equal(readonly.cacheScope, "public", "a path's list is the same for all its callers");
    const narrowed = (await (await modern(h.mcpUrl, "tools/list", {
      "X-MCP-Tools": "get_operator",
    })).json()).result;
    assert.equal(narrowed.tools.length, 1);
    assert.equal(narrowed.cacheScope, "private", "depends on a header a shared cache cannot see");
    assert.equal(narrowed.ttlMs, LIST_TTL_MS);
  } finally {
    await h.close();
  }
});

Deno.test("2025: tools/list and initialize carry no cache fields (not in that era's schema)", async () => {
  const h = startHarness();
  try {
    const list = (await (await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }, AUTH))
      .json()).result;
    assert.equal(list.tools.length, TOOLS.length);
    assert.equal("ttlMs" in list || "cacheScope" in list, false);
    const init = (await (await rpc(h.mcpUrl, {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    }, AUTH)).json()).result;
    assert.equal(init.serverInfo.description, SERVER_DESCRIPTION);
    assert.equal("ttlMs" in init, false);
  } finally {
    await h.close();
  }
});
