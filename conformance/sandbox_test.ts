/**
 * The SMS sandbox (`SMS_TEST_MODE`): every send goes to VertexSMS with its
 * `testMode` field, so VertexSMS only simulates the outcome, and every answer
 * says so — sends, dry runs and the confirmation question — through both
 * client SDKs. Off (the default), nothing changes: no `testMode`, no
 * `simulated` field.
 */
import assert from "node:assert/strict";
import { CLIENTS, connectV2, DEMO_TOKENS, type Harness, startHarness } from "../testing/harness.ts";

const SMS = { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" };

/** The `POST /sms` requests the fake received. */
const sends = (h: Harness) =>
  h.fake.requests.filter((r) => r.method === "POST" && r.path === "/sms");

for (const { era, connect } of CLIENTS) {
  for (const [mode, wire] of [["delivered", "1"], ["failed", "2"]] as const) {
    Deno.test(`${era}: SMS_TEST_MODE=${mode} sends testMode "${wire}" and says the send was simulated`, async () => {
      const h = startHarness({ env: { SMS_TEST_MODE: mode } });
      const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
      try {
        const sent = await c.client.callTool({ name: "send_sms", arguments: SMS });
        assert.notEqual(sent.isError, true, sent.content?.[0]?.text);
        assert.equal(sent.structuredContent.simulated, true);
        assert.equal(sent.structuredContent.status, "sent");
        assert.deepEqual(JSON.parse(sent.content[0].text), sent.structuredContent);
        assert.deepEqual(
          sends(h).map((r) => r.testMode),
          [wire],
          "VertexSMS was asked to simulate",
        );

        const quote = await c.client.callTool({
          name: "send_sms",
          arguments: { ...SMS, dryRun: true },
        });
        assert.equal(quote.structuredContent.dry_run, true);
        assert.equal(quote.structuredContent.simulated, true, "a dry run says it too");
        assert.equal(sends(h).length, 1, "a dry run sends nothing");
      } finally {
        await c.close();
        await h.close();
      }
    });
  }

  Deno.test(`${era}: SMS_TEST_MODE off (the default) sends for real and says nothing`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      const sent = await c.client.callTool({ name: "send_sms", arguments: SMS });
      assert.equal(sent.structuredContent.status, "sent");
      assert.equal("simulated" in sent.structuredContent, false);
      const [request] = sends(h);
      assert.equal(request?.testMode, null);
      assert.equal("testMode" in (request?.body as Record<string, unknown>), false);
      const quote = await c.client.callTool({
        name: "send_sms",
        arguments: { ...SMS, dryRun: true },
      });
      assert.equal("simulated" in quote.structuredContent, false);
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("2026: in test mode the confirmation question says the send is simulated", async () => {
  const h = startHarness({ env: { SMS_TEST_MODE: "delivered" } });
  const asked: string[] = [];
  const c = await connectV2(h.mcpUrl, DEMO_TOKENS.full, {
    elicitation: ({ message }) => {
      asked.push(message);
      return { action: "accept" };
    },
  });
  try {
    const sent = await c.client.callTool({ name: "send_sms", arguments: SMS });
    assert.equal(sent.structuredContent.simulated, true);
    assert.equal(asked.length, 1);
    assert.match(asked[0] ?? "", /TEST MODE: VertexSMS only simulates this send/);
    assert.deepEqual(sends(h).map((r) => r.testMode), ["1"]);
  } finally {
    await c.close();
    await h.close();
  }
});

Deno.test('the fake refuses a testMode other than "1" or "2", as VertexSMS documents it', async () => {
  const h = startHarness();
  try {
    const res = await fetch(`${h.fake.url}/sms`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-VertexSMS-Token": DEMO_TOKENS.full },
      body: JSON.stringify({ to: "37069912345", from: "VertexSMS", message: "x", testMode: "3" }),
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /testMode/);
  } finally {
    await h.close();
  }
});
