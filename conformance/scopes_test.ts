/**
 * The scope matrix: each single-scope demo token × each tool, through both
 * client SDKs, with both `SCOPE_CHALLENGE` settings. A call succeeds exactly
 * when the tool's scope is the token's; otherwise VertexSMS's 403 reaches
 * the client as the `AUTH_INVALID` envelope with `required_scope` — a tool
 * error by default, an HTTP 403 `insufficient_scope` step-up challenge with
 * `SCOPE_CHALLENGE=http`.
 *
 * The fake decides from its own route table which token may use which route,
 * so the matrix also proves each tool's declared scope against VertexSMS's.
 * A tool that asks VertexSMS nothing (`get_sms_status`, `get_sms_usage`:
 * they read this server's own ledger) has no gatekeeper to refuse it: it
 * answers every token, from what that token itself sent, and reaches nothing.
 * One harness per era and setting; every cell is checked and all mismatches
 * are reported together.
 */
import assert from "node:assert/strict";
import { ALL_SCOPES } from "../tools/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import { ONE_CALL_PER_TOOL } from "../testing/cases.ts";
import {
  CLIENTS,
  DEMO_TOKENS,
  envelopeOf,
  recordingFetch,
  startHarness,
  type WireExchange,
} from "../testing/harness.ts";

/** Keys of an `AUTH_INVALID` scope envelope: the base, the auth links, `required_scope`. */
const SCOPE_ENVELOPE_KEYS = [
  "code",
  "message",
  "retryable",
  "signup_url",
  "signin_url",
  "token_url",
  "vertex_error_code",
  "request_id",
  "required_scope",
].sort();

/** Check a scope-rejection envelope; return what is wrong with it. */
function envelopeProblems(
  envelope: Record<string, unknown>,
  scope: string,
  upstream: string,
  exchange: WireExchange,
): string[] {
  const problems: string[] = [];
  const expect = (what: string, ok: boolean) => ok || problems.push(what);
  expect(
    `keys ${Object.keys(envelope).sort()}`,
    Object.keys(envelope).sort().join() === SCOPE_ENVELOPE_KEYS.join(),
  );
  expect(`code ${envelope.code}`, envelope.code === "AUTH_INVALID");
  expect(`retryable ${envelope.retryable}`, envelope.retryable === false);
  expect(`required_scope ${envelope.required_scope}`, envelope.required_scope === scope);
  expect(`vertex_error_code ${envelope.vertex_error_code}`, envelope.vertex_error_code === null);
  expect(
    "request_id is the X-Request-Id header",
    envelope.request_id === exchange.headers.get("x-request-id"),
  );
  // The message names the scope and the route, e.g. `POST /senderId/confirm/{id}`.
  const [method, path] = upstream.split(" ") as [string, string];
  const route = `${method} /${path.split(/[/?]/)[1]}`;
  const message = String(envelope.message);
  expect(`message names ${scope}: ${message}`, message.includes(`"${scope}"`));
  expect(`message names ${route}: ${message}`, message.includes(route));
  return problems;
}

for (const challenge of ["tool", "http"] as const) {
  for (const { era, connect } of CLIENTS) {
    Deno.test(`${era}, SCOPE_CHALLENGE=${challenge}: 5 tokens × every tool, allowed exactly in scope`, async () => {
      const h = startHarness({ env: { SCOPE_CHALLENGE: challenge } });
      const resourceMetadata = `${h.server.url}/.well-known/oauth-protected-resource/mcp`;
      const problems: string[] = [];
      let allowed = 0;
      let refused = 0;
      let local = 0;
      try {
        for (const scope of ALL_SCOPES) {
          const token = DEMO_TOKENS[scope];
          const wire = recordingFetch();
          const c = await connect(h.mcpUrl, token, { fetch: wire.fetch });
          try {
            for (const tool of TOOLS) {
              const kase = ONE_CALL_PER_TOOL.get(tool.name);
              assert.ok(kase, `cases.ts has a valid call of ${tool.name}`);
              const cell = `${scope} token × ${tool.name}`;
              const report = (what: string) => problems.push(`${cell}: ${what}`);
              h.fake.reset();
              let result: Record<string, unknown> | undefined;
              let thrown: unknown;
              try {
                result = await c.client.callTool({ name: tool.name, arguments: kase.args });
              } catch (error) {
                thrown = error;
              }
              const exchange = wire.last();
              if (kase.upstream === null) {
                local++;
                if (h.fake.requests.length !== 0) report("VertexSMS was asked");
                if (thrown !== undefined || result?.isError) {
                  report(`refused: ${thrown ?? JSON.stringify(result?.content)}`);
                } else if (!tool.output.safeParse(result?.structuredContent).success) {
                  report("structuredContent does not match the output schema");
                }
                continue;
              }
              const upstream = kase.upstream;
              if (h.fake.count(upstream.split("?")[0]!, token) !== 1) {
                report("VertexSMS was not asked exactly once with this token");
              }

              if (tool.scope === scope) {
                allowed++;
                if (thrown !== undefined || result?.isError) {
                  report(`refused: ${thrown ?? JSON.stringify(result?.content)}`);
                } else if (!tool.output.safeParse(result?.structuredContent).success) {
                  report("structuredContent does not match the output schema");
                }
                continue;
              }

              refused++;
              if (challenge === "tool") {
                if (thrown !== undefined) {
                  report(`threw instead of a tool error: ${thrown}`);
                  continue;
                }
                if (exchange.status !== 200) report(`HTTP ${exchange.status}, expected 200`);
                if (result?.isError !== true) report("not an isError result");
                if (result?.structuredContent !== undefined) report("carries structuredContent");
                const envelope = envelopeOf(
                  result as { content: { type: string; text: string }[] },
                );
                for (const p of envelopeProblems(envelope, tool.scope, upstream, exchange)) {
                  report(p);
                }
                continue;
              }

              // SCOPE_CHALLENGE=http: the whole response is the step-up challenge.
              if (thrown === undefined) report("the client returned a result for an HTTP 403");
              if (exchange.status !== 403) report(`HTTP ${exchange.status}, expected 403`);
              const expected = `Bearer error="insufficient_scope", scope="${tool.scope}", ` +
                `resource_metadata="${resourceMetadata}", ` +
                `error_description="This token lacks the ${tool.scope} scope"`;
              const header = exchange.headers.get("www-authenticate");
              if (header !== expected) report(`WWW-Authenticate ${header}`);
              if (!exchange.headers.get("content-type")?.startsWith("application/json")) {
                report(`Content-Type ${exchange.headers.get("content-type")}`);
              }
              const envelope = JSON.parse(exchange.body).error as Record<string, unknown>;
              for (const p of envelopeProblems(envelope, tool.scope, upstream, exchange)) {
                report(p);
              }
              // Each SDK surfaces it as a 403, the v2 client as its step-up error.
              const e = thrown as { code?: unknown; requiredScope?: unknown; name?: string };
              if (era === "2025" && e?.code !== 403) report(`v1 error code ${e?.code}`);
              if (era === "2026" && e?.requiredScope !== tool.scope) {
                report(`v2 error ${e?.name} requiredScope ${e?.requiredScope}`);
              }
            }
          } finally {
            await c.close();
          }
        }
      } finally {
        await h.close();
      }
      assert.deepEqual(problems, []);
      const remote = TOOLS.filter((t) => ONE_CALL_PER_TOOL.get(t.name)?.upstream !== null).length;
      assert.equal(allowed, remote, "each tool that asks VertexSMS allowed for exactly one token");
      assert.equal(refused, remote * (ALL_SCOPES.length - 1));
      assert.equal(local, (TOOLS.length - remote) * ALL_SCOPES.length);
    });
  }
}
