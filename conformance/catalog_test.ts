/**
 * The whole error catalog through real clients. Every code of `CATALOG` is
 * produced at least once, in both protocol eras, in its documented form (HTTP
 * status or `isError` tool result), with its `retryable` value and exactly
 * the extra fields it promises; a tool error never carries
 * `structuredContent`; `request_id` is the response's `X-Request-Id` and
 * names the server's log line of that request, which records the code.
 *
 * Upstream failures come from the fake's fault injection (429, 5xx, resets,
 * slow answers, bodies that break the contract, a missing HLR callback);
 * `INTERNAL_ERROR` from a test-only tool that throws, passed in like any tool.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { CATALOG, type ErrorCode } from "../core/errors.ts";
import { defineTool } from "../tools/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import type { Fault } from "../testing/fake/mod.ts";
import {
  CLIENTS,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  type HarnessOptions,
  httpStatusOf,
  recordingFetch,
  startHarness,
  type WireExchange,
} from "../testing/harness.ts";

/** Fields every envelope has. */
const BASE_KEYS = ["code", "message", "retryable", "vertex_error_code", "request_id"];
/** Fields every `AUTH_*` envelope adds. */
const AUTH_LINK_KEYS = ["signup_url", "signin_url", "token_url"];

/** A bug in a tool, as the server meets it: anything thrown that is not a ServiceError. */
const explode = defineTool({
  name: "explode",
  title: "Explode (test only)",
  description: "Throws, to prove that a bug becomes INTERNAL_ERROR. Exists only in this test.",
  scope: "numbers:read",
  billable: false,
  input: z.strictObject({}),
  output: z.object({}),
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  handler: () => Promise.reject(new TypeError("secret internals: cannot read 'x' of undefined")),
});

/** Which harness a case runs against. */
type Setup = "default" | "refused" | "noCallbackUrl" | "testMode";

/** A port nothing listens on: connections to it are refused. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const SETUPS: Record<Setup, () => HarnessOptions> = {
  default: () => ({ env: { UPSTREAM_TIMEOUT_MS: "200" }, tools: [...TOOLS, explode] }),
  refused: () => ({ env: { VERTEXSMS_API_URL: `http://127.0.0.1:${closedPort()}` } }),
  // A loopback PUBLIC_URL that a remote VertexSMS could never call back.
  noCallbackUrl: () => ({ env: { VERTEXSMS_API_URL: "https://api.vertexsms.invalid" } }),
  testMode: () => ({ env: { SMS_TEST_MODE: "delivered" } }),
};

/** One tool-level error case. */
interface ToolCase {
  code: ErrorCode;
  label: string;
  setup?: Setup;
  token?: string;
  tool: string;
  args: Record<string, unknown>;
  fault?: Fault;
  retryable: boolean;
  vertexErrorCode?: number;
  /** Extra envelope fields and their exact values (`details` is checked by `check`). */
  extra?: Record<string, unknown>;
  message?: RegExp;
  /** Further checks on the envelope and the harness. */
  check?: (envelope: Record<string, unknown>, h: Harness) => void;
}

const SEND = { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" };
const RATES = { country: "LT" };

const TOOL_CASES: ToolCase[] = [
  {
    code: "AUTH_INVALID",
    label: "a token without the tool's scope (VertexSMS 403)",
    token: DEMO_TOKENS["sms:send"],
    tool: "get_sms_rates",
    args: RATES,
    retryable: false,
    extra: { required_scope: "sms:rates" },
    message: /"sms:rates" scope/,
  },
  {
    code: "RATE_LIMITED",
    label: "upstream 429 with Retry-After",
    tool: "get_sms_rates",
    args: RATES,
    fault: { route: "GET /rates", kind: "status", status: 429, headers: { "Retry-After": "7" } },
    retryable: true,
    extra: { retry_after_seconds: 7 },
    message: /7 seconds/,
  },
  {
    code: "RATE_LIMITED",
    label: "upstream 429 without Retry-After on a send",
    tool: "send_sms",
    args: SEND,
    fault: { route: "POST /sms", kind: "status", status: 429 },
    retryable: true,
    extra: { retry_after_seconds: 30 },
  },
  {
    code: "INVALID_INPUT",
    label: "a number without +",
    tool: "send_sms",
    args: { ...SEND, to: "37069912345" },
    retryable: false,
    extra: { details: undefined },
    check: (e, h) => {
      const details = e.details as { path: string; message: string }[];
      assert.deepEqual(details.map((d) => d.path), ["to"]);
      assert.match(details[0]!.message, /E\.164/);
      assert.equal(h.fake.requests.length, 0, "refused before any upstream call");
    },
  },
  {
    code: "VERTEX_SEND_FAILED",
    label: "a blacklisted number",
    tool: "send_sms",
    args: { ...SEND, to: "+37060000021" },
    retryable: false,
    vertexErrorCode: 21,
    message: /blacklisted/,
  },
  {
    code: "VERTEX_REQUEST_REJECTED",
    label: "a sender ID that exists (409)",
    tool: "register_sender_id",
    args: { name: "Taken", category: "Brand", categoryDescription: "ours" },
    retryable: false,
    message: /already exists/,
  },
  {
    code: "NOT_FOUND",
    label: "an unknown operator",
    tool: "get_operator",
    args: { operatorId: 999999 },
    retryable: false,
  },
  {
    code: "UPSTREAM_UNAVAILABLE",
    label: "upstream 503",
    tool: "get_operator",
    args: { operatorId: 493 },
    fault: { route: "GET /operators", kind: "status", status: 503 },
    retryable: true,
    message: /HTTP 503/,
  },
  {
    code: "UPSTREAM_UNAVAILABLE",
    label: "a read whose connection breaks twice (retried once)",
    tool: "get_mobile_prefixes",
    args: { country: "LT" },
    fault: { route: "GET /prefixes", kind: "reset", times: 2 },
    retryable: true,
    check: (_e, h) => assert.equal(h.fake.count("GET /prefixes"), 2, "one retry"),
  },
  {
    code: "UPSTREAM_UNAVAILABLE",
    label: "a send whose connection breaks after sending (never retried)",
    tool: "send_sms",
    args: SEND,
    fault: { route: "POST /sms", kind: "reset" },
    retryable: false,
    extra: { outcome_unknown: true },
    check: (_e, h) => assert.equal(h.fake.count("POST /sms"), 1, "not retried"),
  },
  {
    code: "UPSTREAM_UNAVAILABLE",
    label: "a send to a refused connection (nothing was sent)",
    setup: "refused",
    tool: "send_sms",
    args: SEND,
    retryable: true,
    message: /could not be reached/,
  },
  {
    code: "UPSTREAM_TIMEOUT",
    label: "a slow read",
    tool: "get_sms_rates",
    args: RATES,
    fault: { route: "GET /rates", kind: "slow", delayMs: 600, times: 1 },
    retryable: true,
  },
  {
    code: "UPSTREAM_TIMEOUT",
    label: "a slow send (outcome unknown)",
    tool: "send_sms",
    args: SEND,
    fault: { route: "POST /sms", kind: "slow", delayMs: 600, times: 1 },
    retryable: false,
    extra: { outcome_unknown: true },
    message: /billed\) twice/,
    check: (_e, h) => assert.equal(h.fake.count("POST /sms"), 1, "not retried"),
  },
  {
    code: "UPSTREAM_BAD_RESPONSE",
    label: "2xx with an HTML body",
    tool: "get_mcc_mnc_list",
    args: { country: "LT" },
    fault: { route: "GET /mccmnc", kind: "not-json" },
    retryable: false,
  },
  {
    code: "UPSTREAM_BAD_RESPONSE",
    label: "2xx with JSON of the wrong shape",
    tool: "correct_phone_number",
    args: { numbers: [{ number: "861860698", country: "LT" }] },
    fault: { route: "POST /numbers/correct", kind: "wrong-shape" },
    retryable: false,
  },
  {
    code: "HLR_TIMEOUT",
    label: "no callback within waitSeconds",
    tool: "lookup_hlr",
    args: { msisdn: "+37069912345", waitSeconds: 1 },
    fault: { kind: "no-callback" },
    retryable: false,
    extra: { lookup_id: "1203877133" },
  },
  {
    code: "HLR_UNAVAILABLE",
    label: "no callback URL VertexSMS could reach",
    setup: "noCallbackUrl",
    tool: "lookup_hlr",
    args: { msisdn: "+37069912345" },
    retryable: false,
    message: /PUBLIC_URL/,
  },
  {
    code: "TEST_MODE_REFUSED",
    label: "a PIN text in test mode",
    setup: "testMode",
    tool: "register_msisdn_sender",
    args: { msisdn: "+37069912345" },
    retryable: false,
    message: /SMS_TEST_MODE=delivered/,
    check: (_e, h) => assert.equal(h.fake.count("POST /senderId"), 0),
  },
  {
    code: "INTERNAL_ERROR",
    label: "a tool that throws",
    tool: "explode",
    args: {},
    retryable: false,
    message: /request_id/,
    check: (e, h) => {
      assert.doesNotMatch(String(e.message), /secret internals/);
      const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "tool failed");
      assert.equal(line?.request_id, e.request_id);
    },
  },
];

/** The HTTP-level forms, each proven by a test below. */
const HTTP_CODES: ErrorCode[] = ["AUTH_REQUIRED", "AUTH_INVALID", "RATE_LIMITED"];

Deno.test("every catalog code has a case in this file", () => {
  const covered = new Set([...TOOL_CASES.map((c) => c.code), ...HTTP_CODES]);
  assert.deepEqual([...covered].sort(), Object.keys(CATALOG).sort());
});

/** Check an envelope's keys and values; return what is wrong. */
function checkEnvelope(
  envelope: Record<string, unknown>,
  expected: {
    code: ErrorCode;
    retryable: boolean;
    vertexErrorCode?: number;
    keys: string[];
    extra?: Record<string, unknown>;
  },
  exchange: WireExchange,
  h: Harness,
) {
  assert.deepEqual(Object.keys(envelope).sort(), [...BASE_KEYS, ...expected.keys].sort());
  assert.equal(envelope.code, expected.code);
  assert.equal(envelope.retryable, expected.retryable);
  assert.equal(envelope.vertex_error_code, expected.vertexErrorCode ?? null);
  for (const [key, value] of Object.entries(expected.extra ?? {})) {
    if (value !== undefined) assert.deepEqual(envelope[key], value, key);
  }
  assert.equal(typeof envelope.message, "string");
  assert.ok(String(envelope.message).length > 20, "a message written for the user");
  assert.equal(envelope.request_id, exchange.headers.get("x-request-id"));
  const line = h.logs.map((l) => JSON.parse(l)).find((l) =>
    l.msg === "request" && l.request_id === envelope.request_id
  );
  assert.equal(line?.error_code, expected.code, "the log line of that request names the code");
}

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: every tool-level code, with its retryable value and fields`, async () => {
    const harnesses = new Map<Setup, Harness>();
    try {
      for (const kase of TOOL_CASES) {
        const setup = kase.setup ?? "default";
        let h = harnesses.get(setup);
        if (!h) harnesses.set(setup, h = startHarness(SETUPS[setup]()));
        h.fake.reset();
        h.fake.clearFaults();
        h.server.app.rates.clear();
        if (kase.fault) h.fake.inject(kase.fault);
        const wire = recordingFetch();
        const c = await connect(h.mcpUrl, kase.token ?? DEMO_TOKENS.full, { fetch: wire.fetch });
        const label = `${kase.code}: ${kase.label}`;
        try {
          const result = await c.client.callTool({ name: kase.tool, arguments: kase.args });
          const exchange = wire.last();
          assert.equal(exchange.status, 200, label);
          assert.equal(result.isError, true, label);
          assert.equal(result.structuredContent, undefined, `${label}: no structuredContent`);
          const envelope = envelopeOf(result);
          // One readable line first (what a model sees when its client shows one block),
          // the envelope second: Gemini CLI parses a JSON first block into structuredContent.
          assert.equal(
            result.content[0].text,
            `Error ${kase.code}: ${String(envelope.message).replace(/\s+/g, " ").trim()}`,
            `${label}: readable first line`,
          );
          assert.throws(() => JSON.parse(result.content[0].text), SyntaxError, label);
          const auth = kase.code.startsWith("AUTH_") ? AUTH_LINK_KEYS : [];
          checkEnvelope(
            envelope,
            {
              code: kase.code,
              retryable: kase.retryable,
              vertexErrorCode: kase.vertexErrorCode,
              keys: [...auth, ...Object.keys(kase.extra ?? {})],
              extra: kase.extra,
            },
            exchange,
            h,
          );
          if (kase.message) assert.match(String(envelope.message), kase.message, label);
          kase.check?.(envelope, h);
        } catch (error) {
          if (error instanceof Error) error.message = `${label}: ${error.message}`;
          throw error;
        } finally {
          await c.close();
        }
      }
    } finally {
      for (const h of harnesses.values()) await h.close();
    }
  });

  Deno.test(`${era}: AUTH_REQUIRED — no token, or not a Bearer token: HTTP 401`, async () => {
    const h = startHarness();
    try {
      for (const token of [null, ""]) {
        const wire = recordingFetch();
        await assert.rejects(
          () => connect(h.mcpUrl, token, { fetch: wire.fetch }),
          (error) => httpStatusOf(error) === 401,
        );
        const exchange = wire.last();
        assert.equal(exchange.status, 401);
        assert.match(exchange.headers.get("www-authenticate") ?? "", /^Bearer resource_metadata="/);
        const envelope = JSON.parse(exchange.body).error;
        checkEnvelope(
          envelope,
          { code: "AUTH_REQUIRED", retryable: false, keys: AUTH_LINK_KEYS },
          exchange,
          h,
        );
      }
      assert.equal(h.fake.requests.length, 0);
    } finally {
      await h.close();
    }
  });

  Deno.test(`${era}: AUTH_INVALID — a token VertexSMS rejects: HTTP 401 invalid_token`, async () => {
    const h = startHarness();
    const wire = recordingFetch();
    const c = await connect(h.mcpUrl, DEMO_TOKENS.revoked, { fetch: wire.fetch });
    try {
      await assert.rejects(
        () => c.client.callTool({ name: "get_operator", arguments: { operatorId: 493 } }),
        (error) => httpStatusOf(error) === 401,
      );
      const exchange = wire.last();
      assert.equal(exchange.status, 401);
      assert.match(exchange.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
      checkEnvelope(
        JSON.parse(exchange.body).error,
        { code: "AUTH_INVALID", retryable: false, keys: AUTH_LINK_KEYS },
        exchange,
        h,
      );
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: RATE_LIMITED — a flood without a token: HTTP 429 with Retry-After`, async () => {
    const h = startHarness({ env: { UNAUTH_RATE_LIMIT_PER_MINUTE: "2" } });
    try {
      const wireStatuses: number[] = [];
      const clientStatuses: (number | undefined)[] = [];
      let limited: WireExchange | undefined;
      for (let i = 0; i < 3; i++) {
        const wire = recordingFetch();
        await assert.rejects(() => connect(h.mcpUrl, null, { fetch: wire.fetch }), (error) => {
          clientStatuses.push(httpStatusOf(error));
          return true;
        });
        wireStatuses.push(wire.last().status);
        if (wire.last().status === 429) limited = wire.last();
      }
      assert.deepEqual(wireStatuses, [401, 401, 429]);
      // The v1 client reports the 429; the v2 client's version probe takes any 4xx
      // other than 401/403 for "not a 2026 server" and reports a failed negotiation.
      assert.deepEqual(clientStatuses, era === "2025" ? [401, 401, 429] : [401, 401, undefined]);
      assert.ok(limited);
      const retryAfter = Number(limited.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      checkEnvelope(
        JSON.parse(limited.body).error,
        {
          code: "RATE_LIMITED",
          retryable: true,
          keys: ["retry_after_seconds"],
          extra: { retry_after_seconds: retryAfter },
        },
        limited,
        h,
      );
      // A request with a token is not limited by the per-IP unauthenticated budget.
      const c = await connect(h.mcpUrl, DEMO_TOKENS.full);
      await c.client.listTools();
      await c.close();
    } finally {
      await h.close();
    }
  });
}
