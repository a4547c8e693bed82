/**
 * Upstream faults: every tool × every fault, through real clients.
 *
 * Each fault is injected by the fake (or, for connection faults, by pointing
 * the server at a closed port or at a listener that hangs up), each tool runs
 * its sample call, and the test checks the catalog code, `retryable`,
 * `outcome_unknown`, how many requests reached the upstream (billable and
 * state-changing tools: exactly once; read-only ones: twice on a connection
 * error, else once), that `/mcp` never answered 5xx, that no promise was
 * left rejected, and that the server still serves afterwards. The tools that
 * read this server's own ledger ask VertexSMS nothing: they answer under
 * every fault, and reach it zero times.
 */
import assert from "node:assert/strict";
import { TOOLS } from "../tools/mod.ts";
import type { Fault } from "../testing/fake/mod.ts";
import {
  type Connected,
  connectV1,
  connectV2,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  startHarness,
} from "../testing/harness.ts";
import { asksUpstream, sampleCall } from "../testing/samples.ts";

/**
 * `errors.md` / `http.md`: billable or state-changing, so never retried and a
 * timeout or broken connection leaves the outcome unknown. Everything else is
 * read-only and not billable.
 */
const UNSAFE = new Set([
  "send_sms",
  "send_sms_batch",
  "lookup_hlr",
  "register_sender_id",
  "register_msisdn_sender",
  "confirm_msisdn_sender",
]);

/** `UPSTREAM_TIMEOUT_MS` of the harness; the `slow` fault answers well after it. */
const TIMEOUT_MS = 200;

type Upstream = "fake" | "refused" | "hangup";

interface Expected {
  code: string;
  retryable: boolean;
  outcomeUnknown?: true;
  retryAfterSeconds?: number;
  /** Requests the upstream saw. */
  reached: number;
}

interface FaultCase {
  name: string;
  upstream: Upstream;
  fault?: Fault;
  /** `undefined`: the call succeeds (the fault does not touch the tool's contract). */
  expect: (tool: string) => Expected | undefined;
}

const unavailable: Expected = { code: "UPSTREAM_UNAVAILABLE", retryable: true, reached: 1 };

/**
 * A 5xx: for a read, a retryable outage; for a billable or state-changing
 * call, the outcome is unknown (a gateway may answer 5xx after VertexSMS
 * carried the request out), so it is never retryable.
 */
const serverError = (tool: string): Expected =>
  UNSAFE.has(tool)
    ? { code: "UPSTREAM_UNAVAILABLE", retryable: false, outcomeUnknown: true, reached: 1 }
    : unavailable;

/** A 2xx that cannot be read: for a billable or state-changing call, the outcome is unknown. */
const badResponse = (tool: string): Expected =>
  UNSAFE.has(tool)
    ? { code: "UPSTREAM_BAD_RESPONSE", retryable: false, outcomeUnknown: true, reached: 1 }
    : { code: "UPSTREAM_BAD_RESPONSE", retryable: false, reached: 1 };

/** The request was sent and the connection broke before an answer was read. */
const broken = (tool: string): Expected =>
  UNSAFE.has(tool)
    ? { code: "UPSTREAM_UNAVAILABLE", retryable: false, outcomeUnknown: true, reached: 1 }
    : { code: "UPSTREAM_UNAVAILABLE", retryable: true, reached: 2 };

/**
 * `POST /senderId/confirm/{id}` answers "an empty or OK body" (vertexsms-api.md):
 * there is no body to break, so a 200 of any text confirms.
 */
const bodyless = (tool: string) => tool === "confirm_msisdn_sender";

const FAULTS: FaultCase[] = [
  {
    name: "connection refused",
    upstream: "refused",
    expect: () => ({ ...unavailable, reached: 0 }),
  },
  { name: "hang-up before answering", upstream: "hangup", expect: broken },
  { name: "reset mid-body", upstream: "fake", fault: { kind: "reset" }, expect: broken },
  ...[500, 502, 503].map((status): FaultCase => ({
    name: `HTTP ${status}`,
    upstream: "fake",
    fault: { kind: "status", status },
    expect: serverError,
  })),
  {
    name: "HTTP 429 with Retry-After",
    upstream: "fake",
    fault: { kind: "status", status: 429, headers: { "Retry-After": "7" } },
    expect: () => ({ code: "RATE_LIMITED", retryable: true, retryAfterSeconds: 7, reached: 1 }),
  },
  {
    name: "slower than the timeout",
    upstream: "fake",
    fault: { kind: "slow", delayMs: TIMEOUT_MS * 3 },
    expect: (tool) =>
      UNSAFE.has(tool)
        ? { code: "UPSTREAM_TIMEOUT", retryable: false, outcomeUnknown: true, reached: 1 }
        : { code: "UPSTREAM_TIMEOUT", retryable: true, reached: 1 },
  },
  {
    name: "200 with a non-JSON body",
    upstream: "fake",
    fault: { kind: "not-json" },
    expect: (tool) => bodyless(tool) ? undefined : badResponse(tool),
  },
  {
    name: "200 with the wrong JSON shape",
    upstream: "fake",
    fault: { kind: "wrong-shape" },
    expect: (tool) => bodyless(tool) ? undefined : badResponse(tool),
  },
  {
    name: "a 32 MiB body",
    upstream: "fake",
    fault: { kind: "huge", bytes: 32 * 1024 * 1024 },
    expect: badResponse,
  },
];

/**
 * A loopback listener that reads one HTTP request per connection and hangs
 * up without answering: the request was delivered, the answer never comes.
 */
function startHangup() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const conns = new Set<Promise<void>>();
  const serveOne = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    let text = "";
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) continue;
        const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
        if (new TextEncoder().encode(text.slice(end + 4)).byteLength >= length) break;
      }
      if (text) seen.push(text.slice(0, text.indexOf(" HTTP/")));
    } catch {
      // the client gave up first
    } finally {
      conn.close();
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const p = serveOne(conn).finally(() => conns.delete(p));
        conns.add(p);
      }
    } catch {
      // closed
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    seen,
    close: async () => {
      listener.close();
      await accepting;
      await Promise.all(conns);
    },
  };
}

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Tally {
  cases: number;
  mismatches: string[];
  reached: { unsafe: number; safe: number };
}

/**
 * The error of a one-recipient `send_sms_batch`: its recipient's (a batch
 * answers a result; a recipient's error carries code and outcome only).
 */
function recipientError(
  result: { structuredContent?: unknown },
): Record<string, unknown> | undefined {
  const out = result.structuredContent as { results?: { error: Record<string, unknown> }[] };
  const error = out?.results?.[0]?.error;
  return error && { ...error, outcome_unknown: error.outcome_unknown || undefined };
}

/** Run every tool under one fault with one connected client. */
async function runFault(
  kase: FaultCase,
  h: Harness,
  client: Connected,
  reachedSoFar: (route?: string) => number,
  tally: Tally,
) {
  for (const tool of TOOLS) {
    h.fake.reset();
    h.fake.clearFaults();
    h.server.app.rates.clear();
    if (kase.fault) h.fake.inject(kase.fault);
    // A batch prices its result after sending (a failure there leaves the estimate unknown):
    // only its sends count.
    const batch = tool.name === "send_sms_batch";
    const route = batch ? "POST /sms" : undefined;
    const before = reachedSoFar(route);
    const label = `${client.era} ${kase.name} × ${tool.name}`;
    const result = await client.client.callTool(sampleCall(tool));
    const reached = reachedSoFar(route) - before;
    // A tool that asks VertexSMS nothing meets no upstream fault.
    const expected = asksUpstream(tool) ? kase.expect(tool.name) : undefined;
    tally.cases++;
    const problems: string[] = [];
    if (expected === undefined) {
      if (result.isError || (batch && result.structuredContent?.sent !== 1)) {
        problems.push(`expected success, got ${result.content?.[0]?.text}`);
      }
    } else {
      const error = result.isError
        ? envelopeOf(result)
        : batch
        ? recipientError(result)
        : undefined;
      const got = {
        code: error?.code,
        retryable: batch ? undefined : error?.retryable,
        outcomeUnknown: error?.outcome_unknown,
        retryAfterSeconds: batch ? undefined : error?.retry_after_seconds,
        reached,
      };
      const want = {
        code: expected.code,
        retryable: batch ? undefined : expected.retryable,
        outcomeUnknown: expected.outcomeUnknown,
        retryAfterSeconds: batch ? undefined : expected.retryAfterSeconds,
        reached: expected.reached,
      };
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        problems.push(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      }
      if (result.isError && typeof error?.request_id !== "string") problems.push("no request_id");
      if (JSON.stringify(result).includes(DEMO_TOKENS.full)) {
        problems.push("the token is in the answer");
      }
    }
    if (!asksUpstream(tool)) {
      if (reached !== 0) problems.push(`reached the upstream ${reached} times`);
    } else if (UNSAFE.has(tool.name)) {
      tally.reached.unsafe = Math.max(tally.reached.unsafe, reached);
      if (reached > 1) problems.push(`reached the upstream ${reached} times`);
    } else {
      tally.reached.safe = Math.max(tally.reached.safe, reached);
      if (reached > 2) problems.push(`reached the upstream ${reached} times`);
    }
    for (const p of problems) tally.mismatches.push(`${label}: ${p}`);
  }
}

/** Every `request` log line of `/mcp` with a 5xx status. */
function serverErrors(h: Harness): number {
  return h.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "request" && l.path === "/mcp" && l.status >= 500
  ).length;
}

async function matrix(era: "2025" | "2026", faults: FaultCase[]) {
  const connect = era === "2025" ? connectV1 : connectV2;
  const rejections: unknown[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    rejections.push(e.reason);
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  const tally: Tally = { cases: 0, mismatches: [], reached: { unsafe: 0, safe: 0 } };
  const hangup = startHangup();
  // The PIN limit off: register_msisdn_sender meets every fault, and maybe-billed ones count.
  const env = { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), PIN_TEXTS_PER_HOUR: "0" };
  const harnesses: Record<Upstream, Harness> = {
    fake: startHarness({ env }),
    refused: startHarness({
      env: { ...env, VERTEXSMS_API_URL: `http://127.0.0.1:${closedPort()}` },
    }),
    hangup: startHarness({ env: { ...env, VERTEXSMS_API_URL: hangup.url } }),
  };
  const reachedBy: Record<Upstream, (route?: string) => number> = {
    fake: (route) => route ? harnesses.fake.fake.count(route) : harnesses.fake.fake.requests.length,
    refused: () => 0,
    hangup: (route) => hangup.seen.filter((r) => !route || r.startsWith(route)).length,
  };
  const started = performance.now();
  try {
    for (const kase of faults) {
      const h = harnesses[kase.upstream];
      const client = await connect(h.mcpUrl, DEMO_TOKENS.full);
      try {
        await runFault(kase, h, client, reachedBy[kase.upstream], tally);
      } finally {
        await client.close();
      }
    }
    // Alive and well: the same server answers a clean call afterwards.
    const h = harnesses.fake;
    h.fake.clearFaults();
    const client = await connect(h.mcpUrl, DEMO_TOKENS.full);
    try {
      const ok = await client.client.callTool({
        name: "get_operator",
        arguments: { operatorId: 493 },
      });
      assert.notEqual(ok.isError, true, "the server still serves after the faults");
    } finally {
      await client.close();
    }
    const health = await fetch(`${h.server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    for (const h of Object.values(harnesses)) await h.close();
    await hangup.close();
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  const fiveXx = Object.values(harnesses).reduce((n, h) => n + serverErrors(h), 0);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `figure faults (${era}): ${TOOLS.length} tools × ${faults.length} faults = ${tally.cases} cases, ` +
      `${tally.mismatches.length} mismatches, ${fiveXx} HTTP 5xx, ${rejections.length} unhandled ` +
      `rejections; upstream requests per call: billable/state-changing ≤ ${tally.reached.unsafe}, ` +
      `read-only ≤ ${tally.reached.safe} (${seconds} s)`,
  );
  assert.deepEqual(tally.mismatches, []);
  assert.equal(tally.cases, TOOLS.length * faults.length);
  assert.equal(fiveXx, 0, "no 5xx from /mcp");
  assert.deepEqual(rejections, [], "no unhandled rejection");
}

Deno.test("2026: every tool × every upstream fault maps to the catalog; billable calls reach VertexSMS once", async () => {
  await matrix("2026", FAULTS);
});

Deno.test("2025: every tool × every upstream fault, through the v1 client", async () => {
  await matrix("2025", FAULTS);
});
