/**
 * Test mode (`SMS_TEST_MODE`) attacked: nothing billable or real from any
 * tool, and nothing given in test mode — an approval, a confirmation token,
 * an in-band "accept" of either era — authorises a real send on an instance
 * without it (two instances sharing state, as in a rollout that turns the
 * sandbox off). Every test counts VertexSMS's `POST /sms` (real ones: no
 * `testMode`), `/senderId` and `/hlr` requests and prints a `figure sandbox` line.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  connectV1,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  modernCall,
  resultOf,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { startAnswerRouter } from "../testing/proxy.ts";

const AUTH = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
const SMS = { to: "+37069912345", from: "VertexSMS", message: "Sandbox check 4821" };
const TEST_MODE = { SMS_TEST_MODE: "delivered" };
const ELICIT = { elicitation: { form: {} } };

/** `POST /sms` requests VertexSMS received, real (no `testMode`) and simulated. */
function smsOf(h: { fake: Harness["fake"] }) {
  const all = h.fake.requests.filter((r) => r.method === "POST" && r.path === "/sms");
  return {
    real: all.filter((r) => r.testMode === null).length,
    simulated: all.filter((r) => r.testMode !== null).length,
  };
}

/** What a `send_sms` result says: its status, or its error code. */
// deno-lint-ignore no-explicit-any
function outcome(result: any): string {
  return result.structuredContent?.status ?? envelopeOf(result).code as string;
}

Deno.test("test mode texts no PIN and bills no lookup, in both eras", async () => {
  const h = startHarness({ env: TEST_MODE });
  try {
    const codes: string[] = [];
    for (const { connect } of CLIENTS) {
      const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
      try {
        for (
          const [name, args] of [
            ["register_msisdn_sender", { msisdn: "+37069912345" }],
            ["lookup_hlr", { msisdn: "+37069912345", waitSeconds: 5 }],
          ] as const
        ) {
          const result = await c.client.callTool({ name, arguments: args });
          const error = envelopeOf(result);
          assert.equal(error.code, "TEST_MODE_REFUSED", name);
          assert.match(String(error.message), /SMS test mode/);
          codes.push(error.code as string);
        }
      } finally {
        await c.close();
      }
    }
    const pins = h.fake.count("POST /senderId");
    const lookups = h.fake.count("POST /hlr");
    assert.equal(pins, 0, "no PIN texted");
    assert.equal(lookups, 0, "no lookup billed");
    console.log(
      `figure sandbox: register_msisdn_sender and lookup_hlr in test mode, both eras → ` +
        `${codes.length} refusals (TEST_MODE_REFUSED), ${pins} POST /senderId, ${lookups} POST /hlr`,
    );
  } finally {
    await h.close();
  }
});

for (const { backend, test } of SHARED_BACKENDS) {
  test(`an approval given in test mode never sends for real on an instance without it (${backend})`, async () => {
    // A runs in test mode, B does not; they share state and secret.
    const pair = await startPair({ SMS_CONFIRMATION: "require" }, () => TEST_MODE, backend);
    try {
      const call = (h: Harness, args: Record<string, unknown>) =>
        resultOf(modernCall(h.mcpUrl, "send_sms", args, AUTH));
      const asked = (await call(pair.a, SMS)).structuredContent;
      assert.equal(asked.simulated, true);
      const page = await (await fetch(asked.approval_url)).text();
      assert.match(page, /TEST MODE/);
      const token = /name="form_token" value="([^"]+)"/.exec(page)![1]!;
      const decided = await fetch(asked.approval_url, {
        method: "POST",
        headers: { Origin: new URL(asked.approval_url).origin },
        body: new URLSearchParams({ action: "approve", form_token: token }),
        redirect: "manual",
      });
      await decided.body?.cancel();
      assert.equal(decided.status, 303, "a person approved the TEST MODE page");
      const elsewhere = await call(pair.b, { ...SMS, approvalId: asked.approval_id });
      assert.equal(outcome(elsewhere), "INVALID_INPUT");
      assert.match(elsewhere.content[0].text, /given in SMS test mode/);
      assert.equal(smsOf(pair).real, 0, "no real SMS");
      const here = await call(pair.a, { ...SMS, approvalId: asked.approval_id });
      assert.equal(outcome(here), "sent");
      assert.equal(here.structuredContent.simulated, true);
      assert.deepEqual(smsOf(pair), { real: 0, simulated: 1 });
      console.log(
        `figure sandbox (${backend}): an approval of a TEST MODE page used on an instance without ` +
          `test mode → refused; on its own → simulated; ${smsOf(pair).real} real POST /sms`,
      );
    } finally {
      await pair.close();
    }
  });

  test(`a 2026 in-band accept or a dry-run token from test mode never sends for real elsewhere (${backend})`, async () => {
    const pair = await startPair({}, () => TEST_MODE, backend);
    try {
      const ask = (h: Harness, params: Record<string, unknown> = {}, args: unknown = SMS) =>
        resultOf(modernCall(h.mcpUrl, "send_sms", args, AUTH, { capabilities: ELICIT, params }));
      const question = await ask(pair.a);
      assert.equal(question.resultType, "input_required");
      const message = question.inputRequests.confirm.params.message;
      assert.match(message, /TEST MODE/);
      const accept = {
        requestState: question.requestState,
        inputResponses: { confirm: { action: "accept" } },
      };
      const retried = await ask(pair.b, accept);
      assert.equal(retried.resultType, "input_required", "asked again, as a real send");
      assert.doesNotMatch(retried.inputRequests.confirm.params.message, /TEST MODE/);
      assert.equal(smsOf(pair).real, 0);

      const quote = (await resultOf(
        modernCall(pair.a.mcpUrl, "send_sms", { ...SMS, dryRun: true }, AUTH),
      )).structuredContent;
      assert.equal(quote.simulated, true);
      const confirmed = await resultOf(modernCall(pair.b.mcpUrl, "send_sms", {
        ...SMS,
        confirmationToken: quote.confirmation_token,
      }, AUTH));
      assert.equal(outcome(confirmed), "INVALID_INPUT");
      assert.match(confirmed.content[0].text, /issued in SMS test mode/);
      assert.equal(smsOf(pair).real, 0);

      assert.equal(outcome(await ask(pair.a, accept)), "sent", "on its own instance: simulated");
      assert.deepEqual(smsOf(pair), { real: 0, simulated: 1 });
      console.log(
        `figure sandbox (${backend}): a TEST MODE accept (requestState) and a TEST MODE ` +
          `confirmation token brought to an instance without test mode → asked again, refused; ` +
          `${smsOf(pair).real} real POST /sms`,
      );
    } finally {
      await pair.close();
    }
  });
}

Deno.test("a 2025 in-band accept in test mode, answered through the other instance, sends only simulated", async () => {
  const pair = await startPair({ SMS_CONFIRMATION: "require" }, () => TEST_MODE);
  const router = startAnswerRouter(pair.a.server.url, pair.b.server.url);
  try {
    const asked: string[] = [];
    const c = await connectV1(router.url, DEMO_TOKENS.full, {
      elicitation: ({ message }) => (asked.push(message), { action: "accept" }),
    });
    try {
      const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
      assert.equal(result.structuredContent.status, "sent");
      assert.equal(result.structuredContent.simulated, true);
    } finally {
      await c.close();
    }
    assert.match(asked[0] ?? "", /TEST MODE/);
    assert.equal(router.answers.length, 1, "the answer went to the instance without test mode");
    assert.deepEqual(smsOf(pair), { real: 0, simulated: 1 });
    console.log(
      "figure sandbox: a 2025 TEST MODE accept answered through an instance without test mode → " +
        `the asking call sends, simulated; ${smsOf(pair).real} real POST /sms`,
    );
  } finally {
    await router.shutdown();
    await pair.close();
  }
});
