/**
 * Money safety end to end, through both client SDKs: every guard is proven by
 * counting the `POST /sms` (or `/hlr`, `/senderId`) requests the fake
 * VertexSMS received — retried calls with a key (argument and header),
 * concurrent duplicates (one instance, and two sharing one Deno KV file or
 * one Redis server),
 * unknown outcomes, dry runs, confirmation by elicitation and by token,
 * the per-token throttles and the spend cap.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  connectV1,
  connectV2,
  DEMO_TOKENS,
  type ElicitationAnswer,
  envelopeOf,
  type Harness,
  MODERN,
  rpc,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";

const TOKEN = DEMO_TOKENS.full;
const SMS = { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" };
const sends = (h: Harness) => h.fake.count("POST /sms");

/** Run `body` with a harness and a connected client, closing both. */
async function withClient(
  connect: (typeof CLIENTS)[number]["connect"],
  env: Record<string, string>,
  body: (h: Harness, call: (args: Record<string, unknown>) => Promise<Result>) => Promise<void>,
) {
  const h = startHarness({ env });
  const c = await connect(h.mcpUrl, TOKEN);
  try {
    await body(h, (args) => c.client.callTool({ name: "send_sms", arguments: args }));
  } finally {
    await c.close();
    await h.close();
  }
}

// deno-lint-ignore no-explicit-any
type Result = any;

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: a retried send with the same idempotencyKey reaches VertexSMS once`, async () => {
    await withClient(connect, {}, async (h, call) => {
      const args = { ...SMS, idempotencyKey: "order-4821-otp" };
      const first = await call(args);
      assert.notEqual(first.isError, true, first.content?.[0]?.text);
      const again = await call(args);
      assert.deepEqual(again.structuredContent, first.structuredContent);
      assert.equal(sends(h), 1);

      const other = await call({ ...args, message: "Your code is 9999" });
      const error = envelopeOf(other);
      assert.equal(error.code, "INVALID_INPUT");
      assert.match(String(error.message), /already used .* different call/);
      assert.deepEqual(error.details, [{
        path: "idempotencyKey",
        message: "already used with different arguments",
      }]);
      assert.equal(sends(h), 1, "a reused key with other arguments sends nothing");

      const fresh = await call({ ...args, idempotencyKey: "order-4822-otp" });
      assert.notEqual(fresh.structuredContent.message_id, first.structuredContent.message_id);
      assert.equal(sends(h), 2);
    });
  });

  Deno.test(`${era}: the Idempotency-Key header works like the argument`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, TOKEN, { headers: { "Idempotency-Key": "hdr-7f3a" } });
    try {
      const first = await c.client.callTool({ name: "send_sms", arguments: SMS });
      const again = await c.client.callTool({ name: "send_sms", arguments: SMS });
      assert.equal(again.structuredContent.message_id, first.structuredContent.message_id);
      assert.equal(sends(h), 1);
      const clash = await c.client.callTool({
        name: "send_sms",
        arguments: { ...SMS, idempotencyKey: "another-key" },
      });
      assert.equal(envelopeOf(clash).code, "INVALID_INPUT");
      assert.match(String(envelopeOf(clash).message), /header differ/);
      assert.equal(sends(h), 1);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: concurrent duplicates wait for the first call: one send`, async () => {
    await withClient(connect, {}, async (h, call) => {
      h.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 300 });
      const args = { ...SMS, idempotencyKey: "burst-1" };
      const results = await Promise.all([call(args), call(args), call(args)]);
      const ids = results.map((r) => r.structuredContent?.message_id);
      assert.ok(ids[0], results[0].content?.[0]?.text);
      assert.deepEqual(ids, [ids[0], ids[0], ids[0]]);
      assert.equal(sends(h), 1);
    });
  });

  Deno.test(`${era}: a send whose outcome is unknown is not repeated under its key`, async () => {
    await withClient(connect, { UPSTREAM_TIMEOUT_MS: "150" }, async (h, call) => {
      h.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 400, times: 1 });
      const args = { ...SMS, idempotencyKey: "timeout-1" };
      const first = envelopeOf(await call(args));
      assert.equal(first.code, "UPSTREAM_TIMEOUT");
      assert.equal(first.outcome_unknown, true);
      const again = envelopeOf(await call(args));
      assert.equal(again.code, "UPSTREAM_TIMEOUT", "the same answer, not a second send");
      assert.equal(again.outcome_unknown, true);
      assert.equal(sends(h), 1);
    });
  });

  Deno.test(`${era}: a definite refusal frees the key (nothing was sent)`, async () => {
    await withClient(connect, {}, async (h, call) => {
      const refused = await call({ ...SMS, from: "NotMine", idempotencyKey: "fix-me" });
      assert.equal(envelopeOf(refused).code, "VERTEX_SEND_FAILED");
      const fixed = await call({ ...SMS, idempotencyKey: "fix-me" });
      assert.notEqual(fixed.isError, true, fixed.content?.[0]?.text);
      assert.equal(sends(h), 2, "the refused attempt and the corrected send");
    });
  });

  Deno.test(`${era}: a dry run quotes parts, encoding and cost and sends nothing`, async () => {
    await withClient(connect, {}, async (h, call) => {
      const result = await call({ ...SMS, message: "ą".repeat(71), dryRun: true });
      assert.notEqual(result.isError, true, result.content?.[0]?.text);
      const quote = result.structuredContent;
      assert.deepEqual(JSON.parse(result.content[0].text), quote);
      assert.equal(quote.dry_run, true);
      assert.equal(quote.parts, 2);
      assert.equal(quote.encoding, "UCS-2");
      assert.equal(quote.destination, "+37069912345");
      assert.equal(quote.country, "LT");
      assert.equal(quote.rate_eur, "0.050", "the highest LT operator rate");
      assert.equal(quote.estimated_cost_eur, "0.10");
      assert.equal(typeof quote.confirmation_token, "string");
      assert.equal(sends(h), 0);
      assert.equal(h.fake.count("GET /rates"), 1);
    });
  });

  Deno.test(`${era}: a dry run's confirmation token covers exactly these arguments, once`, async () => {
    await withClient(connect, {}, async (h, call) => {
      const quote = (await call({ ...SMS, dryRun: true })).structuredContent;
      const token = quote.confirmation_token as string;
      const changed = envelopeOf(
        await call({ ...SMS, message: "Different text", confirmationToken: token }),
      );
      assert.equal(changed.code, "INVALID_INPUT");
      assert.match(String(changed.message), /other arguments/);
      assert.equal(sends(h), 0);

      const sent = await call({ ...SMS, confirmationToken: token });
      assert.notEqual(sent.isError, true, sent.content?.[0]?.text);
      assert.equal(sends(h), 1);
      const reused = envelopeOf(await call({ ...SMS, confirmationToken: token }));
      assert.equal(reused.code, "INVALID_INPUT");
      assert.match(String(reused.message), /already used/);
      assert.equal(sends(h), 1);

      const forged = envelopeOf(await call({ ...SMS, confirmationToken: `${token}x` }));
      assert.match(String(forged.message), /invalid or has expired/);
      assert.equal(sends(h), 1);
    });
  });

  Deno.test(`${era}: SMS_SENDS_PER_MINUTE: a burst past the limit is RATE_LIMITED`, async () => {
    await withClient(connect, { SMS_SENDS_PER_MINUTE: "1" }, async (h, call) => {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await call(SMS));
      assert.notEqual(results[0].isError, true);
      for (const refused of results.slice(1)) {
        const error = envelopeOf(refused);
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(error.retryable, true);
        assert.ok(
          Number(error.retry_after_seconds) >= 1 && Number(error.retry_after_seconds) <= 60,
        );
        assert.match(String(error.message), /Nothing was sent/);
      }
      assert.equal(sends(h), 1);
    });
  });

  Deno.test(`${era}: SMS_DAILY_SPEND_CAP_EUR: a send past the cap is RATE_LIMITED`, async () => {
    await withClient(connect, { SMS_DAILY_SPEND_CAP_EUR: "0.06" }, async (h, call) => {
      const first = await call(SMS);
      assert.notEqual(first.isError, true, first.content?.[0]?.text);
      const second = envelopeOf(await call({ ...SMS, to: "+37069555555" }));
      assert.equal(second.code, "RATE_LIMITED");
      assert.match(String(second.message), /€0.10, over the cap of €0.06/);
      assert.ok(Number(second.retry_after_seconds) > 86_000);
      assert.equal(sends(h), 1);
    });
  });
}

Deno.test("SMS_RECIPIENTS_PER_HOUR counts different recipients, not sends", async () => {
  await withClient(connectV2, { SMS_RECIPIENTS_PER_HOUR: "1" }, async (h, call) => {
    assert.notEqual((await call(SMS)).isError, true);
    assert.notEqual((await call(SMS)).isError, true, "the same recipient again");
    const other = envelopeOf(await call({ ...SMS, to: "+37069555555" }));
    assert.equal(other.code, "RATE_LIMITED");
    assert.match(String(other.message), /different recipients/);
    assert.equal(sends(h), 2);
  });
});

Deno.test("the spend cap needs a price: a send-only token is refused before sending", async () => {
  const h = startHarness({ env: { SMS_DAILY_SPEND_CAP_EUR: "10" } });
  const c = await connectV2(h.mcpUrl, DEMO_TOKENS["sms:send"]);
  try {
    const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
    const error = envelopeOf(result);
    assert.equal(error.code, "AUTH_INVALID");
    assert.equal(error.required_scope, "sms:rates");
    assert.match(String(error.message), /spend cap/);
    assert.equal(sends(h), 0);
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: a token that may not read rates still gets an (unpriced) quote with the number's country, and its token`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS["sms:send"]);
    try {
      // Both SDKs validate structuredContent against the output schema (its nullable fields).
      const quoteOf = async (to: string) => {
        const result = await c.client.callTool({
          name: "send_sms",
          arguments: { ...SMS, to, dryRun: true },
        });
        assert.notEqual(result.isError, true, result.content?.[0]?.text);
        return result.structuredContent;
      };
      const quote = await quoteOf(SMS.to);
      assert.deepEqual(
        [quote.country, quote.rate_eur, quote.estimated_cost_eur, quote.parts],
        ["LT", null, null, 1],
        "the country comes from the number, not from the price list",
      );
      assert.equal(typeof quote.confirmation_token, "string");
      // A number several countries share (+44 7700: GB, Guernsey, Jersey, Isle of Man) names none.
      assert.equal((await quoteOf("+447700900123")).country, null);
      assert.equal(sends(h), 0);
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("a throttled send that VertexSMS refuses gives its count back", async () => {
  await withClient(connectV2, { SMS_SENDS_PER_MINUTE: "1" }, async (h, call) => {
    assert.equal(envelopeOf(await call({ ...SMS, from: "NotMine" })).code, "VERTEX_SEND_FAILED");
    assert.notEqual((await call(SMS)).isError, true, "the refused send did not use the minute");
    assert.equal(sends(h), 2);
  });
});

/** A v2 client that answers every confirmation with `answer`, recording the questions. */
async function confirming(h: Harness, answer: ElicitationAnswer["action"], token = TOKEN) {
  const asked: string[] = [];
  const c = await connectV2(h.mcpUrl, token, {
    elicitation: ({ message }) => {
      asked.push(message);
      return { action: answer };
    },
  });
  return { c, asked };
}

Deno.test("2026: a client with elicitation is asked first; declining sends nothing", async () => {
  const h = startHarness();
  const { c, asked } = await confirming(h, "decline");
  try {
    const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
    assert.notEqual(result.isError, true, result.content?.[0]?.text);
    assert.equal(result.structuredContent.status, "not_sent");
    assert.equal(result.structuredContent.reason, "declined");
    assert.match(result.structuredContent.note, /Nothing was sent/);
    assert.equal(asked.length, 1);
    for (
      const part of ["+37069912345 (LT)", "VertexSMS", "Your code is 4821", "Parts: 1 (GSM-7)"]
    ) {
      assert.ok(asked[0]!.includes(part), `the question shows ${part}: ${asked[0]}`);
    }
    assert.match(asked[0]!, /Estimated cost: about €0.05/);
    assert.equal(sends(h), 0);
  } finally {
    await c.close();
    await h.close();
  }
});

Deno.test("2026: cancelling the confirmation sends nothing; accepting sends once", async () => {
  const h = startHarness();
  const cancel = await confirming(h, "cancel");
  const accept = await confirming(h, "accept");
  try {
    const cancelled = await cancel.c.client.callTool({ name: "send_sms", arguments: SMS });
    assert.equal(cancelled.structuredContent.reason, "cancelled");
    assert.equal(sends(h), 0);

    const args = { ...SMS, idempotencyKey: "confirmed-1" };
    const sent = await accept.c.client.callTool({ name: "send_sms", arguments: args });
    assert.equal(sent.structuredContent.status, "sent");
    assert.equal(sends(h), 1);
    const again = await accept.c.client.callTool({ name: "send_sms", arguments: args });
    assert.equal(again.structuredContent.message_id, sent.structuredContent.message_id);
    assert.equal(accept.asked.length, 1, "a repeat under its key is not asked again");
    assert.equal(sends(h), 1);
  } finally {
    await cancel.c.close();
    await accept.c.close();
    await h.close();
  }
});

/** A raw 2026-07-28 `send_sms` call declaring form elicitation, with extra params. */
function rawConfirmingCall(h: Harness, extra: Record<string, unknown>) {
  return rpc(h.mcpUrl, {
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: {
      name: "send_sms",
      arguments: SMS,
      ...extra,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1.0.0" },
        "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
      },
    },
  }, {
    "Authorization": `Bearer ${TOKEN}`,
    "MCP-Protocol-Version": MODERN,
    "Mcp-Method": "tools/call",
    "Mcp-Name": "send_sms",
  });
}

Deno.test("2026: a forged confirmation is not taken: the server's signed requestState is required", async () => {
  const h = startHarness();
  try {
    const accept = { confirm: { action: "accept", content: {} } };
    const unsigned = await (await rawConfirmingCall(h, { inputResponses: accept })).json();
    assert.equal(unsigned.result.resultType, "input_required", JSON.stringify(unsigned));
    assert.ok(unsigned.result.inputRequests.confirm, "the user is asked after all");
    assert.match(unsigned.result.requestState, /^v1\./);

    const forged = await (await rawConfirmingCall(h, {
      inputResponses: accept,
      requestState: `${unsigned.result.requestState}x`,
    })).json();
    assert.equal(forged.error?.code, -32602, JSON.stringify(forged));

    const replayed = await (await rawConfirmingCall(h, {
      inputResponses: accept,
      requestState: unsigned.result.requestState,
    })).json();
    assert.equal(replayed.result.structuredContent.status, "sent", "the genuine round completes");
    assert.equal(sends(h), 1);
  } finally {
    await h.close();
  }
});

Deno.test("2025: an elicitation-capable client is asked in-band; declining sends nothing, accepting sends once", async () => {
  const h = startHarness();
  for (const answer of ["decline", "accept"] as const) {
    const asked: string[] = [];
    const c = await connectV1(h.mcpUrl, TOKEN, {
      elicitation: ({ message }) => {
        asked.push(message);
        return { action: answer };
      },
    });
    try {
      const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
      assert.equal(asked.length, 1, "asked once, in-band");
      assert.match(asked[0]!, /^Send this SMS\?[\s\S]*To: \+37069912345/);
      assert.equal(
        result.structuredContent.status,
        answer === "accept" ? "sent" : "not_sent",
        result.content?.[0]?.text,
      );
    } finally {
      await c.close();
    }
  }
  assert.equal(sends(h), 1, "only the accepted one");
  await h.close();
});

Deno.test("2026: with SMS_CONFIRMATION=require, an elicitation client confirms by answering", async () => {
  const h = startHarness({ env: { SMS_CONFIRMATION: "require" } });
  const { c, asked } = await confirming(h, "accept");
  try {
    const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
    assert.equal(result.structuredContent.status, "sent", result.content?.[0]?.text);
    assert.equal(asked.length, 1);
    assert.equal(sends(h), 1);
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: lookup_hlr and register_sender_id honour idempotencyKey too`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, TOKEN);
    try {
      const hlr = { msisdn: "+37069912345", waitSeconds: 5, idempotencyKey: "hlr-1" };
      const first = await c.client.callTool({ name: "lookup_hlr", arguments: hlr });
      const again = await c.client.callTool({ name: "lookup_hlr", arguments: hlr });
      assert.equal(first.structuredContent.lookup_id, "1203877133");
      assert.deepEqual(again.structuredContent, first.structuredContent);
      assert.equal(h.fake.count("POST /hlr"), 1);

      const sender = {
        name: "Shop-24",
        category: "Brand",
        categoryDescription: "Our registered trade mark",
        idempotencyKey: "sender-1",
      };
      const registered = await c.client.callTool({ name: "register_sender_id", arguments: sender });
      const repeated = await c.client.callTool({ name: "register_sender_id", arguments: sender });
      assert.deepEqual(repeated.structuredContent, registered.structuredContent);
      assert.equal(h.fake.count("POST /senderId"), 1);
    } finally {
      await c.close();
      await h.close();
    }
  });
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`concurrent duplicates on two instances sharing ${backend}: one send (shared-kept secret)`, async () => {
    const pair = await startPair({}, undefined, backend);
    const ca = await connectV2(pair.a.mcpUrl, TOKEN);
    const cb = await connectV1(pair.b.mcpUrl, TOKEN);
    try {
      pair.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 400 });
      const args = { ...SMS, idempotencyKey: "two-instances" };
      const [ra, rb] = await Promise.all([
        ca.client.callTool({ name: "send_sms", arguments: args }),
        cb.client.callTool({ name: "send_sms", arguments: args }),
      ]);
      assert.ok(ra.structuredContent?.message_id, ra.content?.[0]?.text);
      assert.equal(rb.structuredContent?.message_id, ra.structuredContent.message_id);
      assert.equal(pair.fake.count("POST /sms"), 1);
    } finally {
      await ca.close();
      await cb.close();
      await pair.close();
    }
  });

  test(`the per-minute limit holds across two instances sharing ${backend} (STATE_SECRET)`, async () => {
    const pair = await startPair(
      {
        SMS_SENDS_PER_MINUTE: "1",
        STATE_SECRET: "a-shared-secret-of-32-bytes-or-more",
      },
      undefined,
      backend,
    );
    const ca = await connectV2(pair.a.mcpUrl, TOKEN);
    const cb = await connectV2(pair.b.mcpUrl, TOKEN);
    try {
      const first = await ca.client.callTool({ name: "send_sms", arguments: SMS });
      assert.notEqual(first.isError, true, first.content?.[0]?.text);
      const second = await cb.client.callTool({ name: "send_sms", arguments: SMS });
      assert.equal(envelopeOf(second).code, "RATE_LIMITED");
      assert.equal(pair.fake.count("POST /sms"), 1);
    } finally {
      await ca.close();
      await cb.close();
      await pair.close();
    }
  });

  test(`concurrent sends on two instances sharing ${backend}: throttle and spend cap count each once`, async () => {
    const pair = await startPair(
      { SMS_SENDS_PER_MINUTE: "3", STATE_SECRET: "a-shared-secret-of-32-bytes-or-more" },
      undefined,
      backend,
    );
    const capped = await startPair(
      { SMS_DAILY_SPEND_CAP_EUR: "0.10", STATE_SECRET: "a-shared-secret-of-32-bytes-or-more" },
      undefined,
      backend,
    );
    const clients = await Promise.all(
      [pair.a, pair.b, capped.a, capped.b].map((h) => connectV2(h.mcpUrl, TOKEN)),
    );
    const [ca, cb, cc, cd] = clients;
    try {
      // 8 sends at once, alternating instances, different recipients: 3 fit the minute.
      const burst = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? ca! : cb!).client.callTool({
            name: "send_sms",
            arguments: { ...SMS, to: `+3706955550${i}` },
          })),
      );
      const refused = burst.filter((r) => r.isError);
      assert.equal(pair.fake.count("POST /sms"), 3);
      assert.equal(refused.length, 5);
      for (const r of refused) assert.equal(envelopeOf(r).code, "RATE_LIMITED");

      // €0.05 each against a €0.10 cap: 2 of 5 concurrent sends, on either instance.
      const spend = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          (i % 2 ? cc! : cd!).client.callTool({
            name: "send_sms",
            arguments: { ...SMS, to: `+3706955551${i}` },
          })),
      );
      assert.equal(capped.fake.count("POST /sms"), 2);
      const over = spend.filter((r) => r.isError).map((r) => envelopeOf(r));
      assert.equal(over.length, 3);
      for (const e of over) assert.match(String(e.message), /over the cap of €0.10/);
    } finally {
      for (const c of clients) await c.close();
      await pair.close();
      await capped.close();
    }
  });

  test(`2026: a confirmation started on one instance completes on another (${backend})`, async () => {
    const pair = await startPair(
      { STATE_SECRET: "a-shared-secret-of-32-bytes-or-more" },
      undefined,
      backend,
    );
    const asked: string[] = [];
    // A load balancer's choice: the first round goes to A, the retry with the answer to B.
    const balance: typeof fetch = (input, init) => {
      const retry = typeof init?.body === "string" && init.body.includes('"inputResponses"');
      return fetch(retry ? pair.b.mcpUrl : input, init);
    };
    const c = await connectV2(pair.a.mcpUrl, TOKEN, {
      fetch: balance,
      elicitation: ({ message }) => {
        asked.push(message);
        return { action: "accept" };
      },
    });
    try {
      const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
      assert.equal(result.structuredContent.status, "sent", result.content?.[0]?.text);
      assert.equal(asked.length, 1);
      assert.ok(pair.a.logs.some((l) => l.includes('"tool":"send_sms"')), "A asked");
      assert.ok(pair.b.logs.some((l) => l.includes('"tool":"send_sms"')), "B sent");
      assert.equal(pair.fake.count("POST /sms"), 1);
    } finally {
      await c.close();
      await pair.close();
    }
  });
}

Deno.test("money guards keep SMS text, numbers and keys out of the logs", async () => {
  const h = startHarness({ env: { SMS_SENDS_PER_MINUTE: "1" } });
  const { c } = await confirming(h, "accept");
  try {
    const args = { ...SMS, idempotencyKey: "log-scan-key-91" };
    await c.client.callTool({ name: "send_sms", arguments: args });
    await c.client.callTool({ name: "send_sms", arguments: { ...args, dryRun: true } });
    await c.client.callTool({ name: "send_sms", arguments: { ...args, idempotencyKey: "k2" } });
    const logs = h.logs.join("\n");
    for (const secret of [TOKEN, SMS.message, SMS.to, "69912345", "log-scan-key-91"]) {
      assert.ok(!logs.includes(secret), `the log does not contain ${secret}`);
    }
  } finally {
    await c.close();
    await h.close();
  }
});
