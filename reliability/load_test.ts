/**
 * Isolation under load: 1,000 concurrent tool calls over 50 tokens, through
 * 50 real clients of both eras. Every call carries its own `X-Request-Id`,
 * which the server forwards upstream, so each request the fake saw can be
 * traced back to the call (and the token) that caused it. Every token has its
 * own price list, so a rates answer from another token's table would show.
 */
import assert from "node:assert/strict";
import { TOOLS } from "../tools/mod.ts";
import { FAKE_SCOPES } from "../testing/fake/mod.ts";
import { type Connected, connectV1, connectV2, startHarness } from "../testing/harness.ts";
import { asksUpstream, sampleCall } from "../testing/samples.ts";

const TOKENS = 50;
const CALLS_PER_TOKEN = 20;

/** Token `i`'s own price list: one Lithuanian network named after it. */
function ratesOf(i: number) {
  return [{
    CountryName: "Lithuania",
    CountryCode: "LT",
    Operator: `Operator of token ${i}`,
    Network: `Network ${i}`,
    MCC: "246",
    MNC: String(i).padStart(3, "0"),
    Rate: `0.${String(1000 + i)}`,
  }];
}

Deno.test("1,000 concurrent calls over 50 tokens: every upstream request carries its caller's token", async () => {
  // Many PIN texts to one number: the per-number PIN limit is not what this test measures.
  const h = startHarness({ env: { PIN_TEXTS_PER_HOUR: "0" } });
  /** Request id → the token of the client that sent it. */
  const callerOf = new Map<string, string>();
  const tokens = Array.from({ length: TOKENS }, (_, i) => `load-${i}-${crypto.randomUUID()}`);
  const clients: Connected[] = [];
  try {
    for (const [i, token] of tokens.entries()) {
      h.fake.addToken(token, FAKE_SCOPES);
      h.fake.setRates(token, ratesOf(i));
      const tagged: typeof fetch = (input, init) => {
        const id = crypto.randomUUID();
        callerOf.set(id, token);
        const headers = new Headers(init?.headers);
        headers.set("X-Request-Id", id);
        return fetch(input, { ...init, headers });
      };
      const connect = i % 2 === 0 ? connectV1 : connectV2;
      clients.push(await connect(h.mcpUrl, token, { fetch: tagged }));
    }
    h.fake.reset();

    const started = performance.now();
    const outcomes = await Promise.all(
      clients.flatMap((client, i) =>
        Array.from({ length: CALLS_PER_TOKEN }, async (_, k) => {
          const tool = TOOLS[(i + k) % TOOLS.length]!;
          try {
            const result = await client.client.callTool(sampleCall(tool));
            return { i, tool: tool.name, result };
          } catch (error) {
            return { i, tool: tool.name, error };
          }
        })
      ),
    );
    const seconds = (performance.now() - started) / 1000;

    const failed = outcomes.filter((o) => "error" in o || o.result.isError);
    const rates = outcomes.filter((o) => o.tool === "get_sms_rates" && "result" in o);
    const foreign = rates.filter((o) =>
      "result" in o &&
      o.result.structuredContent?.rates?.[0]?.operator !== `Operator of token ${o.i}`
    );
    const upstream = h.fake.requests;
    const mismatches = upstream.filter((r) => {
      const caller = callerOf.get(r.headers["x-request-id"] ?? "");
      return caller === undefined || caller !== r.token;
    });
    const rateFetches = h.fake.count("GET /rates");
    const eras = clients.map((c) => c.era);
    console.log(
      `figure load: ${outcomes.length} concurrent calls (${TOOLS.length} tools, ${TOKENS} tokens, ` +
        `${eras.filter((e) => e === "2025").length} v1 + ${
          eras.filter((e) => e === "2026").length
        } v2 clients) in ${seconds.toFixed(1)} s, ${failed.length} failed; ` +
        `${upstream.length} upstream requests, ${mismatches.length} token mismatches; ` +
        `${rates.length} rates answers, ${foreign.length} from another token's table ` +
        `(${rateFetches} upstream fetches)`,
    );
    assert.equal(outcomes.length, TOKENS * CALLS_PER_TOKEN);
    assert.deepEqual(
      failed.slice(0, 3).map((o) =>
        `${o.tool}: ${"error" in o ? o.error : o.result.content?.[0]?.text}`
      ),
      [],
    );
    assert.equal(mismatches.length, 0);
    assert.equal(foreign.length, 0);
    const ratesCalls = tokens.flatMap((_, i) =>
      Array.from({ length: CALLS_PER_TOKEN }, (_, k) =>
        TOOLS[(i + k) % TOOLS.length]!.name)
    ).filter((name) => name === "get_sms_rates").length;
    assert.equal(rates.length, ratesCalls);
    // Each token's table was fetched once (cached, single-flight), with its own token.
    assert.equal(rateFetches, TOKENS);
    for (const token of tokens) assert.equal(h.fake.count("GET /rates", token), 1);
    // Every call that is not served from the rates cache (or from the ledger) reached VertexSMS once.
    const local = outcomes.filter((o) => !asksUpstream(TOOLS.find((t) => t.name === o.tool)!));
    assert.equal(upstream.length, outcomes.length - rates.length - local.length + TOKENS);
  } finally {
    for (const c of clients) await c.close();
    await h.close();
  }
});
