/**
 * Foundation: discovery, the 401 envelope, tools/list, get_sms_rates with
 * its cache, a scope rejection and a revoked token, through both client SDKs.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  DEMO_TOKENS,
  envelopeOf,
  httpStatusOf,
  modernCall,
  rpc,
  startHarness,
} from "../testing/harness.ts";
import { TOOLS } from "../tools/mod.ts";

Deno.test("both metadata URLs serve the same RFC 9728 document", async () => {
  const h = startHarness();
  try {
    for (
      const path of [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
      ]
    ) {
      const res = await fetch(h.server.url + path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.match(res.headers.get("cache-control") ?? "", /max-age/);
      assert.deepEqual(await res.json(), {
        resource: `${h.server.url}/mcp`,
        authorization_servers: ["https://tool.vertexsms.com"],
        bearer_methods_supported: ["header"],
        scopes_supported: ["sms:send", "sms:rates", "sender:write", "hlr:lookup", "numbers:read"],
        resource_name: "VertexSMS",
      });
    }
  } finally {
    await h.close();
  }
});

Deno.test("no token: HTTP 401 AUTH_REQUIRED envelope and WWW-Authenticate", async () => {
  const h = startHarness();
  try {
    const res = await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" });
    assert.equal(res.status, 401);
    const requestId = res.headers.get("x-request-id");
    assert.ok(requestId);
    const body = await res.json();
    assert.equal(body.error.code, "AUTH_REQUIRED");
    assert.equal(body.error.retryable, false);
    assert.equal(body.error.request_id, requestId);
    assert.equal(body.error.vertex_error_code, null);
    assert.equal(body.error.signup_url, "https://vertexsms.com/en/contact");
    assert.equal(body.error.signin_url, "https://vertexsms.com/en/login");
    assert.equal(body.error.token_url, "https://tool.vertexsms.com/settings/api");
    assert.equal(
      res.headers.get("www-authenticate"),
      `Bearer resource_metadata="${h.server.url}/.well-known/oauth-protected-resource/mcp", ` +
        `scope="sms:send sms:rates sender:write hlr:lookup numbers:read"`,
    );
    // Narrowed to the tool the request names, from the body or from 2026 headers.
    const call = await rpc(h.mcpUrl, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "send_sms", arguments: {} },
    });
    assert.equal(call.status, 401);
    assert.match(call.headers.get("www-authenticate") ?? "", /scope="sms:send"$/);
    await call.body?.cancel();
    const modern = await modernCall(h.mcpUrl, "lookup_hlr", {});
    assert.equal(modern.status, 401);
    assert.match(modern.headers.get("www-authenticate") ?? "", /scope="hlr:lookup"$/);
    await modern.body?.cancel();
    assert.equal(h.fake.requests.length, 0);
  } finally {
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: tools/list shows every tool`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      const { tools } = await c.client.listTools();
      assert.deepEqual(tools.map((t: { name: string }) => t.name), TOOLS.map((t) => t.name));
      const rates = tools.find((t: { name: string }) => t.name === "get_sms_rates");
      assert.deepEqual(rates.annotations, {
        title: "Get SMS rates",
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: true,
      });
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: get_sms_rates answers from the fake, then from the cache`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      const first = await c.client.callTool({
        name: "get_sms_rates",
        arguments: { country: "lt" },
      });
      assert.equal(first.isError, undefined);
      assert.equal(first.structuredContent.country, "LT");
      assert.equal(first.structuredContent.country_name, "Lithuania");
      assert.deepEqual(first.structuredContent.rates[0], {
        operator: "BITE",
        network: "Bite",
        rate_eur: "0.045",
        mcc: "246",
        mnc: "020",
      });
      assert.deepEqual(JSON.parse(first.content[0].text), first.structuredContent);
      assert.equal(h.fake.count("GET /rates"), 1);
      assert.equal(h.fake.requests[0]?.token, DEMO_TOKENS.full);
      const second = await c.client.callTool({
        name: "get_sms_rates",
        arguments: { country: "LT" },
      });
      assert.equal(second.structuredContent.rates.length, first.structuredContent.rates.length);
      assert.equal(h.fake.count("GET /rates"), 1, "the second call is served from the cache");
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: a token without sms:rates gets the scope rejection`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS["sms:send"]);
    try {
      const result = await c.client.callTool({
        name: "get_sms_rates",
        arguments: { country: "LT" },
      });
      assert.equal(result.isError, true);
      assert.equal(result.structuredContent, undefined);
      const error = envelopeOf(result);
      assert.equal(error.code, "AUTH_INVALID");
      assert.equal(error.required_scope, "sms:rates");
      assert.match(String(error.message), /sms:rates/);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: a revoked token turns the call into HTTP 401 AUTH_INVALID`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.revoked);
    try {
      await assert.rejects(
        () => c.client.callTool({ name: "get_sms_rates", arguments: { country: "LT" } }),
        (error) => httpStatusOf(error) === 401,
      );
      const raw = await rpc(h.mcpUrl, {
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: { name: "get_sms_rates", arguments: { country: "LT" } },
      }, { Authorization: `Bearer ${DEMO_TOKENS.revoked}` });
      assert.equal(raw.status, 401);
      assert.match(raw.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
      assert.equal((await raw.json()).error.code, "AUTH_INVALID");
    } finally {
      await c.close();
      await h.close();
    }
  });
}
