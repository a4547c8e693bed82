/**
 * A person approves every billable send (`SMS_CONFIRMATION=require`), in
 * whatever client: the approval link for clients that cannot be asked, the
 * in-band question for 2025-era clients with a session (across two instances
 * behind a proxy that sends the answer to the other one), and the MCP Apps
 * review card's resource. Every case counts the `POST /sms` requests the fake
 * VertexSMS received.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  connectV1,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  httpStatusOf,
  MODERN,
  rpc,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { startAnswerRouter } from "../testing/proxy.ts";

const TOKEN = DEMO_TOKENS.full;
const SMS = { to: "+37069912345", from: "VertexSMS", message: "Your code is <4821> & more" };
const REQUIRE = { SMS_CONFIRMATION: "require" };
const sends = (h: { fake: Harness["fake"] }) => h.fake.count("POST /sms");

/** The approval page of `url`: status, headers, HTML and its form value. */
async function openPage(url: string) {
  const res = await fetch(url);
  const html = await res.text();
  const token = /name="form_token" value="([^"]+)"/.exec(html)?.[1];
  return { status: res.status, headers: res.headers, html, token };
}

/** POST a decision the way the page's form does (or a forgery of it). */
async function decide(
  url: string,
  fields: Record<string, string>,
  origin: string | null = new URL(url).origin,
) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(origin === null ? {} : { Origin: origin }),
    },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
  await res.body?.cancel();
  return res.status;
}

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: require without in-band asking: nothing is sent until a person approves on the page`, async () => {
    const h = startHarness({ env: REQUIRE });
    const c = await connect(h.mcpUrl, TOKEN);
    const call = (args: Record<string, unknown>) =>
      c.client.callTool({ name: "send_sms", arguments: args });
    try {
      const asked = (await call(SMS)).structuredContent;
      assert.equal(asked.status, "approval_required");
      assert.equal(asked.approval_url, `${h.server.url}/approvals/${asked.approval_id}`);
      assert.equal(asked.expires_in_seconds, 600);
      assert.equal(sends(h), 0);

      const page = await openPage(asked.approval_url);
      assert.equal(page.status, 200);
      const csp = page.headers.get("content-security-policy") ?? "";
      for (
        const directive of ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"]
      ) {
        assert.ok(csp.includes(directive), directive);
      }
      assert.equal(page.headers.get("cache-control"), "no-store");
      assert.equal(page.headers.get("x-frame-options"), "DENY");
      assert.equal(page.headers.get("referrer-policy"), "same-origin");
      for (
        const shown of [
          "+37069912345",
          "VertexSMS",
          "Your code is &#60;4821&#62; &#38; more",
          "1 (GSM-7)",
          // A 2025-era client's name is known only from a session (it gave it at initialize).
          era === "2026" ? "conformance-v2" : "an MCP client (it gave no name)",
          "Approve and send",
          "Decline",
        ]
      ) {
        assert.ok(page.html.includes(shown), `the page shows ${shown}`);
      }
      assert.ok(!page.html.includes("<4821>"), "the text is escaped");
      assert.ok(!/<script|src=/.test(page.html), "no script, no external asset");

      const again = (await call({ ...SMS, approvalId: asked.approval_id })).structuredContent;
      assert.equal(again.status, "approval_required", "GET changed nothing: still pending");

      // Forgeries change nothing: no form value, another page's, a foreign or absent Origin.
      const other = (await call({ ...SMS, message: "Another text" })).structuredContent;
      const otherToken = (await openPage(other.approval_url)).token!;
      const url = asked.approval_url;
      assert.equal(await decide(url, { action: "approve" }), 400);
      assert.equal(await decide(url, { action: "approve", form_token: otherToken }), 403);
      assert.equal(
        await decide(url, { action: "approve", form_token: page.token! }, "https://evil.example"),
        403,
      );
      assert.equal(await decide(url, { action: "approve", form_token: page.token! }, null), 403);
      assert.equal(
        (await call({ ...SMS, approvalId: asked.approval_id })).structuredContent.status,
        "approval_required",
      );

      assert.equal(await decide(url, { action: "approve", form_token: page.token! }), 303);
      assert.match((await openPage(url)).html, /Approved\. Go back to your assistant/);

      // Another token, other arguments or a re-spelled id: nothing.
      const foreign = await connect(h.mcpUrl, DEMO_TOKENS["sms:send"]);
      try {
        const refused = await foreign.client.callTool({
          name: "send_sms",
          arguments: { ...SMS, approvalId: asked.approval_id },
        });
        assert.equal(envelopeOf(refused).code, "INVALID_INPUT");
      } finally {
        await foreign.close();
      }
      for (
        const args of [
          { ...SMS, message: "Changed", approvalId: asked.approval_id },
          { ...SMS, approvalId: `${asked.approval_id}=` },
          { ...SMS, approvalId: asked.approval_id.toUpperCase() },
        ]
      ) {
        assert.equal(envelopeOf(await call(args)).code, "INVALID_INPUT", JSON.stringify(args));
      }
      assert.equal(sends(h), 0);

      const sent = (await call({ ...SMS, approvalId: asked.approval_id })).structuredContent;
      assert.equal(sent.status, "sent");
      const repeat = (await call({ ...SMS, approvalId: asked.approval_id })).structuredContent;
      assert.equal(repeat.message_id, sent.message_id, "a repeat replays the one send");
      // A second click changes nothing either.
      assert.equal(await decide(url, { action: "decline", form_token: page.token! }), 303);
      assert.match((await openPage(url)).html, /Approved and sent/);
      assert.equal(sends(h), 1);

      // Declined: not sent, and never after.
      const declined = (await call({ ...SMS, message: "No thanks" })).structuredContent;
      const declinedPage = await openPage(declined.approval_url);
      assert.equal(
        await decide(declined.approval_url, { action: "decline", form_token: declinedPage.token! }),
        303,
      );
      const answer = await call({ ...SMS, message: "No thanks", approvalId: declined.approval_id });
      assert.deepEqual(
        [answer.structuredContent.status, answer.structuredContent.reason],
        ["not_sent", "declined"],
      );
      assert.equal(sends(h), 1);
      console.log(
        `figure approval ${era}: 1 approval, 4 forged decisions, 3 foreign or altered uses, ` +
          `1 repeat, 1 second click, 1 decline → ${sends(h)} POST /sms`,
      );
    } finally {
      await c.close();
      await h.close();
    }
  });
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`${backend}: an approval made on one instance is approved on another and sends once (waitSeconds)`, async () => {
    const pair = await startPair(REQUIRE, undefined, backend);
    try {
      const call = (url: string, args: Record<string, unknown>) =>
        rpc(url, {
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "send_sms", arguments: args },
        }, { Authorization: `Bearer ${TOKEN}` }).then((r) => r.json());
      const asked = (await call(pair.a.mcpUrl, SMS)).result.structuredContent;
      // The page as instance B serves it (its own origin, as behind a load balancer).
      const url = `${pair.b.server.url}/approvals/${asked.approval_id}`;
      const page = await openPage(url);
      assert.equal(page.status, 200);
      const waiting = call(pair.a.mcpUrl, {
        ...SMS,
        approvalId: asked.approval_id,
        waitSeconds: 10,
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sends(pair), 0, "the call waits for the click");
      assert.equal(await decide(url, { action: "approve", form_token: page.token! }), 303);
      const sent = (await waiting).result.structuredContent;
      assert.equal(sent.status, "sent");
      assert.equal(sends(pair), 1);
    } finally {
      await pair.close();
    }
  });
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`${backend}: 2025 in-band: the answer reaches the call on the other instance; accept sends once, decline and cancel none`, async () => {
    const pair = await startPair(REQUIRE, undefined, backend);
    const router = startAnswerRouter(pair.a.server.url, pair.b.server.url);
    try {
      const outcomes: string[] = [];
      for (const action of ["accept", "decline", "cancel"] as const) {
        const asked: string[] = [];
        const c = await connectV1(router.url, TOKEN, {
          elicitation: ({ message }) => (asked.push(message), { action }),
        });
        try {
          const result = await c.client.callTool({ name: "send_sms", arguments: SMS });
          assert.equal(asked.length, 1, `${action}: asked once`);
          assert.match(asked[0]!, /Text: "Your code is <4821> & more"/);
          outcomes.push(result.structuredContent.status + (result.structuredContent.reason ?? ""));
        } finally {
          await c.close();
        }
      }
      assert.deepEqual(outcomes, ["sent", "not_sentdeclined", "not_sentcancelled"]);
      assert.equal(router.answers.length, 3, "every answer went to instance B");
      assert.equal(sends(pair), 1);
      console.log(
        `figure approval 2025 in-band (${backend}): 3 questions answered on the other instance (accept, ` +
          `decline, cancel) → ${sends(pair)} POST /sms`,
      );
    } finally {
      await router.shutdown();
      await pair.close();
    }
  });
}

Deno.test("2025 sessions: an id is issued only to a client that can be asked; a forged or expired one is 404, after 401", async () => {
  const h = startHarness();
  try {
    const init = (capabilities: Record<string, unknown>) =>
      rpc(h.mcpUrl, {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities,
          clientInfo: { name: "probe", version: "1" },
        },
      }, { Authorization: `Bearer ${TOKEN}` });
    const plain = await init({});
    assert.equal(plain.headers.get("mcp-session-id"), null, "stateless as before");
    await plain.body?.cancel();
    const askable = await init({ elicitation: { form: {} } });
    const id = askable.headers.get("mcp-session-id");
    await askable.body?.cancel();
    assert.match(id ?? "", /^s1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const withSession = (session: string, auth = true) =>
      rpc(h.mcpUrl, list, {
        ...(auth ? { Authorization: `Bearer ${TOKEN}` } : {}),
        "Mcp-Session-Id": session,
        "MCP-Protocol-Version": "2025-11-25",
      });
    const ok = await withSession(id!);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const forged = `${id!.slice(0, -1)}${id!.endsWith("A") ? "B" : "A"}`;
    for (const bad of [forged, "s1.e30.abc", "not-a-session"]) {
      const res = await withSession(bad);
      assert.equal(res.status, 404, bad);
      assert.equal((await res.json()).error.code, -32001);
    }
    const anonymous = await withSession(forged, false);
    assert.equal(anonymous.status, 401, "authentication comes first");
    await anonymous.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("2025 in-band: a token rejected before the question is still HTTP 401", async () => {
  const h = startHarness({ env: REQUIRE });
  const c = await connectV1(h.mcpUrl, DEMO_TOKENS.revoked, {
    elicitation: () => ({ action: "accept" }),
  });
  try {
    const error = await c.client.callTool({ name: "send_sms", arguments: SMS }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(httpStatusOf(error), 401);
    assert.equal(sends(h), 0);
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: MCP Apps: send_sms points at the review card; resources/list and read serve it`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, TOKEN);
    try {
      const { tools } = await c.client.listTools();
      const send = tools.find((t: { name: string }) => t.name === "send_sms");
      assert.equal(send._meta?.ui?.resourceUri, "ui://vertexsms/send-sms-review.html");
      const client = c.client as unknown as {
        listResources(): Promise<{ resources: { uri: string; mimeType: string }[] }>;
        readResource(p: { uri: string }): Promise<{
          contents: {
            uri: string;
            mimeType: string;
            text: string;
            _meta?: Record<string, unknown>;
          }[];
        }>;
      };
      const { resources } = await client.listResources();
      // The card, then the skills' SKILL.md files (conformance/skills_test.ts).
      assert.deepEqual(
        resources.filter((r) => !r.uri.startsWith("skill://")).map((r) => [
          r.uri,
          r.mimeType,
        ]),
        [["ui://vertexsms/send-sms-review.html", "text/html;profile=mcp-app"]],
      );
      const { contents } = await client.readResource({ uri: resources[0]!.uri });
      assert.equal(contents[0]!.mimeType, "text/html;profile=mcp-app");
      assert.match(contents[0]!.text, /ui\/initialize/);
      assert.deepEqual(
        (contents[0]!._meta as { ui: { csp: unknown } }).ui.csp,
        { connectDomains: [], resourceDomains: [] },
      );
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("2026: the resource lists carry cache hints", async () => {
  const h = startHarness();
  try {
    const res = await rpc(h.mcpUrl, {
      jsonrpc: "2.0",
      id: 1,
      method: "resources/list",
      params: {
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }, {
      Authorization: `Bearer ${TOKEN}`,
      "MCP-Protocol-Version": MODERN,
      "Mcp-Method": "resources/list",
    });
    const { result } = await res.json();
    assert.equal(result.ttlMs, 3_600_000);
    assert.equal(result.cacheScope, "public");
  } finally {
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: one approval link for a whole batch: the page shows who, where, what and how much; approved, it sends N`, async () => {
    const h = startHarness({ env: REQUIRE });
    const c = await connect(h.mcpUrl, TOKEN);
    const to = ["+37069500001", "+37069500002", "+4915112345678"];
    const args = { to, from: SMS.from, message: SMS.message };
    const call = (extra: Record<string, unknown> = {}) =>
      c.client.callTool({ name: "send_sms_batch", arguments: { ...args, ...extra } });
    try {
      const asked = (await call()).structuredContent;
      assert.equal(asked.status, "approval_required");
      assert.deepEqual(
        [asked.count, asked.parts_per_message, asked.estimated_cost_eur],
        [3, 1, "0.2894"],
      );
      assert.equal(sends(h), 0);

      const page = await openPage(asked.approval_url);
      assert.equal(page.status, 200);
      for (
        const shown of [
          "Approve this SMS batch?",
          "this SMS to 3 recipients",
          "<dt>Recipients</dt><dd>3</dd>",
          "LT: 2 (about €0.10), DE: 1 (about €0.1894)",
          ...to,
          "Your code is &#60;4821&#62; &#38; more",
          "1 per message (GSM-7), 3 in all",
          "about €0.2894 in all",
        ]
      ) {
        assert.ok(page.html.includes(shown), `the page shows ${shown}`);
      }
      // What the review card shows beside the result: the countries too.
      assert.deepEqual(asked.countries, [
        { country: "LT", recipients: 2, rate_eur: "0.050", cost_eur: "0.10" },
        { country: "DE", recipients: 1, rate_eur: "0.1894", cost_eur: "0.1894" },
      ]);

      assert.equal(
        await decide(asked.approval_url, { action: "approve", form_token: page.token! }),
        303,
      );
      // The approval covers exactly this batch: not a subset, not another order.
      for (const other of [to.slice(1), to.toReversed()]) {
        const refused = await c.client.callTool({
          name: "send_sms_batch",
          arguments: { ...args, to: other, approvalId: asked.approval_id },
        });
        assert.equal(envelopeOf(refused).code, "INVALID_INPUT");
      }
      assert.equal(sends(h), 0);
      const sent = (await call({ approvalId: asked.approval_id })).structuredContent;
      assert.equal(sent.sent, 3);
      assert.equal(sends(h), 3, "one approval, one SMS per recipient");
      const repeat = (await call({ approvalId: asked.approval_id })).structuredContent;
      assert.deepEqual(repeat, sent, "a repeat with the approval replays");
      assert.match((await openPage(asked.approval_url)).html, /Approved and sent/);
      assert.equal(sends(h), 3);
      console.log(
        `figure approval batch ${era}: 1 approval for 3 recipients, 2 altered uses, 1 repeat → ` +
          `${sends(h)} POST /sms`,
      );
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("MCP Apps: send_sms_batch points at the review card too", async () => {
  const h = startHarness();
  const c = await connectV1(h.mcpUrl, TOKEN);
  try {
    const { tools } = await c.client.listTools();
    const batch = tools.find((t: { name: string }) => t.name === "send_sms_batch");
    assert.equal(batch._meta?.ui?.resourceUri, "ui://vertexsms/send-sms-review.html");
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { backend, test } of SHARED_BACKENDS) {
  test(`${backend}: 2025 in-band: one question for a whole batch, answered on the other instance, sends once per recipient`, async () => {
    const pair = await startPair(REQUIRE, undefined, backend);
    const router = startAnswerRouter(pair.a.server.url, pair.b.server.url);
    const asked: string[] = [];
    const c = await connectV1(router.url, TOKEN, {
      elicitation: ({ message }) => (asked.push(message), { action: "accept" }),
    });
    try {
      const to = ["+37069500001", "+37069500002", "+37069500003", "+37069500004"];
      const result = await c.client.callTool({
        name: "send_sms_batch",
        arguments: { to, from: SMS.from, message: SMS.message, idempotencyKey: "in-band-batch" },
      });
      assert.equal(result.structuredContent?.sent, 4, result.content?.[0]?.text);
      assert.equal(asked.length, 1, "one question for 4 recipients");
      assert.match(asked[0]!, /to 4 recipients[\s\S]*Text: "Your code is <4821> & more"/);
      assert.equal(router.answers.length, 1, "the answer went to instance B");
      assert.equal(sends(pair), 4);
    } finally {
      await c.close();
      await router.shutdown();
      await pair.close();
    }
  });
}
