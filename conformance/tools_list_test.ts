/**
 * `tools/list` as clients receive it, pinned: every name, description, JSON
 * Schema and annotation is compared with `snapshots/tools_list.json`, so any
 * change to a tool's schema is a visible diff in review. Both protocol eras
 * must list the same tools, in ASCII.
 *
 * Regenerate after an intended change (and read the diff):
 *
 *   UPDATE_SNAPSHOTS=1 deno task test conformance/tools_list_test.ts
 */
import assert from "node:assert/strict";
import { DEMO_TOKENS, MODERN, rpc, startHarness } from "../testing/harness.ts";

const SNAPSHOT = new URL("./snapshots/tools_list.json", import.meta.url);

Deno.test("tools/list matches its snapshot, in both protocol eras", async () => {
  const h = startHarness();
  try {
    const auth = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
    const legacy = await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }, auth);
    const modern = await rpc(h.mcpUrl, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: {
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "snapshot", version: "1.0.0" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }, { ...auth, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list" });
    assert.equal(legacy.status, 200);
    assert.equal(modern.status, 200);
    const tools = (await legacy.json()).result.tools;
    assert.deepEqual((await modern.json()).result.tools, tools, "both eras list the same tools");
    const text = `${JSON.stringify(tools, null, 2)}\n`;
    // One character outside Latin-1 (four en dashes did it) makes V8 hold the whole serialized
    // list as a two-byte string: 40 KB instead of 20 per call, transcoded for the wire, and
    // kept alive long enough to be promoted — a 2026-07-28 tools/list cost a third more CPU.
    const wide = [...JSON.stringify(tools)].filter((c) => c > "\x7f");
    assert.deepEqual(wide, [], "tool listings stay ASCII (write 'to', '-', 'times', 'EUR')");
    if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
      await Deno.writeTextFile(SNAPSHOT, text);
      console.log(`wrote ${SNAPSHOT.pathname}`);
    }
    const pinned = await Deno.readTextFile(SNAPSHOT).catch(() => "(no snapshot yet)");
    assert.equal(
      text,
      pinned,
      "tools/list changed: review the difference, then UPDATE_SNAPSHOTS=1 to accept it",
    );
  } finally {
    await h.close();
  }
});
