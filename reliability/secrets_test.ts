/**
 * Secrets and personal data: one run through every tool, every kind of
 * failure and every 401 path, in both eras, with its own tokens; then the
 * captured logs (and console) hold no token, SMS text, PIN, full phone number
 * or callback id, and no answer (envelope, `_meta`, header) carries a token.
 */
import assert from "node:assert/strict";
import { TOOLS } from "../tools/mod.ts";
import { FAKE_SCOPES } from "../testing/fake/mod.ts";
import {
  CLIENTS,
  DEMO_TOKENS,
  type Harness,
  httpStatusOf,
  modernCall,
  rpc,
  startHarness,
} from "../testing/harness.ts";
import { type Secret, secretsOf } from "../testing/leaks.ts";
import { sampleCall } from "../testing/samples.ts";

/** Tokens of this test; the last two never reach VertexSMS (malformed headers). */
const TOKENS = {
  full: "sk-live-full-7Hq2mXv9Lp4Rt8Wz",
  ratesOnly: "sk-live-rates-3Kd8Pq1Vn6Bx0Yc",
  revoked: "sk-live-revoked-9Mf4Tg2Jh7Ns5Qa",
  unknown: "sk-live-unknown-1Zx6Cv3Bn8Ml0Kj",
  spaced: "sk-live-spaced 5Rt7Yu9Io1Pa3Sd",
  basic: "c2stbGl2ZS1iYXNpYy11c2VyOnB3ZA==",
};

/** Calls with personal data beyond the samples: long texts, national numbers, other PINs. */
const EXTRA_CALLS = [
  {
    name: "send_sms",
    arguments: {
      to: "869912345",
      correctBy: "LT",
      from: "+37060000001",
      message: "Sveiki! Jūsų slaptažodis: ąčęėįšųūž 7731",
    },
  },
  {
    name: "send_sms",
    arguments: { to: "+37060000021", from: "Shop", message: "Blocked text 555" },
  },
  { name: "confirm_msisdn_sender", arguments: { senderId: 124, code: "99999" } },
  { name: "lookup_hlr", arguments: { msisdn: "+37061860698" } },
  {
    name: "correct_phone_number",
    arguments: { numbers: [{ number: "852123456", country: "LT" }] },
  },
];

/** Everything the clients were answered, as text. */
type Answers = string[];

async function callEverything(h: Harness, answers: Answers) {
  for (const { era, connect } of CLIENTS) {
    const full = await connect(h.mcpUrl, TOKENS.full);
    const rates = await connect(h.mcpUrl, TOKENS.ratesOnly);
    try {
      for (const call of [...TOOLS.map(sampleCall), ...EXTRA_CALLS]) {
        answers.push(JSON.stringify(await full.client.callTool(call)));
        // The scope rejection, for every tool this token may not use.
        answers.push(JSON.stringify(await rates.client.callTool(call)));
      }
      // Upstream failures, one of which echoes the token in its message.
      for (
        const fault of [
          { kind: "status", status: 400, body: { message: `Token ${TOKENS.full} is not allowed` } },
          { kind: "status", status: 503 },
          { kind: "reset" },
          { kind: "not-json" },
        ] as const
      ) {
        h.fake.inject({ ...fault, times: 2 });
        for (const tool of ["send_sms", "get_operator"]) {
          const call = sampleCall(TOOLS.find((t) => t.name === tool)!);
          answers.push(JSON.stringify(await full.client.callTool(call)));
        }
        h.fake.clearFaults();
      }
      // Invalid input that carries personal data.
      answers.push(
        JSON.stringify(
          await full.client.callTool({
            name: "send_sms",
            arguments: { to: "+37069912345", from: "Shop", message: "Secret plan 42", x: 1 },
          }),
        ),
      );
    } finally {
      await full.close();
      await rates.close();
    }
    // A revoked and an unknown token: the whole response becomes HTTP 401.
    for (const token of [TOKENS.revoked, TOKENS.unknown]) {
      const c = await connect(h.mcpUrl, token).catch((error) => error);
      if (c instanceof Error) {
        answers.push(`${httpStatusOf(c)} ${c.message}`);
        continue;
      }
      try {
        await c.client.callTool(sampleCall(TOOLS[0]!));
        throw new Error(`${era}: ${token.slice(0, 12)} was accepted`);
      } catch (error) {
        assert.equal(httpStatusOf(error), 401, `${era}: ${String(error)}`);
        answers.push(String(error instanceof Error ? error.message : error));
      } finally {
        await c.close();
      }
    }
  }
}

/** Raw HTTP: no token, malformed headers, a revoked token; keep status, headers and body. */
async function rawRequests(h: Harness, answers: Answers) {
  const headerSets: Record<string, string>[] = [
    {},
    { Authorization: `Bearer ${TOKENS.spaced}` },
    { Authorization: `Basic ${TOKENS.basic}` },
    { Authorization: `Bearer ${TOKENS.revoked}` },
    { Authorization: `Bearer ${TOKENS.unknown}` },
  ];
  for (const headers of headerSets) {
    for (
      const res of [
        await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }, headers),
        await modernCall(h.mcpUrl, "send_sms", sampleCall(TOOLS[0]!).arguments, headers),
      ]
    ) {
      answers.push(
        `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`,
      );
    }
  }
}

Deno.test("no token, SMS text, PIN, full phone number or callback id in the logs; no token in any answer", async () => {
  const h = startHarness({ env: { RATES_CACHE_TTL_SECONDS: "0" } });
  h.fake.addToken(TOKENS.full, FAKE_SCOPES);
  h.fake.addToken(TOKENS.ratesOnly, ["sms:rates"]);
  h.fake.addToken(TOKENS.revoked, FAKE_SCOPES);
  h.fake.revoke(TOKENS.revoked);
  const answers: Answers = [];
  try {
    await callEverything(h, answers);
    await rawRequests(h, answers);
    // A 403 step-up challenge comes from a second server in SCOPE_CHALLENGE=http mode.
    const strict = startHarness({ fake: h.fake, env: { SCOPE_CHALLENGE: "http" } });
    try {
      const res = await modernCall(strict.mcpUrl, "send_sms", sampleCall(TOOLS[0]!).arguments, {
        Authorization: `Bearer ${TOKENS.ratesOnly}`,
      });
      assert.equal(res.status, 403);
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    } finally {
      await strict.close();
    }
  } finally {
    await h.close();
  }
  const report = h.scan(
    [TOKENS.spaced, TOKENS.basic, ...Object.values(DEMO_TOKENS)].map((value): Secret => ({
      kind: "token",
      value,
    })),
  );

  // The scan is not vacuous: every kind of secret reached the server.
  const kinds = new Set(secretsOf(h.fake).map((s) => s.kind));
  assert.deepEqual([...kinds].sort(), ["callback id", "phone number", "pin", "sms text", "token"]);
  assert.ok(h.logs.length >= 50, "the server logged every request");

  const tokens = Object.values(TOKENS).flatMap((t) => t.split(" "));
  const carrying = answers.filter((a) => tokens.some((t) => a.includes(t)));
  console.log(
    `figure secrets: ${report.lines} log lines scanned for ${report.secrets} secret values ` +
      `(${[...kinds].join(", ")}), ${report.leaks.length} leaks; ` +
      `${answers.length} answers checked, ${carrying.length} carry a token`,
  );
  assert.deepEqual(report.leaks, []);
  assert.deepEqual(carrying, []);
});
