/**
 * An upstream that gives no answer is logged with its cause, on the
 * request's own line (`upstream_error`) and, at `LOG_LEVEL=debug`, with the
 * failure's own words: a closed port, a host that does not resolve, a TLS
 * handshake with a plain HTTP server, a connection reset, a server that never
 * answers. Real sockets on loopback, a real server (the harness); never the
 * token or the request body in any line.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { DEMO_TOKENS, modernCall, startHarness } from "../testing/harness.ts";
import { startFake } from "../testing/fake/mod.ts";
import { freePort } from "../testing/process.ts";

const AUTH = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
const TEXT = "body-text-never-logged-7f3a";

/** A loopback TCP server doing `onConnection` with each socket; closes with the test. */
async function tcpServer(onConnection: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Call `send_sms` through a server whose VertexSMS is `upstream`; return its log lines. */
async function failOnce(upstream: string, env: Record<string, string> = {}) {
  const h = startHarness({ env: { VERTEXSMS_API_URL: upstream, ...env } });
  try {
    const res = await modernCall(h.mcpUrl, "send_sms", {
      to: "+37069912345",
      from: "VertexSMS",
      message: TEXT,
    }, AUTH);
    const { result } = await res.json();
    assert.equal(result.isError, true, JSON.stringify(result));
    const lines = h.logs.map((l) => JSON.parse(l));
    const request = lines.find((l) => l.msg === "request" && l.rpc_method === "tools/call");
    const debug = lines.filter((l) => l.msg === "upstream failure");
    const all = h.logs.join("\n");
    assert.ok(!all.includes(DEMO_TOKENS.full) && !all.includes(TEXT), "no token, no body");
    assert.ok(!all.includes("69912345"), "no phone number");
    return { request, debug };
  } finally {
    await h.close();
  }
}

Deno.test("a refused connection: upstream_error connection_refused", async () => {
  const { request, debug } = await failOnce(`http://127.0.0.1:${freePort()}`);
  assert.equal(request.error_code, "UPSTREAM_UNAVAILABLE");
  assert.equal(request.upstream_error, "connection_refused");
  assert.equal(debug[0].route, "POST /sms");
  assert.match(debug[0].detail, /Connection refused/);
  assert.doesNotMatch(debug[0].detail, /http:\/\//, "no URL in the detail");
});

Deno.test("a host that does not resolve: upstream_error dns", async () => {
  const { request, debug } = await failOnce("http://no-such-host.invalid");
  assert.equal(request.upstream_error, "dns");
  assert.match(debug[0].detail, /dns error|lookup/);
});

Deno.test("https:// to a plain HTTP server: upstream_error tls", async () => {
  const fake = startFake();
  try {
    const { request } = await failOnce(fake.url.replace("http://", "https://"));
    assert.equal(request.upstream_error, "tls");
    assert.equal(fake.count("POST /sms"), 0);
  } finally {
    await fake.shutdown();
  }
});

Deno.test("a server that resets the connection: upstream_error reset", async () => {
  const server = await tcpServer((socket) => socket.once("data", () => socket.resetAndDestroy()));
  try {
    const { request, debug } = await failOnce(server.url);
    assert.equal(request.upstream_error, "reset");
    assert.match(debug[0].detail, /reset/i);
  } finally {
    await server.close();
  }
});

Deno.test("a server that never answers: upstream_error timeout", async () => {
  const server = await tcpServer(() => {});
  try {
    const { request } = await failOnce(server.url, { UPSTREAM_TIMEOUT_MS: "300" });
    assert.equal(request.error_code, "UPSTREAM_TIMEOUT");
    assert.equal(request.upstream_error, "timeout");
  } finally {
    await server.close();
  }
});

Deno.test("an answer that was read (an HTTP 500) carries its status, not an upstream_error", async () => {
  const fake = startFake();
  fake.inject({ kind: "status", route: "POST /sms", status: 500 });
  try {
    const { request, debug } = await failOnce(fake.url);
    assert.equal(request.upstream_status, 500);
    assert.equal(request.upstream_error, undefined);
    assert.deepEqual(debug, []);
  } finally {
    await fake.shutdown();
  }
});
