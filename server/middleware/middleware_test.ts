/** Each HTTP middleware alone, on a minimal Hono app. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { Logger } from "../../core/log.ts";
import { accessLog } from "./access_log.ts";
import { createPrincipalHasher } from "../../core/keys.ts";
import { VouchedTokens } from "./admission.ts";
import { type BearerOptions, bearerToken, parseBearer, requireToken } from "./auth.ts";
import { batchPolicy } from "./batch.ts";
import { clientIp } from "./client_ip.ts";
import { originCheck } from "./origin.ts";
import { FixedWindowLimiter } from "./rate_limit.ts";
import { peekRpc, rpcBody } from "./rpc_body.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./types.ts";

const LINKS = { signupUrl: "https://s", signinUrl: "https://i", tokenUrl: "https://t" };

/** `bearerToken`'s options around a limiter. */
function bearer(
  limiter: FixedWindowLimiter,
  rejected = new FixedWindowLimiter(100, 60_000),
  vouched = new VouchedTokens(),
): BearerOptions {
  return {
    limiter,
    rejected,
    trustProxy: false,
    links: LINKS,
    principal: createPrincipalHasher(),
    vouched,
  };
}

function app(...middlewares: MiddlewareHandler<AppEnv>[]) {
  const lines: string[] = [];
  const h = new Hono<AppEnv>();
  h.use("*", requestId(), accessLog(new Logger("debug", (l) => lines.push(l))));
  for (const m of middlewares) h.use("*", m);
  h.all(
    "*",
    (c) => c.json({ ok: true, token: c.var.token ?? null, rpc: c.var.rpc?.method ?? null }),
  );
  return { h, lines };
}

function post(h: Hono<AppEnv>, body: string, headers: Record<string, string> = {}) {
  return h.request("http://localhost/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json", Host: "localhost", ...headers },
    body,
  });
}

Deno.test("parseBearer accepts RFC 6750 b64tokens only", () => {
  assert.equal(parseBearer("Bearer abc.DEF-123_~+/="), "abc.DEF-123_~+/=");
  assert.equal(parseBearer("bearer abc"), "abc");
  for (const bad of [undefined, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "Bearer ä"]) {
    assert.equal(parseBearer(bad), undefined, String(bad));
  }
});

Deno.test("requireToken: 401 with the narrowed scope; passes a token through", async () => {
  const { h } = app(
    bearerToken(bearer(new FixedWindowLimiter(100, 60_000))),
    rpcBody(1024),
    requireToken({
      links: LINKS,
      target: () => ({
        resourceMetadata: "https://x/.well-known/oauth-protected-resource/mcp",
        allScopes: ["a:b", "c:d"],
        scopeOf: (name) => (name === "t" ? "c:d" : undefined),
      }),
    }),
  );
  const list = await post(h, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
  assert.equal(list.status, 401);
  assert.match(list.headers.get("www-authenticate") ?? "", /scope="a:b c:d"$/);
  const body = await list.json();
  assert.equal(body.error.code, "AUTH_REQUIRED");
  assert.equal(body.error.request_id, list.headers.get("x-request-id"));
  const call = await post(
    h,
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}',
  );
  assert.match(call.headers.get("www-authenticate") ?? "", /scope="c:d"$/);
  const ok = await post(h, "{}", { Authorization: "Bearer tok" });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).token, "tok");
});

Deno.test("bearerToken rate-limits requests without a token per client, with Retry-After", async () => {
  const { h } = app(bearerToken(bearer(new FixedWindowLimiter(2, 60_000))));
  assert.equal((await post(h, "{}")).status, 200);
  assert.equal((await post(h, "{}")).status, 200);
  const limited = await post(h, "{}");
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
  const body = await limited.json();
  assert.equal(body.error.code, "RATE_LIMITED");
  assert.equal(body.error.retryable, true);
  assert.equal(body.error.retry_after_seconds, Number(limited.headers.get("retry-after")));
  assert.equal(
    (await post(h, "{}", { Authorization: "Bearer x" })).status,
    200,
    "requests with a token are not counted here",
  );
});

Deno.test("bearerToken: tokens VertexSMS rejected count against the address; vouched tokens still pass", async () => {
  const rejected = new FixedWindowLimiter(3, 60_000);
  const h = new Hono<AppEnv>();
  h.use("*", requestId(), accessLog(new Logger("error", () => {})));
  h.use("*", bearerToken(bearer(new FixedWindowLimiter(100, 60_000), rejected)));
  // Stands in for the MCP route: VertexSMS accepts only "good".
  h.all("*", (c) => {
    c.set("tokenVerdict", c.var.token === "good" ? "accepted" : "rejected");
    return c.json({ ok: true });
  });
  const as = (token: string) => post(h, "{}", { Authorization: `Bearer ${token}` });
  assert.equal((await as("good")).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await as(`madeup-${i}`)).status, 200);
  const limited = await as("madeup-3");
  assert.equal(limited.status, 429, "a fourth made-up token is refused before VertexSMS");
  assert.match((await limited.json()).error.message, /tokens VertexSMS rejected/);
  assert.equal((await as("good")).status, 200, "a token VertexSMS accepted still passes");
  assert.equal(rejected.size, 1, "one address counted");
});

Deno.test("batchPolicy: refused from 2025-06-18 on, bounded before", async () => {
  const { h } = app(rpcBody(64 * 1024), batchPolicy(3));
  const batch = (n: number) =>
    JSON.stringify(
      Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" })),
    );
  for (const version of ["2025-06-18", "2025-11-25"]) {
    const res = await post(h, batch(2), { "MCP-Protocol-Version": version });
    assert.equal(res.status, 400, version);
    assert.equal((await res.json()).error.code, -32600);
  }
  assert.equal((await post(h, batch(3), { "MCP-Protocol-Version": "2025-03-26" })).status, 200);
  assert.equal((await post(h, batch(3))).status, 200, "no header: 2025-03-26");
  assert.equal((await post(h, batch(4))).status, 400, "over the bound");
  assert.equal(
    (await post(h, '{"jsonrpc":"2.0","id":1,"method":"ping"}', {
      "MCP-Protocol-Version": "2025-11-25",
    })).status,
    200,
    "single messages are untouched",
  );
});

Deno.test("FixedWindowLimiter holds at most maxKeys keys and resets per window", () => {
  let now = 0;
  const limiter = new FixedWindowLimiter(1, 1000, 100, () => now);
  for (let i = 0; i < 10_000; i++) limiter.hit(`ip-${i}`);
  assert.equal(limiter.size, 100);
  assert.deepEqual(limiter.peek("a"), { ok: true });
  assert.deepEqual(limiter.hit("a"), { ok: true });
  assert.deepEqual(limiter.peek("a"), { ok: false, retryAfterSeconds: 1 }, "peek counts nothing");
  assert.deepEqual(limiter.hit("a"), { ok: false, retryAfterSeconds: 1 });
  now = 1000;
  assert.deepEqual(limiter.hit("a"), { ok: true });
});

Deno.test("rpcBody: 415, 413 before parsing, 400 for invalid JSON, else peeks the method", async () => {
  const { h } = app(rpcBody(64));
  const wrongType = await h.request("http://localhost/mcp", {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: "{}",
  });
  assert.equal(wrongType.status, 415);
  const big = await post(h, JSON.stringify({ x: "y".repeat(100) }));
  assert.equal(big.status, 413);
  assert.equal((await big.json()).error.code, -32000);
  const bad = await post(h, "{not json");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, -32700);
  const ok = await post(h, '{"jsonrpc":"2.0","id":1,"method":"ping"}');
  assert.equal((await ok.json()).rpc, "ping");
});

Deno.test("peekRpc never trusts odd method names", () => {
  assert.equal(peekRpc({ method: "tools/call", params: { name: "x" } }).tool, "x");
  assert.equal(peekRpc({ method: "a\nb" }).method, "(invalid)");
  assert.equal(peekRpc([{ method: "ping" }]).method, undefined);
});

Deno.test("originCheck: allow-listed or absent Origin passes, others 403; Host checked", async () => {
  const { h } = app(
    originCheck({ origins: new Set(["http://localhost:8000"]), hosts: ["localhost"] }),
  );
  assert.equal((await post(h, "{}")).status, 200);
  assert.equal((await post(h, "{}", { Origin: "http://localhost:8000" })).status, 200);
  assert.equal((await post(h, "{}", { Origin: "http://evil.example" })).status, 403);
  assert.equal((await post(h, "{}", { Origin: "null" })).status, 403);
  assert.equal((await post(h, "{}", { Origin: "http://localhost:9999" })).status, 403);
  const rebound = await h.request("http://evil.example/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json", Host: "evil.example" },
    body: "{}",
  });
  assert.equal(rebound.status, 403);
});

Deno.test("accessLog writes one JSON line without header values", async () => {
  const { h, lines } = app(
    bearerToken(bearer(new FixedWindowLimiter(100, 60_000))),
    rpcBody(1024),
  );
  await post(h, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', {
    Authorization: "Bearer sekret-token-1",
  });
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0] as string);
  assert.equal(line.msg, "request");
  assert.equal(line.method, "POST");
  assert.equal(line.rpc_method, "tools/list");
  assert.equal(line.status, 200);
  assert.equal(typeof line.duration_ms, "number");
  assert.ok(!(lines[0] as string).includes("sekret-token-1"));
});

Deno.test("accessLog logs a route with parameters as its pattern (ids can be credentials)", async () => {
  const lines: string[] = [];
  const h = new Hono<AppEnv>();
  h.use("*", requestId(), accessLog(new Logger("debug", (l) => lines.push(l))));
  h.post("/callbacks/hlr/:id", (c) => c.text("OK"));
  const id = "one-time-secret-id-0123456789abcdefghijklmnop";
  await h.request(`http://localhost/callbacks/hlr/${id}`, { method: "POST" });
  await h.request("http://localhost/elsewhere");
  assert.equal(JSON.parse(lines[0] as string).path, "/callbacks/hlr/:id");
  assert.ok(!(lines[0] as string).includes(id));
  assert.equal(JSON.parse(lines[1] as string).path, "/elsewhere");
});

Deno.test("clientIp: the last X-Forwarded-For entry only behind a trusted proxy, and only an IP", async () => {
  const h = new Hono<AppEnv>();
  h.get("/", (c) => c.text(`${clientIp(c, false)} ${clientIp(c, true)}`));
  const env = { remoteAddr: { transport: "tcp", hostname: "10.0.0.9", port: 1 } as Deno.NetAddr };
  const ask = async (xff?: string) =>
    await (await h.request("/", { headers: xff ? { "X-Forwarded-For": xff } : {} }, env)).text();
  assert.equal(await ask(), "10.0.0.9 10.0.0.9");
  assert.equal(await ask("1.2.3.4, 203.0.113.7"), "10.0.0.9 203.0.113.7");
  assert.equal(await ask("2001:db8::1"), "10.0.0.9 2001:db8::1");
  assert.equal(await ask("::ffff:192.0.2.1"), "10.0.0.9 ::ffff:192.0.2.1");
  for (const junk of ["x".repeat(5000), "evil", "1.2.3.4:80", "[::1]", "1.2.3.4; drop"]) {
    assert.equal(await ask(junk), "10.0.0.9 10.0.0.9", junk.slice(0, 20));
  }
});
