/**
 * `main.ts` as a real process: graceful shutdown on SIGTERM and SIGINT (stop
 * accepting, let the in-flight call finish, exit 0), the bound on that wait,
 * and refusal to start when KV_PATH cannot be opened; on Redis (`STATE_URL`):
 * `listening` names it, its password is never printed, and a Redis it cannot
 * use, or one set beside KV_PATH, stops the start with one line.
 */
import assert from "node:assert/strict";
import { type FakeVertex, startFake } from "../testing/fake/mod.ts";
import { DEMO_TOKENS, modernCall } from "../testing/harness.ts";
import { findLeaks, secretsOf } from "../testing/leaks.ts";
import { freePort, refusedAtStart, spawnMain, START_FLAGS } from "../testing/process.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

/** Whether a TCP connection to the port is refused. */
async function refuses(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch {
    return true;
  }
}

async function untilOneRequest(fake: FakeVertex, route: string) {
  while (fake.count(route) === 0) await new Promise((r) => setTimeout(r, 10));
}

const AUTH = { Authorization: `Bearer ${DEMO_TOKENS.full}` };

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal}: stops accepting, lets the in-flight call finish, exits 0`, async () => {
    const fake = startFake();
    fake.inject({ kind: "slow", route: "GET /operators", delayMs: 1000 });
    const main = spawnMain({ VERTEXSMS_API_URL: fake.url });
    try {
      const listening = await main.line("listening");
      const port = Number(String(listening.address).split(":").pop());
      const call = modernCall(`http://127.0.0.1:${port}/mcp`, "get_operator", {
        operatorId: 493,
      }, AUTH);
      await untilOneRequest(fake, "GET /operators");
      const signalled = performance.now();
      main.child.kill(signal);
      await main.line("shutting down");
      // New connections are refused while the call is still waiting upstream.
      let closed = false;
      for (let i = 0; i < 100 && !closed; i++) {
        closed = await refuses(port);
        if (!closed) await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(closed, "the listener closed");
      const res = await call;
      assert.equal(res.status, 200);
      const { result } = await res.json();
      assert.equal(result.isError, undefined, JSON.stringify(result));
      assert.equal(result.structuredContent.name, "BITE");
      const status = await main.child.status;
      const seconds = ((performance.now() - signalled) / 1000).toFixed(1);
      assert.equal(status.code, 0);
      assert.equal((await main.line("stopped")).drained, true);
      await main.done;
      const leaks = findLeaks(main.lines, secretsOf(fake)).leaks;
      assert.deepEqual(leaks, []);
      console.log(
        `figure shutdown (${signal}): with a call 1 s deep in VertexSMS, new connections refused at ` +
          `once, the call completed (200, ${result.structuredContent.name}), exit 0 after ` +
          `${seconds} s; ${main.lines.length} output lines, ${leaks.length} leaks`,
      );
    } finally {
      await main.reap();
      await fake.shutdown();
    }
  });
}

Deno.test("the drain is bounded: SHUTDOWN_TIMEOUT_MS cuts a call that would not end, exit 1", async () => {
  const fake = startFake();
  fake.inject({ kind: "slow", route: "GET /operators", delayMs: 60_000 });
  const main = spawnMain({
    VERTEXSMS_API_URL: fake.url,
    UPSTREAM_TIMEOUT_MS: "120000",
    SHUTDOWN_TIMEOUT_MS: "300",
  });
  try {
    const port = Number(String((await main.line("listening")).address).split(":").pop());
    const call = modernCall(
      `http://127.0.0.1:${port}/mcp`,
      "get_operator",
      { operatorId: 493 },
      AUTH,
    )
      .then((res) => res.status, () => "connection closed");
    await untilOneRequest(fake, "GET /operators");
    const signalled = performance.now();
    main.child.kill("SIGTERM");
    const status = await main.child.status;
    const seconds = (performance.now() - signalled) / 1000;
    assert.equal(status.code, 1);
    assert.equal((await main.line("stopped")).drained, false);
    assert.ok(seconds < 30, `exited after ${seconds} s, not after the 60 s call`);
    const outcome = await call;
    console.log(
      `figure shutdown bound: SHUTDOWN_TIMEOUT_MS=300 with a 60 s call in flight → exit 1 after ` +
        `${seconds.toFixed(1)} s (the call: ${outcome})`,
    );
  } finally {
    await main.reap();
    await fake.shutdown();
  }
});

Deno.test("a KV_PATH that cannot be opened stops the start with one line naming it", async () => {
  const missing = `${await Deno.makeTempDir()}/no/such/dir/kv.sqlite`;
  const line = await refusedAtStart({ KV_PATH: missing });
  assert.match(
    line,
    /^Invalid configuration: KV_PATH must be a Deno KV database this process can open \(.+\) \(got ".+kv\.sqlite"\)\.$/,
  );
});

Deno.test("start-up: only JSON lines; SMS_TEST_MODE is named in `listening` and warned about", async () => {
  const fake = startFake();
  const main = spawnMain({ VERTEXSMS_API_URL: fake.url, SMS_TEST_MODE: "delivered" });
  try {
    const listening = await main.line("listening");
    assert.equal(listening.sms_test_mode, "delivered");
    const warning = await main.line("SMS test mode");
    assert.equal(warning.level, "warn");
    assert.match(String(warning.hint), /testMode 1 .*no real SMS/);
    const port = Number(String(listening.address).split(":").pop());
    const res = await modernCall(`http://127.0.0.1:${port}/mcp`, "send_sms", {
      to: "+37069912345",
      from: "VertexSMS",
      message: "sandbox",
    }, AUTH);
    const { result } = await res.json();
    assert.equal(result.structuredContent.simulated, true, JSON.stringify(result));
    assert.equal(fake.requests.find((r) => r.path === "/sms")?.testMode, "1");
    main.child.kill("SIGTERM");
    await main.child.status;
    await main.done;
    // Nothing but the server's own JSON lines: no SDK warning (responseMode) on start.
    const other = main.lines.filter((l) => l.trim() !== "" && !l.startsWith("{"));
    assert.deepEqual(other, []);
  } finally {
    await main.reap();
    await fake.shutdown();
  }
});

Deno.test("start-up without SMS_TEST_MODE: `listening` says off, no test-mode warning", async () => {
  const main = spawnMain({});
  try {
    assert.equal((await main.line("listening")).sms_test_mode, "off");
    main.child.kill("SIGTERM");
    await main.child.status;
    await main.done;
    const lines = main.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).msg);
    assert.ok(!lines.includes("SMS test mode"), lines.join(", "));
  } finally {
    await main.reap();
  }
});

redisTest(
  "on Redis: `listening` says so, the password never shows, SIGTERM closes it (start task's permissions)",
  async () => {
    const password = "r3dis-Pa55word-9f8e";
    const redis = await startRedis({ password });
    const fake = startFake();
    // A stale password in the URL: STATE_REDIS_PASSWORD overrides it.
    const url = `redis://:Url-Pa55word-7d6c@127.0.0.1:${redis.port}`;
    const main = spawnMain(
      {
        VERTEXSMS_API_URL: fake.url,
        STATE_URL: url,
        STATE_REDIS_PASSWORD: password,
        STATE_SECRET: "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s",
      },
      START_FLAGS,
    );
    try {
      const listening = await main.line("listening");
      assert.equal(listening.state, "redis");
      const port = Number(String(listening.address).split(":").pop());
      const res = await modernCall(`http://127.0.0.1:${port}/mcp`, "send_sms", {
        to: "+37069912345",
        from: "VertexSMS",
        message: "fleet",
        idempotencyKey: "process-redis",
      }, AUTH);
      const { result } = await res.json();
      assert.equal(result.structuredContent?.status, "sent", JSON.stringify(result));
      const keys = await redis.command("DBSIZE");
      assert.ok(Number(/^:(\d+)/.exec(keys)?.[1]) >= 3, `the guards wrote to Redis: ${keys}`);
      main.child.kill("SIGTERM");
      assert.equal((await main.child.status).code, 0);
      await main.done;
      const output = main.lines.join("\n");
      for (const secret of [password, "Url-Pa55word-7d6c"]) {
        assert.ok(!output.includes(secret), "no Redis password in the output");
      }
      assert.deepEqual(main.lines.filter((l) => l.trim() !== "" && !l.startsWith("{")), []);
    } finally {
      await main.reap();
      await fake.shutdown();
      await redis.close();
    }
  },
);

redisTest(
  "a Redis that cannot be reached stops the start with one line, its password hidden",
  async () => {
    const line = await refusedAtStart({
      STATE_URL: `redis://:Url-Pa55word-7d6c@127.0.0.1:${freePort()}`,
    });
    assert.match(
      line,
      /^Invalid configuration: STATE_URL must be a Redis server this process can use: cannot connect to Redis \(.*ECONNREFUSED.*\) \(got "redis:\/\/:\*\*\*@127\.0\.0\.1:\d+"\)\.$/,
    );
  },
);

Deno.test("STATE_URL beside a KV database stops the start with one line", async () => {
  const line = await refusedAtStart({
    STATE_URL: "redis://:Url-Pa55word-7d6c@127.0.0.1:6379",
    KV_PATH: "/var/lib/vertexsms-mcp/kv.sqlite",
  });
  assert.match(line, /^Invalid configuration: KV_PATH must be empty or "off" when STATE_URL/);
  assert.ok(!line.includes("Url-Pa55word"));
});
