/**
 * Toolsets by URL, through both client SDKs: `/mcp/readonly`,
 * `/mcp/x/{scope}[,{scope}…]` and the `X-MCP-Tools` header. Each URL lists
 * only its tools, refuses any other as an unknown tool before VertexSMS is
 * called (the fake's request count proves it), and is its own protected
 * resource: RFC 9728 metadata at its own well-known URL, and a 401 naming that
 * URL and only its tools' scopes. The expected sets come from the tool
 * declarations, like the server's.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  DEMO_TOKENS,
  type Harness,
  modernCall,
  rpc,
  startHarness,
} from "../testing/harness.ts";
import { ALL_SCOPES, TOOLS } from "../tools/mod.ts";

const names = (tools: readonly { name: string }[]) => tools.map((t) => t.name).sort();
const READ_ONLY = TOOLS.filter((t) => t.annotations.readOnlyHint);
const scopesOf = (tools: readonly { scope: string }[]) =>
  ALL_SCOPES.filter((s) => tools.some((t) => t.scope === s));

/** A JSON-RPC error as either SDK reports it (v1 prefixes "MCP error <code>: "). */
function rpcErrorOf(error: unknown): { code: number; message: string } {
  const e = error as { code?: unknown; message?: unknown };
  return { code: Number(e.code), message: String(e.message).replace(/^MCP error -?\d+: /, "") };
}

const SEND = {
  name: "send_sms",
  arguments: { to: "+37069912345", from: "VertexSMS", message: "not allowed here" },
};

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: /mcp/readonly lists the read-only tools and refuses the others before VertexSMS`, async () => {
    const h = startHarness();
    const c = await connect(`${h.server.url}/mcp/readonly`, DEMO_TOKENS.full);
    try {
      const { tools } = await c.client.listTools();
      assert.deepEqual(names(tools), names(READ_ONLY));
      assert.ok(
        tools.every((t: { annotations: { readOnlyHint: boolean } }) => t.annotations.readOnlyHint),
      );
      assert.ok(!names(tools).includes("send_sms"));

      const refused = await c.client.callTool(SEND).then(() => undefined, rpcErrorOf);
      assert.deepEqual(refused, {
        code: -32602,
        message: "Tool send_sms not found",
      });
      assert.equal(h.fake.count("POST /sms"), 0, "VertexSMS never saw the send");

      const ok = await c.client.callTool({ name: "get_operator", arguments: { operatorId: 493 } });
      assert.equal(ok.structuredContent.name, "BITE");
      assert.equal(h.fake.count("GET /operators"), 1);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: a tool outside the URL's set gets the very error of a name that is no tool`, async () => {
    const h = startHarness();
    const all = await connect(h.mcpUrl, DEMO_TOKENS.full);
    const readonly = await connect(`${h.server.url}/mcp/readonly`, DEMO_TOKENS.full);
    try {
      const none = await all.client.callTool({ name: "no_such_tool", arguments: {} })
        .then(() => undefined, rpcErrorOf);
      const outside = await readonly.client.callTool({ name: "register_sender_id", arguments: {} })
        .then(() => undefined, rpcErrorOf);
      assert.ok(none && outside);
      assert.equal(outside.code, none.code);
      assert.equal(outside.message, none.message.replace("no_such_tool", "register_sender_id"));
      assert.equal(h.fake.requests.length, 0);
    } finally {
      await all.close();
      await readonly.close();
      await h.close();
    }
  });

  Deno.test(`${era}: /mcp/x/{scopes} serves exactly those scopes' tools`, async () => {
    const h = startHarness();
    const c = await connect(`${h.server.url}/mcp/x/sms:rates,numbers:read`, DEMO_TOKENS.full);
    try {
      const { tools } = await c.client.listTools();
      const expected = TOOLS.filter((t) => t.scope === "sms:rates" || t.scope === "numbers:read");
      assert.deepEqual(names(tools), names(expected));
      const hlr = await c.client.callTool({
        name: "lookup_hlr",
        arguments: { msisdn: "+37069912345" },
      })
        .then(() => undefined, rpcErrorOf);
      assert.equal(hlr?.code, -32602);
      const send = await c.client.callTool(SEND).then(() => undefined, rpcErrorOf);
      assert.equal(send?.code, -32602);
      assert.equal(h.fake.count("POST /hlr") + h.fake.count("POST /sms"), 0);
      const rates = await c.client.callTool({
        name: "get_sms_rates",
        arguments: { country: "LT" },
      });
      assert.equal(rates.structuredContent.country, "LT");
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: X-MCP-Tools narrows any path further`, async () => {
    const h = startHarness();
    const c = await connect(`${h.server.url}/mcp/readonly`, DEMO_TOKENS.full, {
      headers: { "X-MCP-Tools": "get_operator, get_sms_rates,send_sms" },
    });
    try {
      const { tools } = await c.client.listTools();
      // send_sms is named but is no read-only tool: the header only narrows.
      assert.deepEqual(names(tools), ["get_operator", "get_sms_rates"]);
      const refused = await c.client.callTool({
        name: "correct_phone_number",
        arguments: { numbers: [{ number: "861860698", country: "LT" }] },
      }).then(() => undefined, rpcErrorOf);
      assert.equal(refused?.code, -32602);
      assert.equal((await c.client.callTool(SEND).then(() => undefined, rpcErrorOf))?.code, -32602);
      assert.equal(h.fake.count("POST /numbers") + h.fake.count("POST /sms"), 0);
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("each MCP path has its own RFC 9728 metadata: its resource, its tools' scopes", async () => {
  const h = startHarness();
  try {
    const cases = [
      { path: "/mcp", scopes: [...ALL_SCOPES] },
      { path: "/mcp/readonly", scopes: scopesOf(READ_ONLY) },
      { path: "/mcp/x/numbers:read", scopes: ["numbers:read"] },
      { path: "/mcp/x/sms:send,sms:rates", scopes: ["sms:send", "sms:rates"] },
    ];
    assert.deepEqual(cases[1]?.scopes, ["sms:send", "sms:rates", "hlr:lookup", "numbers:read"]);
    for (const { path, scopes } of cases) {
      const res = await fetch(`${h.server.url}/.well-known/oauth-protected-resource${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      const metadata = await res.json();
      assert.equal(metadata.resource, `${h.server.url}${path}`);
      assert.deepEqual(metadata.scopes_supported, scopes, path);
      assert.deepEqual(metadata.authorization_servers, ["https://tool.vertexsms.com"]);
    }
    const bare = await (await fetch(`${h.server.url}/.well-known/oauth-protected-resource`)).json();
    assert.equal(bare.resource, `${h.server.url}/mcp`);
  } finally {
    await h.close();
  }
});

Deno.test("each path's 401 names only its metadata and its scopes (POST and GET alike)", async () => {
  const h = startHarness();
  const challenge = (path: string, scope: string) =>
    `Bearer resource_metadata="${h.server.url}/.well-known/oauth-protected-resource${path}", ` +
    `scope="${scope}"`;
  const LIST = { jsonrpc: "2.0", id: 1, method: "tools/list" };
  try {
    const readonly = `${h.server.url}/mcp/readonly`;
    for (const res of [await rpc(readonly, LIST), await fetch(readonly)]) {
      assert.equal(res.status, 401);
      assert.equal(
        res.headers.get("www-authenticate"),
        challenge("/mcp/readonly", "sms:send sms:rates hlr:lookup numbers:read"),
      );
      assert.equal((await res.json()).error.code, "AUTH_REQUIRED");
    }
    const x = await rpc(`${h.server.url}/mcp/x/numbers:read`, LIST);
    assert.equal(
      x.headers.get("www-authenticate"),
      challenge("/mcp/x/numbers:read", "numbers:read"),
    );
    await x.body?.cancel();
    // A call naming a tool of this URL narrows the scope to that tool's; one outside it does not.
    const lookup = await modernCall(readonly, "lookup_hlr", {});
    assert.equal(lookup.headers.get("www-authenticate"), challenge("/mcp/readonly", "hlr:lookup"));
    await lookup.body?.cancel();
    const send = await modernCall(readonly, "send_sms", {});
    assert.equal(
      send.headers.get("www-authenticate"),
      challenge("/mcp/readonly", "sms:send sms:rates hlr:lookup numbers:read"),
    );
    await send.body?.cancel();
    // X-MCP-Tools narrows the challenge to the scopes of the tools it leaves.
    const narrowed = await rpc(readonly, LIST, { "X-MCP-Tools": "get_operator" });
    assert.equal(
      narrowed.headers.get("www-authenticate"),
      challenge("/mcp/readonly", "numbers:read"),
    );
    await narrowed.body?.cancel();
    assert.equal(h.fake.requests.length, 0);
  } finally {
    await h.close();
  }
});

/** A 404 that says where the toolsets are: the three URL forms and every scope. */
function assertNamesToolsets(error: { code: string; message: string }, path: string) {
  assert.equal(error.code, "NOT_FOUND", path);
  for (const form of ["/mcp (", "/mcp/readonly (", "/mcp/x/{scope}[,{scope}...] ("]) {
    assert.ok(error.message.includes(form), `${path}: ${error.message} names ${form}`);
  }
  assert.ok(error.message.endsWith(`Scopes: ${ALL_SCOPES.join(", ")}.`), error.message);
}

Deno.test("an unknown scope in /mcp/x/… is no resource: 404 naming the toolset URLs and scopes, metadata too, before auth", async () => {
  const h = startHarness();
  try {
    for (
      const path of ["/mcp/x/sms:everything", "/mcp/x/numbers:read,admin", "/mcp/x/", "/mcp/x/,"]
    ) {
      const res = await rpc(`${h.server.url}${path}`, {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
      }, {
        Authorization: `Bearer ${DEMO_TOKENS.full}`,
      });
      assert.equal(res.status, 404, path);
      assertNamesToolsets((await res.json()).error, path);
      const meta = await fetch(`${h.server.url}/.well-known/oauth-protected-resource${path}`);
      assert.equal(meta.status, 404, path);
      assertNamesToolsets((await meta.json()).error, path);
    }
    const bogus = await fetch(`${h.server.url}/mcp/x/bogus,sms%3Asend`, { method: "POST" });
    const { message } = (await bogus.json()).error;
    assert.match(message, /^Not a scope: "bogus"\. /, "the wrong scope named, the right one not");
    // A misspelt path under /mcp/ gets the same directions; any other path does not.
    assertNamesToolsets((await (await fetch(`${h.server.url}/mcp/read-only`)).json()).error, "");
    const elsewhere = await fetch(`${h.server.url}/nothing-here`);
    assert.deepEqual(await elsewhere.json(), {
      error: { code: "NOT_FOUND", message: "No such route." },
    });
    // Percent-encoded separators are the same scopes.
    const encoded = await fetch(`${h.server.url}/mcp/x/sms%3Arates%2Cnumbers%3Aread`);
    assert.equal(encoded.status, 401);
    assert.match(encoded.headers.get("www-authenticate") ?? "", /scope="sms:rates numbers:read"$/);
    await encoded.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("X-MCP-Tools naming no tool at all is refused (400) once authenticated, not guessed", async () => {
  const h = startHarness();
  try {
    const res = await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }, {
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
      "X-MCP-Tools": "get_operator,get_operater",
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error.code, -32602);
    assert.match(body.error.message, /X-MCP-Tools names no tool of this server: "get_operater"/);
    const unauth = await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }, {
      "X-MCP-Tools": "get_operater",
    });
    assert.equal(unauth.status, 401, "authentication first");
    await unauth.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("the toolsets are derived from the declarations: a new read-only tool joins /mcp/readonly", async () => {
  const template = TOOLS.find((t) => t.name === "get_operator");
  assert.ok(template);
  const extra = { ...template, name: "get_operator_copy", title: "Copy" };
  const h: Harness = startHarness({ tools: [...TOOLS, extra] });
  try {
    const res = await rpc(`${h.server.url}/mcp/readonly`, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
    }, { Authorization: `Bearer ${DEMO_TOKENS.full}` });
    const { result } = await res.json();
    assert.ok(names(result.tools).includes("get_operator_copy"));
    assert.equal(result.tools.length, READ_ONLY.length + 1);
  } finally {
    await h.close();
  }
});
