/**
 * The shared state failing under a running server: with Redis stopped or
 * hung mid-run, every billable call fails closed (no request reaches the fake
 * VertexSMS, a clear retryable `UPSTREAM_UNAVAILABLE`) within seconds, and
 * the server recovers by itself when Redis answers again. And a state failure
 * after a request left never turns it into an error that frees its key, nor
 * hides the error that came first.
 */
import assert from "node:assert/strict";
import { ServiceError } from "../core/errors.ts";
import { hmacKey } from "../core/keys.ts";
import { Logger } from "../core/log.ts";
import { Money } from "../money/guards.ts";
import type { GuardContext } from "../money/types.ts";
import { sendCall } from "../testing/money.ts";
import { HlrBroker } from "../services/hlr_broker.ts";
import {
  type Expiring,
  type Mailboxes,
  MemoryMailboxes,
  MemoryStore,
  RedisSetupError,
  redisState,
  stateUnavailable,
  type Store,
  type StoreCommit,
  type StoreKey,
} from "../state/mod.ts";
import {
  connectV2,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  startHarness,
} from "../testing/harness.ts";
import { type RedisServer, redisTest, startRedis } from "../testing/redis.ts";

const TOKEN = DEMO_TOKENS.full;
const SMS = { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" };
const STATE_DOWN = /shared state \(Redis\) cannot be reached; nothing was sent/;

/** A store that works until switched off, then fails every operation like an unreachable Redis. */
class SwitchedStore implements Store {
  readonly kind = "memory";
  down = false;
  readonly #inner = new MemoryStore();

  getMany<T extends Expiring>(keys: StoreKey[]) {
    if (this.down) return Promise.reject(stateUnavailable("test", new Error("down")));
    return this.#inner.getMany<T>(keys);
  }

  commit(commit: StoreCommit) {
    if (this.down) return Promise.reject(stateUnavailable("test", new Error("down")));
    return this.#inner.commit(commit);
  }
}

function guards(store: Store, cap = 0) {
  return new Money({
    store,
    secret: new TextEncoder().encode("unit-test-secret-of-at-least-32-bytes"),
    limits: {
      sendsPerMinute: 5,
      recipientsPerHour: 5,
      dailySpendCapMicros: cap,
      pinTextsPerHour: 5,
    },
    confirmation: "off",
    leaseMs: 60_000,
    pollMs: 5,
  });
}

const ctx: GuardContext = {
  principal: () => Promise.resolve("principal-A"),
  signal: new AbortController().signal,
};

Deno.test("state failing after the SMS left: the send is reported sent, its key kept, never resent", async () => {
  const store = new SwitchedStore();
  const money = guards(store, 1_000_000);
  let sent = 0;
  const call = sendCall(() => {
    sent++;
    store.down = true; // the state fails while VertexSMS handles the send
    return Promise.resolve({ message_id: "42", status: "sent" });
  }, { idempotencyKey: "after-send", billedParts: () => 2 });
  // The spend correction (2 parts billed, 1 estimated) cannot be written: the send stands.
  assert.deepEqual(await money.send(ctx, call), { message_id: "42", status: "sent" });
  store.down = false;
  // The outcome could not be recorded either: the claim stays pending, never freed for a resend.
  const retry = money.send({ ...ctx, signal: AbortSignal.timeout(200) }, call);
  await assert.rejects(
    retry,
    (e: unknown) => e instanceof ServiceError && /cancelled/.test(e.message),
  );
  assert.equal(sent, 1);
});

Deno.test("state failing after a refusal: the caller hears the refusal, not the failed refund", async () => {
  const store = new SwitchedStore();
  const money = guards(store);
  const refused = new ServiceError("VERTEX_SEND_FAILED", "bad sender");
  const failing = () => {
    store.down = true;
    return Promise.reject(refused);
  };
  await assert.rejects(() => money.send(ctx, sendCall(failing)), (e) => e === refused);
  store.down = false;
  await assert.rejects(() => money.pinText(ctx, "+37069912345", failing), (e) => e === refused);
});

Deno.test("HLR hand-over: a receive failing after the lookup left is an unknown outcome; a failed release is quiet", async () => {
  const inner = new MemoryMailboxes();
  const broken: Mailboxes = {
    kind: "test",
    reserve: (box, id, ttl) => inner.reserve(box, id, ttl),
    deliver: (box, id, value) => inner.deliver(box, id, value),
    receive: () => Promise.reject(stateUnavailable("test", new Error("down"))),
    release: () => Promise.reject(stateUnavailable("test", new Error("down"))),
  };
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const nameKey = await hmacKey(crypto.getRandomValues(new Uint8Array(32)));
  const broker = new HlrBroker({
    mailboxes: broken,
    sealKey: () => Promise.resolve(key),
    nameKey: () => Promise.resolve(nameKey),
  });
  const wait = await broker.open("caller");
  await assert.rejects(
    () => wait.wait(1_000, new AbortController().signal),
    (e: unknown) =>
      e instanceof ServiceError && e.code === "UPSTREAM_UNAVAILABLE" && e.retryable === false &&
      e.facts.outcomeUnknown === true && /billed/.test(e.message),
  );
  await wait.close();
  assert.equal(broker.waiting, 0);
});

/** A server on a fresh Redis, with default limits (so every send reads and counts state). */
async function onRedis(
  socketTimeoutMs = 3000,
): Promise<{ redis: RedisServer; h: Harness; stateLogs: string[]; close(): Promise<void> }> {
  const redis = await startRedis();
  const stateLogs: string[] = [];
  const logger = new Logger("debug", (line) => stateLogs.push(line));
  const state = await redisState({ url: redis.url, socketTimeoutMs, pollMs: 100, logger });
  const h = startHarness({ state });
  await h.server.app.ready();
  return {
    redis,
    h,
    stateLogs,
    close: async () => {
      await h.close();
      await state.close();
      await redis.close();
    },
  };
}

/** Call until a send goes through (the client reconnecting), at most `ms`. */
async function untilSent(call: () => Promise<{ isError?: boolean }>, ms: number) {
  const until = Date.now() + ms;
  for (;;) {
    const result = await call();
    if (!result.isError) return result;
    if (Date.now() > until) assert.fail(`still failing after ${ms} ms: ${JSON.stringify(result)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

redisTest(
  "Redis stopped mid-run: billable calls fail closed at once, and recover when it returns",
  async () => {
    const { redis, h, stateLogs, close } = await onRedis();
    const c = await connectV2(h.mcpUrl, TOKEN);
    const call = (name: string, args: Record<string, unknown>) =>
      c.client.callTool({ name, arguments: args });
    try {
      assert.notEqual((await call("send_sms", SMS)).isError, true);
      assert.equal(h.fake.count("POST /sms"), 1);

      await redis.stop();
      const attempts = [
        ["send_sms", SMS],
        ["send_sms", { ...SMS, idempotencyKey: "while-down" }],
        ["lookup_hlr", { msisdn: "+37069912345", waitSeconds: 5 }],
        ["register_msisdn_sender", { msisdn: "+37069555555" }],
      ] as const;
      for (const [name, args] of attempts) {
        const started = performance.now();
        const error = envelopeOf(await call(name, args));
        const ms = performance.now() - started;
        assert.equal(error.code, "UPSTREAM_UNAVAILABLE", `${name}: ${error.message}`);
        assert.equal(error.retryable, true);
        assert.match(String(error.message), STATE_DOWN);
        assert.ok(ms < 1_000, `${name} failed in ${Math.round(ms)} ms`);
      }
      assert.equal(h.fake.count("POST /sms"), 1, "no SMS left unguarded");
      assert.equal(h.fake.count("POST /hlr"), 0);
      assert.equal(h.fake.count("POST /senderId"), 0);
      const callback = await fetch(`${h.server.url}/callbacks/hlr/${"x".repeat(43)}`, {
        method: "POST",
        body: "{}",
      });
      assert.equal(callback.status, 503, "a callback is answered 503, which VertexSMS may retry");
      await callback.body?.cancel();
      const lost = stateLogs.filter((l) => l.includes('"msg":"shared state connection lost"'));
      assert.equal(lost.length, 2, "one line per connection and outage, not per retry");

      // Back on the same port (empty: nothing persisted): the client reconnects by itself.
      await redis.start();
      const started = performance.now();
      const args = { ...SMS, idempotencyKey: "after-restart" };
      await untilSent(() => call("send_sms", args), 10_000);
      assert.notEqual((await call("send_sms", args)).isError, true, "the retry is replayed");
      assert.equal(h.fake.count("POST /sms"), 2, "one more SMS, for one key");
      assert.ok(stateLogs.some((l) => l.includes('"msg":"shared state reconnected"')));
      console.log(
        `figure shared state: Redis stopped → ${attempts.length} billable calls refused, 0 sent; ` +
          `restarted → sending again after ${Math.round(performance.now() - started)} ms`,
      );
    } finally {
      await c.close();
      await close();
    }
  },
);

redisTest(
  "Redis hung mid-run (SIGSTOP): calls fail within the socket timeout, then recover",
  async () => {
    const { redis, h, close } = await onRedis(600);
    const c = await connectV2(h.mcpUrl, TOKEN);
    try {
      assert.notEqual(
        (await c.client.callTool({ name: "send_sms", arguments: SMS })).isError,
        true,
      );
      redis.pause();
      const started = performance.now();
      const error = envelopeOf(await c.client.callTool({ name: "send_sms", arguments: SMS }));
      const ms = performance.now() - started;
      redis.resume();
      assert.equal(error.code, "UPSTREAM_UNAVAILABLE");
      assert.match(String(error.message), STATE_DOWN);
      assert.ok(ms < 3_000, `answered after ${Math.round(ms)} ms`);
      assert.equal(h.fake.count("POST /sms"), 1);
      await untilSent(() => c.client.callTool({ name: "send_sms", arguments: SMS }), 10_000);
      assert.equal(h.fake.count("POST /sms"), 2);
      console.log(
        `figure shared state: Redis hung (socket timeout 600 ms) → refused after ${
          Math.round(ms)
        } ms`,
      );
    } finally {
      redis.resume();
      await c.close();
      await close();
    }
  },
);

redisTest(
  "Redis stopped while an SMS is on its way: the send is reported sent (its ledger entry logged as lost), not failed",
  async () => {
    const { redis, h, close } = await onRedis();
    const c = await connectV2(h.mcpUrl, TOKEN);
    try {
      h.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 500, times: 1 });
      const pending = c.client.callTool({
        name: "send_sms",
        arguments: { ...SMS, idempotencyKey: "in-flight" },
      });
      while (h.fake.count("POST /sms") < 1) await new Promise((r) => setTimeout(r, 5));
      await redis.stop();
      const result = await pending;
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.equal(result.structuredContent.status, "sent");
      assert.equal(h.fake.count("POST /sms"), 1);
      // Its ledger entry could not be written either: logged (no number in it), not an error.
      const failed = h.logs.map((l) => JSON.parse(l)).filter((l) =>
        l.msg === "ledger write failed"
      );
      assert.deepEqual(failed.map((l) => [l.level, l.messages]), [["warn", 1]]);
    } finally {
      await c.close();
      await close();
    }
  },
);

redisTest(
  "Redis that cannot serve is refused at start: unreachable, wrong password, evicting keys",
  async () => {
    const logs: string[] = [];
    const logger = new Logger("debug", (line) => logs.push(line));
    const free = await startRedis();
    const port = free.port;
    await free.close();
    let started = performance.now();
    await assert.rejects(
      () => redisState({ url: `redis://127.0.0.1:${port}`, logger }),
      (e: unknown) => e instanceof RedisSetupError && /ECONNREFUSED/.test(e.message),
    );
    const refusedMs = performance.now() - started;
    assert.ok(refusedMs < 2_000, `refused after ${Math.round(refusedMs)} ms`);

    const locked = await startRedis({ password: "the-right-one" });
    const evicting = await startRedis({
      args: ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
    });
    const unlimited = await startRedis({ args: ["--maxmemory-policy", "volatile-lru"] });
    const hidden = await startRedis({ args: ["--rename-command", "CONFIG", ""] });
    try {
      started = performance.now();
      await assert.rejects(
        () => redisState({ url: `redis://:wrong@127.0.0.1:${locked.port}` }),
        (e: unknown) => e instanceof RedisSetupError && /WRONGPASS/.test(e.message),
      );
      const opened = await redisState({
        url: `redis://:wrong@127.0.0.1:${locked.port}`,
        password: "the-right-one",
      });
      await opened.close();

      await assert.rejects(
        () => redisState({ url: evicting.url }),
        (e: unknown) =>
          e instanceof RedisSetupError && /maxmemory-policy allkeys-lru/.test(e.message) &&
          /noeviction/.test(e.message),
      );
      const warned = await redisState({ url: evicting.url, eviction: "warn", logger });
      await warned.close();
      const noLimit = await redisState({ url: unlimited.url, logger });
      await noLimit.close();
      const unchecked = await redisState({ url: hidden.url, logger });
      await unchecked.close();
      const lines = logs.map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg, l.policy]),
        [
          ["warn", "shared state: eviction policy", "allkeys-lru"],
          ["warn", "shared state: eviction policy", "volatile-lru"],
          ["warn", "shared state: cannot check maxmemory-policy", undefined],
        ],
      );
    } finally {
      for (const server of [locked, evicting, unlimited, hidden]) await server.close();
    }
  },
);
