/** The HTTP surface of `http.md`: routes, CORS, Origin/Host, limits, start-up refusal. */
import assert from "node:assert/strict";
import { DEMO_TOKENS, rpc, startHarness } from "../testing/harness.ts";

const LIST = { jsonrpc: "2.0", id: 1, method: "tools/list" };

Deno.test("GET /healthz answers without auth or upstream call", async () => {
  const h = startHarness();
  try {
    const res = await fetch(`${h.server.url}/healthz`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.match(body.version, /^\d+\.\d+\.\d+$/);
    assert.ok(res.headers.get("x-request-id"));
    assert.equal(h.fake.requests.length, 0);
  } finally {
    await h.close();
  }
});

const OTHER_METHODS = ["GET", "DELETE", "HEAD", "PUT", "PATCH", "OPTIONS"];

Deno.test("authentication before method: without a token every method gets POST's 401", async () => {
  const h = startHarness();
  try {
    const post = await rpc(h.mcpUrl, LIST);
    assert.equal(post.status, 401);
    const challenge = post.headers.get("www-authenticate");
    assert.ok(challenge?.startsWith("Bearer resource_metadata="));
    await post.body?.cancel();
    for (const path of ["/mcp", "/mcp/readonly"]) {
      for (const method of OTHER_METHODS) {
        const res = await fetch(`${h.server.url}${path}`, {
          method,
          headers: { Accept: "text/event-stream" },
        });
        const label = `${method} ${path}`;
        assert.equal(res.status, 401, label);
        assert.equal(res.headers.get("allow"), null, `${label}: no Allow before authentication`);
        const expected = path === "/mcp"
          ? challenge
          : challenge?.replace("/oauth-protected-resource/mcp", `/oauth-protected-resource${path}`)
            .replace(/scope="[^"]*"/, 'scope="sms:send sms:rates hlr:lookup numbers:read"');
        assert.equal(res.headers.get("www-authenticate"), expected, label);
        if (method === "HEAD") {
          assert.equal(await res.text(), "", label);
        } else {
          assert.equal((await res.json()).error.code, "AUTH_REQUIRED", label);
        }
      }
    }
    assert.equal(h.fake.requests.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("authenticated, any method but POST answers 405 with Allow: POST", async () => {
  const h = startHarness();
  try {
    for (const method of OTHER_METHODS) {
      const res = await fetch(h.mcpUrl, {
        method,
        headers: { Authorization: `Bearer ${DEMO_TOKENS.full}` },
      });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "POST");
      assert.equal(res.headers.get("www-authenticate"), null);
      await res.body?.cancel();
    }
  } finally {
    await h.close();
  }
});

Deno.test("CORS preflight is answered before auth and exposes WWW-Authenticate", async () => {
  const h = startHarness({ env: { ALLOWED_ORIGINS: "https://app.example" } });
  try {
    const res = await fetch(h.mcpUrl, {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(res.headers.get("access-control-allow-headers") ?? "", /Authorization/);
    await res.body?.cancel();
    const unauth = await rpc(h.mcpUrl, LIST, { Origin: "https://app.example" });
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(unauth.headers.get("access-control-expose-headers") ?? "", /WWW-Authenticate/);
    await unauth.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("an Origin outside the allow-list is refused with 403, even with a token", async () => {
  const h = startHarness();
  try {
    const evil = await rpc(h.mcpUrl, LIST, {
      Origin: "https://evil.example",
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
    });
    assert.equal(evil.status, 403);
    await evil.body?.cancel();
    const own = await rpc(h.mcpUrl, LIST, {
      Origin: `http://localhost:${h.server.addr.port}`,
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
    });
    assert.equal(own.status, 200);
    await own.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("a rebinding Host is refused when bound to loopback", async () => {
  const h = startHarness();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.addr.port });
    const body = JSON.stringify(LIST);
    await conn.write(new TextEncoder().encode(
      `POST /mcp HTTP/1.1\r\nHost: evil.example:${h.server.addr.port}\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${DEMO_TOKENS.full}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    ));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 403/);
  } finally {
    await h.close();
  }
});

Deno.test("bodies over MAX_BODY_BYTES are refused with 413 before parsing", async () => {
  const h = startHarness({ env: { MAX_BODY_BYTES: "2048" } });
  try {
    const res = await rpc(h.mcpUrl, { ...LIST, pad: "x".repeat(4096) }, {
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
    });
    assert.equal(res.status, 413);
    await res.body?.cancel();
    const bad = await rpc(h.mcpUrl, "{nope", { Authorization: `Bearer ${DEMO_TOKENS.full}` });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, -32700);
    const type = await fetch(h.mcpUrl, {
      method: "POST",
      headers: { "Content-Type": "text/plain", Authorization: `Bearer ${DEMO_TOKENS.full}` },
      body: "{}",
    });
    assert.equal(type.status, 415);
    await type.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("every response carries X-Request-Id; a sane incoming one is kept", async () => {
  const h = startHarness();
  try {
    const res = await rpc(h.mcpUrl, LIST, {
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
      "X-Request-Id": "client-trace-42",
    });
    assert.equal(res.headers.get("x-request-id"), "client-trace-42");
    await res.body?.cancel();
    const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
    assert.equal(line.request_id, "client-trace-42");
  } finally {
    await h.close();
  }
});

Deno.test("the server refuses to start on a bad value: one line, exit code 1", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    env: { PORT: "eighty", NO_COLOR: "1" },
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.equal(
    stderr,
    'Invalid configuration: PORT must be an integer between 0 and 65535 (got "eighty").',
  );
});
