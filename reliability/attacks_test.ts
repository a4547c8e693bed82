/**
 * The money guards attacked the way an attacker (or a confused agent) would,
 * against the real server and the fake VertexSMS: every test counts the
 * `POST /sms`, `/senderId` and `/hlr` requests VertexSMS received, exactly,
 * in both protocol eras where the paths differ, and across two instances
 * sharing Deno KV (and Redis) where state is involved. Each prints a `figure attack` line.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  connectV2,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  legacyCall as rawLegacyCall,
  MODERN,
  modernCall,
  resultOf,
  rpc,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { SAMPLE_HLR_CALLBACK } from "../testing/samples.ts";
import { MemoryStore } from "../state/mod.ts";

const TOKEN = DEMO_TOKENS.full;
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const SMS = { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" };
const sends = (h: { fake: Harness["fake"] }, token?: string) => h.fake.count("POST /sms", token);
/** A 2026-07-28 client that can be asked (form elicitation). */
const ELICIT = { elicitation: { form: {} } };

/** A 2025-era `tools/call` with this test's token unless told otherwise. */
const legacyCall = (
  url: string,
  name: string,
  args: unknown,
  headers: Record<string, string> = AUTH,
) => rawLegacyCall(url, name, args, headers);

const callIn =
  (era: "2025" | "2026") => (url: string, name: string, args: unknown, headers = AUTH) =>
    era === "2025" ? legacyCall(url, name, args, headers) : modernCall(url, name, args, headers);

/** Run tasks at most `width` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

for (const era of ["2025", "2026"] as const) {
  const call = callIn(era);

  Deno.test(`${era}: an answer lost after the SMS left (5xx, reset, garbled) is never sent twice`, async () => {
    const h = startHarness();
    try {
      const faults = [
        { kind: "status" as const, status: 504 },
        { kind: "status" as const, status: 502 },
        { kind: "reset" as const },
        { kind: "not-json" as const },
      ];
      for (const [i, fault] of faults.entries()) {
        h.fake.inject({ route: "POST /sms", times: 1, ...fault });
        const args = { ...SMS, idempotencyKey: `lost-${era}-${i}` };
        const first = envelopeOf(await resultOf(await call(h.mcpUrl, "send_sms", args)));
        assert.equal(first.outcome_unknown, true, `${fault.kind}: outcome unknown`);
        assert.equal(first.retryable, false, `${fault.kind}: not retryable`);
        const retry = envelopeOf(await resultOf(await call(h.mcpUrl, "send_sms", args)));
        assert.deepEqual(
          retry,
          { ...first, request_id: retry.request_id },
          "the retry is replayed",
        );
      }
      assert.equal(sends(h), faults.length, "one SMS per key, whatever the fault");
      console.log(
        `figure attack ${era}: 4 ambiguous send failures (504, 502, reset, garbled 200) + 4 retries ` +
          `with their keys → ${sends(h)} POST /sms, every one outcome_unknown, not retryable`,
      );
    } finally {
      await h.close();
    }
  });

  Deno.test(`${era}: re-spelled or replayed confirmation tokens send nothing, on either instance`, async () => {
    const pair = await startPair();
    try {
      const quote = (await resultOf(
        await call(pair.a.mcpUrl, "send_sms", { ...SMS, dryRun: true }),
      )).structuredContent;
      const token = quote.confirmation_token as string;
      const sent = await resultOf(
        await call(pair.a.mcpUrl, "send_sms", { ...SMS, confirmationToken: token }),
      );
      assert.equal(sent.isError, undefined, JSON.stringify(sent));
      const dot = token.lastIndexOf(".");
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const flipped = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) ^ 1];
      const variants = [
        token,
        `${token}=`,
        `${token.slice(0, dot + 1)} ${token.slice(dot + 1)}`,
        `${token.slice(0, dot + 5)}\n${token.slice(dot + 5)}`,
        flipped,
      ];
      for (const variant of variants) {
        for (const h of [pair.a, pair.b]) {
          const refused = await resultOf(
            await call(h.mcpUrl, "send_sms", { ...SMS, confirmationToken: variant }),
          );
          assert.equal(
            envelopeOf(refused).code,
            "INVALID_INPUT",
            JSON.stringify(variant.slice(-6)),
          );
        }
      }
      assert.equal(sends(pair), 1, "one token, one SMS");
      console.log(
        `figure attack ${era}: 1 confirmation token + ${variants.length * 2} replays and ` +
          `re-spellings on two instances → ${sends(pair)} POST /sms`,
      );
    } finally {
      await pair.close();
    }
  });

  Deno.test(`${era}: __proto__ in arguments is refused, not dropped`, async () => {
    const h = startHarness();
    try {
      const raw = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_sms",` +
        `"arguments":{"to":"+37069912345","from":"VertexSMS","message":"hi",` +
        `"__proto__":{"dryRun":true}}${
          era === "2026"
            ? `,"_meta":{"io.modelcontextprotocol/protocolVersion":"${MODERN}",` +
              `"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},` +
              `"io.modelcontextprotocol/clientCapabilities":{}}`
            : ""
        }}}`;
      const headers = era === "2026"
        ? {
          ...AUTH,
          "MCP-Protocol-Version": MODERN,
          "Mcp-Method": "tools/call",
          "Mcp-Name": "send_sms",
        }
        : AUTH;
      const error = envelopeOf(await resultOf(await rpc(h.mcpUrl, raw, headers)));
      assert.equal(error.code, "INVALID_INPUT");
      assert.deepEqual(error.details, [{ path: "__proto__", message: "unknown field" }]);
      assert.equal(sends(h), 0);
    } finally {
      await h.close();
    }
  });
}

for (const era of ["2025", "2026"] as const) {
  const call = callIn(era);
  const BATCH = {
    to: ["+37069500001", "+37069500002", "+37069500003"],
    from: SMS.from,
    message: SMS.message,
  };

  Deno.test(`${era}: an approval covers exactly one batch, once: other batches, re-spelled arguments and replays send nothing more`, async () => {
    const pair = await startPair({ SMS_CONFIRMATION: "require" });
    const batchOn = async (h: Harness, args: Record<string, unknown>) =>
      await resultOf(await call(h.mcpUrl, "send_sms_batch", args));
    try {
      const asked = (await batchOn(pair.a, BATCH)).structuredContent;
      assert.equal(asked.status, "approval_required");
      const page = await (await fetch(asked.approval_url)).text();
      const formToken = /name="form_token" value="([^"]+)"/.exec(page)![1]!;
      const decided = await fetch(asked.approval_url, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Origin: new URL(asked.approval_url).origin,
        },
        body: new URLSearchParams({ action: "approve", form_token: formToken }),
        redirect: "manual",
      });
      await decided.body?.cancel();
      const approvalId = asked.approval_id as string;
      const attempts: Record<string, unknown>[] = [
        { ...BATCH, to: ["+37069500009"], approvalId }, // another batch
        { ...BATCH, to: BATCH.to.slice(0, 2), approvalId }, // a subset
        { ...BATCH, to: [...BATCH.to, "+37069500004"], approvalId }, // one more
        { ...BATCH, to: BATCH.to.toReversed(), approvalId }, // another order
        { ...BATCH, message: `${SMS.message} `, approvalId }, // another text
        { ...SMS, to: BATCH.to[0], approvalId }, // send_sms with the batch's approval
        { ...BATCH, approvalId: `${approvalId}=` },
        { ...BATCH, approvalId: approvalId.toUpperCase() },
      ];
      for (const [i, args] of attempts.entries()) {
        const tool = "to" in args && Array.isArray(args.to) ? "send_sms_batch" : "send_sms";
        const h = i % 2 ? pair.b : pair.a;
        const refused = await resultOf(await call(h.mcpUrl, tool, args));
        assert.equal(envelopeOf(refused).code, "INVALID_INPUT", JSON.stringify(args).slice(0, 80));
      }
      assert.equal(sends(pair), 0);
      const sent = (await batchOn(pair.a, { ...BATCH, approvalId })).structuredContent;
      assert.equal(sent.sent, 3);
      // Replayed on either instance: the same results; under a new key: refused, used.
      for (const h of [pair.b, pair.a]) {
        assert.deepEqual((await batchOn(h, { ...BATCH, approvalId })).structuredContent, sent);
      }
      const newKey = await batchOn(pair.b, { ...BATCH, approvalId, idempotencyKey: "fresh" });
      assert.match(String(envelopeOf(newKey).message), /already used/);
      assert.equal(sends(pair), 3);
      console.log(
        `figure attack ${era}: 1 batch approval (3 recipients) + ${attempts.length} altered uses ` +
          `+ 3 replays on two instances → ${sends(pair)} POST /sms`,
      );
    } finally {
      await pair.close();
    }
  });

  Deno.test(`${era}: a batch's confirmation token, replayed or re-spelled on either instance, sends the batch once`, async () => {
    const pair = await startPair();
    try {
      const quote = (await resultOf(
        await call(pair.a.mcpUrl, "send_sms_batch", { ...BATCH, dryRun: true }),
      )).structuredContent;
      const token = quote.confirmation_token as string;
      const sent = await resultOf(
        await call(pair.b.mcpUrl, "send_sms_batch", { ...BATCH, confirmationToken: token }),
      );
      assert.equal(sent.structuredContent?.sent, 3, JSON.stringify(sent));
      for (const variant of [token, `${token}=`, ` ${token}`, `${token.slice(0, -1)}A`]) {
        for (const h of [pair.a, pair.b]) {
          const refused = await resultOf(
            await call(h.mcpUrl, "send_sms_batch", { ...BATCH, confirmationToken: variant }),
          );
          assert.equal(envelopeOf(refused).code, "INVALID_INPUT");
        }
      }
      assert.equal(sends(pair), 3, "one token, one batch");
    } finally {
      await pair.close();
    }
  });
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`2026: one user's accept, replayed, sends once; the replay is asked again (${backend})`, async () => {
    const pair = await startPair({}, undefined, backend);
    const ask = (url: string, params: Record<string, unknown> = {}) =>
      modernCall(url, "send_sms", SMS, AUTH, { capabilities: ELICIT, params });
    try {
      const question = await resultOf(await ask(pair.a.mcpUrl));
      assert.equal(question.resultType, "input_required");
      const answer = {
        requestState: question.requestState,
        inputResponses: { confirm: { action: "accept" } },
      };
      const sent = await resultOf(await ask(pair.a.mcpUrl, answer));
      assert.equal(sent.structuredContent?.status, "sent", JSON.stringify(sent));
      for (const h of [pair.a, pair.b, pair.a]) {
        const replay = await resultOf(await ask(h.mcpUrl, answer));
        assert.equal(replay.resultType, "input_required", "asked again, not sent");
      }
      assert.equal(sends(pair), 1);
      console.log(
        `figure attack 2026 (${backend}): 1 accept posted 4 times across two instances → ${
          sends(pair)
        } POST /sms`,
      );
    } finally {
      await pair.close();
    }
  });
}

Deno.test("KV_PATH=off: a flood of made-up tokens cannot evict a customer's idempotency record", async () => {
  // The store `KV_PATH=off` gives, at a size the flood could fill many times over.
  const store = new MemoryStore({ maxEntries: 100, maxPerOwner: 50 });
  const h = startHarness({ env: { UNAUTH_RATE_LIMIT_PER_MINUTE: "100000" }, store });
  try {
    const args = { ...SMS, idempotencyKey: "customer-order-7" };
    await resultOf(await legacyCall(h.mcpUrl, "send_sms", args));
    const before = store.size;
    const flood = await pool(
      Array.from({ length: 400 }, (_, i) => async () => {
        const res = await legacyCall(
          h.mcpUrl,
          "send_sms",
          { ...SMS, idempotencyKey: `flood-${i}` },
          { Authorization: `Bearer madeup-${i}-${crypto.randomUUID()}` },
        );
        await res.body?.cancel();
        return res.status;
      }),
      16,
    );
    assert.ok(flood.every((s) => s === 401));
    assert.equal(store.size, before, "made-up tokens left no state");
    const retry = await resultOf(await legacyCall(h.mcpUrl, "send_sms", args));
    assert.equal(retry.isError, undefined);
    assert.equal(sends(h, TOKEN), 1, "the customer's retry was replayed, not sent");
    console.log(
      `figure attack: 400 sends with made-up tokens (401 each) → in-memory state ${before} → ` +
        `${store.size} entries; the customer's retry replayed (${sends(h, TOKEN)} POST /sms)`,
    );
  } finally {
    await h.close();
  }
});

for (const { backend, test } of SHARED_BACKENDS) {
  test(`rejected tokens grow no shared state (${backend})`, async () => {
    const pair = await startPair({ UNAUTH_RATE_LIMIT_PER_MINUTE: "100000" }, undefined, backend);
    const kv = backend === "kv" ? await Deno.openKv(pair.path) : null;
    const entries = async () => {
      if (!kv) return Number(/^:(\d+)/.exec(await pair.redis!.command("DBSIZE"))?.[1]);
      let n = 0;
      for await (const _ of kv.list({ prefix: [] })) n++;
      return n;
    };
    try {
      // Warm up what every instance keeps once (the shared secret and its check value).
      await resultOf(await modernCall(pair.a.mcpUrl, "send_sms", SMS, AUTH));
      const before = await entries();
      await pool(
        Array.from({ length: 120 }, (_, i) => async () => {
          const h = i % 2 ? pair.a : pair.b;
          const headers = { Authorization: `Bearer madeup-${i}-${crypto.randomUUID()}` };
          const calls = [
            modernCall(h.mcpUrl, "send_sms", { ...SMS, idempotencyKey: `k${i}` }, headers),
            legacyCall(
              h.mcpUrl,
              "lookup_hlr",
              { msisdn: "+37069912345", idempotencyKey: `h${i}` },
              headers,
            ),
            legacyCall(h.mcpUrl, "register_msisdn_sender", { msisdn: "+37069555555" }, headers),
            modernCall(h.mcpUrl, "send_sms_batch", {
              to: ["+37069500001", "+37069500002", "+37069500003"],
              from: SMS.from,
              message: SMS.message,
              idempotencyKey: `b${i}`,
            }, headers),
          ];
          for (const res of await Promise.all(calls)) await res.body?.cancel();
        }),
        8,
      );
      assert.ok(before > 0, "the warm-up wrote the secret's entries");
      assert.equal(await entries(), before, "no entry left by a rejected token");
      console.log(
        `figure attack (${backend}): 480 calls with made-up tokens on two instances → entries ` +
          `${before} → ` +
          `${await entries()}`,
      );
    } finally {
      kv?.close();
      await pair.close();
    }
  });
}

Deno.test("made-up tokens are limited per address; batches are refused, bounded and stop at a 401", async () => {
  const h = startHarness({ env: { UNAUTH_RATE_LIMIT_PER_MINUTE: "20", TRUST_PROXY: "true" } });
  const from = (ip: string, token: string) => ({
    Authorization: `Bearer ${token}`,
    "X-Forwarded-For": ip,
  });
  try {
    const ok = await resultOf(
      await legacyCall(h.mcpUrl, "get_operator", { operatorId: 493 }, from("203.0.113.5", TOKEN)),
    );
    assert.equal(ok.isError, undefined, "a real token, accepted by VertexSMS");
    const statuses = [];
    for (let i = 0; i < 80; i++) {
      const res = await legacyCall(
        h.mcpUrl,
        "get_operator",
        { operatorId: 493 },
        from("203.0.113.5", `madeup-${i}`),
      );
      await res.body?.cancel();
      statuses.push(res.status);
    }
    const upstream = h.fake.requests.filter((r) => r.token?.startsWith("madeup-")).length;
    assert.equal(upstream, 20, "only the limit's worth reached VertexSMS");
    assert.equal(statuses.filter((s) => s === 429).length, 60);
    const still = await legacyCall(
      h.mcpUrl,
      "get_operator",
      { operatorId: 493 },
      from("203.0.113.5", TOKEN),
    );
    assert.equal(still.status, 200, "the token VertexSMS accepted still passes from there");
    await still.body?.cancel();

    // Batches, from another address.
    h.fake.reset();
    const batch = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        jsonrpc: "2.0",
        id: i,
        method: "tools/call",
        params: { name: "get_operator", arguments: { operatorId: 493 } },
      }));
    const other = from("198.51.100.9", "another-madeup-token");
    const modern = await rpc(h.mcpUrl, batch(100), {
      ...other,
      "MCP-Protocol-Version": "2025-11-25",
    });
    assert.equal(modern.status, 400, "no batches on 2025-06-18 and later");
    await modern.body?.cancel();
    const tooBig = await rpc(h.mcpUrl, batch(11), other);
    assert.equal(tooBig.status, 400, "at most 10 on 2025-03-26");
    await tooBig.body?.cancel();
    const old = await rpc(h.mcpUrl, batch(10), other);
    assert.equal(old.status, 401, "the batch stopped at the token's rejection");
    await old.body?.cancel();
    assert.equal(h.fake.count("GET /operators"), 1, "one upstream call for a batch of 10");
    console.log(
      "figure attack: 80 calls with made-up tokens from one address (limit 20/min) → 20 reached " +
        "VertexSMS, 60 answered 429; a batch of 100 (2025-11-25) → 400; a batch of 10 with a " +
        "rejected token → 1 upstream call",
    );
  } finally {
    await h.close();
  }
});

Deno.test("80 concurrent calls with made-up tokens from one address: at most the limit reach VertexSMS", async () => {
  // The default limit (60 a minute); VertexSMS slow to answer, so every call is in flight at once.
  const h = startHarness({ env: { TRUST_PROXY: "true" } });
  h.fake.inject({ route: "GET /operators", kind: "slow", delayMs: 300 });
  try {
    const statuses = await Promise.all(Array.from({ length: 80 }, async (_, i) => {
      const res = await legacyCall(h.mcpUrl, "get_operator", { operatorId: 493 }, {
        Authorization: `Bearer concurrent-madeup-${i}`,
        "X-Forwarded-For": "203.0.113.77",
      });
      await res.body?.cancel();
      return res.status;
    }));
    const upstream = h.fake.requests.filter((r) => r.token?.startsWith("concurrent-madeup-"));
    assert.equal(upstream.length, 60, "each call took its place before VertexSMS was asked");
    assert.equal(statuses.filter((s) => s === 429).length, 20);
    // A real token new to the server, 100 calls at once from another address: the first asks
    // VertexSMS, the others wait for its verdict, then all pass.
    const burst = await Promise.all(Array.from({ length: 100 }, async () => {
      const res = await legacyCall(h.mcpUrl, "get_operator", { operatorId: 493 }, {
        ...AUTH,
        "X-Forwarded-For": "198.51.100.20",
      });
      await res.body?.cancel();
      return res.status;
    }));
    assert.equal(burst.filter((s) => s === 200).length, 100);
    console.log(
      `figure attack: 80 concurrent calls with made-up tokens from one address (limit 60/min) → ` +
        `${upstream.length} reached VertexSMS, ${statuses.filter((s) => s === 429).length} ` +
        "answered 429; 100 concurrent calls with a real token new to the server → 100 answered",
    );
  } finally {
    await h.close();
  }
});

Deno.test("the spend cap prices the dearer country when correctBy disagrees with the number", async () => {
  const h = startHarness({
    env: {
      SMS_DAILY_SPEND_CAP_EUR: "0.50",
      SMS_SENDS_PER_MINUTE: "0",
      SMS_RECIPIENTS_PER_HOUR: "0",
    },
  });
  const token = `cap-${crypto.randomUUID()}`;
  h.fake.addToken(token, ["sms:send", "sms:rates"]);
  const row = (code: string, rate: string) => ({
    CountryName: code,
    CountryCode: code,
    Operator: "All",
    Network: "All",
    MCC: "1",
    MNC: null,
    Rate: rate,
  });
  h.fake.setRates(token, [row("DE", "0.077"), row("US", "0.011")]);
  try {
    const codes = [];
    for (let i = 0; i < 12; i++) {
      const result = await resultOf(
        await legacyCall(h.mcpUrl, "send_sms", {
          to: "+4915112345678",
          from: "VertexSMS",
          message: `m${i}`,
          correctBy: "US",
        }, { Authorization: `Bearer ${token}` }),
      );
      codes.push(result.isError ? envelopeOf(result).code : "sent");
    }
    assert.equal(sends(h, token), 6, "floor(0.50 / 0.077) = 6, not 12 at the US rate");
    assert.deepEqual(codes.slice(6), Array(6).fill("RATE_LIMITED"));
    console.log(
      `figure attack: cap €0.50, 12 sends to a German number with correctBy US → ${
        sends(h, token)
      } sent (€0.462 at the German rate), 6 refused`,
    );
  } finally {
    await h.close();
  }
});

Deno.test("the spend cap follows the parts VertexSMS reports, and a split character is one part more", async () => {
  const h = startHarness({
    env: {
      SMS_DAILY_SPEND_CAP_EUR: "0.20",
      SMS_SENDS_PER_MINUTE: "0",
      SMS_RECIPIENTS_PER_HOUR: "0",
    },
  });
  const token = `parts-${crypto.randomUUID()}`;
  h.fake.addToken(token, ["sms:send", "sms:rates"]);
  h.fake.setRates(token, [{ CountryCode: "LT", CountryName: "Lithuania", Rate: "0.052" }]);
  const auth = { Authorization: `Bearer ${token}` };
  try {
    // The fake bills 2 parts for +37069555555 (X-VertexSMS-Amount-Sent: 2): €0.104 a send.
    const codes = [];
    for (let i = 0; i < 4; i++) {
      const result = await resultOf(
        await legacyCall(h.mcpUrl, "send_sms", {
          to: "+37069555555",
          from: "VertexSMS",
          message: `short ${i}`,
        }, auth),
      );
      codes.push(result.isError ? envelopeOf(result).code : result.structuredContent.parts);
    }
    assert.deepEqual(codes, [2, 2, "RATE_LIMITED", "RATE_LIMITED"]);
    assert.equal(sends(h, token), 2, "on estimates alone (1 part, €0.052) three would have gone");

    const boundary = `${"a".repeat(152)}€${"a".repeat(152)}`;
    for (const call of [legacyCall, modernCall]) {
      const quote = (await resultOf(
        await call(h.mcpUrl, "send_sms", {
          to: "+37069912345",
          from: "VertexSMS",
          message: boundary,
          dryRun: true,
        }, auth),
      )).structuredContent;
      assert.equal(quote.parts, 3, "€ cannot straddle two parts");
      assert.equal(quote.estimated_cost_eur, "0.156");
    }
    console.log(
      `figure attack: cap €0.20, sends billed 2 parts each → ${sends(h, token)} sent; ` +
        "152 + € + 152 characters quoted as 3 parts",
    );
  } finally {
    await h.close();
  }
});

Deno.test("a token echoed back in any form never reaches the model", async () => {
  const h = startHarness();
  try {
    h.fake.inject({
      route: "POST /sms",
      kind: "status",
      status: 400,
      times: 1,
      body: {
        message: `Rejected for token ${encodeURIComponent(TOKEN)} / ${TOKEN.toUpperCase()} / ` +
          `${TOKEN.slice(0, 12)}`,
      },
    });
    const result = await resultOf(await legacyCall(h.mcpUrl, "send_sms", SMS));
    const text = JSON.stringify(result).toLowerCase();
    for (let i = 0; i + 8 <= TOKEN.length; i++) {
      assert.ok(!text.includes(TOKEN.slice(i, i + 8).toLowerCase()), "no 8 characters of it");
    }
    assert.match(envelopeOf(result).message as string, /Rejected for token \[redacted\]/);
  } finally {
    await h.close();
  }
});

Deno.test("PIN texts are limited per token and per number", async () => {
  const h = startHarness();
  const c = await connectV2(h.mcpUrl, TOKEN);
  try {
    const codes = [];
    for (let i = 0; i < 30; i++) {
      const result = await c.client.callTool({
        name: "register_msisdn_sender",
        arguments: { msisdn: "+37069555555" },
      });
      codes.push(result.isError ? envelopeOf(result).code : "pin_sent");
    }
    assert.equal(codes.filter((c) => c === "pin_sent").length, 5);
    const other = await modernCall(h.mcpUrl, "register_msisdn_sender", { msisdn: "+37069555555" }, {
      Authorization: `Bearer ${DEMO_TOKENS["sender:write"]}`,
    });
    assert.equal(envelopeOf(await resultOf(other)).code, "RATE_LIMITED", "per number, any token");
    assert.equal(h.fake.count("POST /senderId"), 5);
    console.log(
      `figure attack: 31 PIN requests for one number (two tokens, PIN_TEXTS_PER_HOUR=5) → ` +
        `${h.fake.count("POST /senderId")} PIN texts`,
    );
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { backend, test } of SHARED_BACKENDS) {
  test(`an HLR result never sits in clear in the shared state (${backend}); a spoiled delivery spends its id`, async () => {
    const pair = await startPair({}, (b) => ({ PUBLIC_URL: b.server.url }), backend);
    // Redis keeps no file: every command it receives is recorded instead.
    const monitor = await pair.redis?.monitor();
    try {
      for (const { connect } of CLIENTS) {
        const c = await connect(pair.a.mcpUrl, DEMO_TOKENS["hlr:lookup"]);
        try {
          const result = await c.client.callTool({
            name: "lookup_hlr",
            arguments: { msisdn: "+37069912345", waitSeconds: 10 },
          });
          assert.equal(result.structuredContent?.imsi, SAMPLE_HLR_CALLBACK.imsi);
        } finally {
          await c.close();
        }
      }
      let bytes = "";
      if (monitor) {
        bytes = await monitor.stop();
        assert.ok(bytes.includes('hlr\\",\\"value'), "a result crossed instances through Redis");
      }
      for (const suffix of monitor ? [] : ["", "-wal", "-shm"]) {
        bytes += await Deno.readFile(pair.path + suffix).then(
          (b) => new TextDecoder("latin1").decode(b),
          () => "",
        );
      }
      assert.ok(bytes.length > 0);
      assert.ok(!bytes.includes(String(SAMPLE_HLR_CALLBACK.imsi)), `no IMSI in ${backend}`);
      assert.equal(pair.fake.count("POST /hlr"), 2);

      // A delivery that cannot be read spends the id: the lookup fails, a genuine one comes too late.
      pair.fake.inject({ kind: "no-callback" });
      const lookup = modernCall(pair.a.mcpUrl, "lookup_hlr", {
        msisdn: "+37069912345",
        waitSeconds: 10,
      }, {
        Authorization: `Bearer ${DEMO_TOKENS["hlr:lookup"]}`,
      });
      while (pair.fake.count("POST /hlr") < 3) await new Promise((r) => setTimeout(r, 10));
      const url = (pair.fake.requests.filter((r) => r.path === "/hlr")[2]!.body as {
        callBackUrl: string;
      }).callBackUrl;
      const garbled = await fetch(url, { method: "POST", body: "<html>oops</html>" });
      assert.equal(garbled.status, 400);
      await garbled.body?.cancel();
      const error = envelopeOf(await resultOf(await lookup));
      assert.equal(error.code, "UPSTREAM_BAD_RESPONSE");
      const late = await fetch(url, { method: "POST", body: JSON.stringify(SAMPLE_HLR_CALLBACK) });
      assert.equal(late.status, 404, "the id was spent by the first attempt");
      await late.body?.cancel();
    } finally {
      await pair.close();
    }
  });
}

Deno.test("plain http:// off loopback is warned about at start", async () => {
  const h = startHarness({ env: { PUBLIC_URL: "http://mcp.example.com" } });
  try {
    const warned = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "configuration");
    assert.equal(warned.length, 1);
    assert.equal(warned[0].level, "warn");
    assert.match(warned[0].warning, /^PUBLIC_URL is plain http:\/\//);
  } finally {
    await h.close();
  }
});
