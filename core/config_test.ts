import assert from "node:assert/strict";
import {
  ConfigError,
  configWarnings,
  isLoopbackHost,
  loadConfig,
  type VariableName,
  VARIABLES,
} from "./config.ts";

Deno.test("defaults match the documented table", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.bindHost, "127.0.0.1");
  assert.equal(config.publicUrl, "http://localhost:8000");
  assert.equal(config.vertexApiUrl, "https://api.vertexsms.com");
  assert.equal(config.authServer, "https://tool.vertexsms.com");
  assert.equal(config.upstreamTimeoutMs, 10_000);
  assert.equal(config.ratesCacheTtlSeconds, 3600);
  assert.equal(config.scopeChallenge, "tool");
  assert.deepEqual(config.allowedOrigins, []);
  assert.equal(config.maxBodyBytes, 1_048_576);
  assert.equal(config.unauthRateLimitPerMinute, 60);
  assert.equal(config.trustProxy, false);
  assert.deepEqual(config.hlrCallbackAllowedIps, []);
  assert.equal(config.kvPath, "");
  assert.equal(config.shutdownTimeoutMs, 30_000);
  assert.equal(config.logLevel, "info");
  assert.equal(config.smsSendsPerMinute, 20);
  assert.equal(config.smsRecipientsPerHour, 100);
  assert.equal(config.smsDailySpendCapMicros, 0, "no spend cap by default");
  assert.equal(config.smsRequireConfirmation, false);
  assert.equal(config.pinTextsPerHour, 5);
  assert.equal(config.smsTestMode, "off", "real sends by default");
  assert.equal(config.stateSecret, "");
  assert.equal(config.stateUrl, "", "no Redis by default");
  assert.equal(config.stateRedisPassword, "");
  assert.equal(config.smsLedgerDays, 7);
  assert.deepEqual(config.dlrCallbackAllowedIps, []);
});

Deno.test("STATE_URL: redis:// or rediss://; never with a KV database; its password never shown", () => {
  const url = "rediss://mcp:s3cr3t-pw@redis.internal:6380/2";
  assert.equal(loadConfig({ STATE_URL: url }).stateUrl, url);
  assert.equal(loadConfig({ STATE_URL: url, KV_PATH: "off" }).kvPath, "off");
  const both = { STATE_URL: url, KV_PATH: "/var/lib/vertexsms-mcp/kv.sqlite" };
  assert.throws(
    () => loadConfig(both),
    (e: unknown) =>
      e instanceof ConfigError && e.variable === "KV_PATH" &&
      /when STATE_URL is set/.test(e.message),
  );
  for (
    const bad of ["redis://:s3cr3t-pw@/0", "rediss://u:s3cr3t-pw@host/db", "ftp://u:s3cr3t-pw@h"]
  ) {
    assert.throws(() => loadConfig({ STATE_URL: bad }), (e: unknown) => {
      assert.ok(e instanceof ConfigError && e.variable === "STATE_URL", String(e));
      assert.ok(!e.message.includes("s3cr3t-pw"), e.message);
      return true;
    });
  }
  assert.throws(() => loadConfig({ STATE_URL: "redis://h?db=1" }), ConfigError);
  assert.throws(
    () => loadConfig({ STATE_URL: "http://u:s3cr3t-pw@redis.internal" }),
    (e: unknown) => e instanceof ConfigError && e.message.includes("http://u:***@redis.internal"),
  );
  assert.throws(
    () => loadConfig({ STATE_REDIS_PASSWORD: "s3cr3t-pw" }),
    (e: unknown) =>
      e instanceof ConfigError && e.variable === "STATE_REDIS_PASSWORD" &&
      !e.message.includes("s3cr3t-pw"),
  );
  assert.equal(
    loadConfig({ STATE_URL: "redis://127.0.0.1:6379", STATE_REDIS_PASSWORD: "s3cr3t-pw" })
      .stateRedisPassword,
    "s3cr3t-pw",
  );
  assert.deepEqual(configWarnings(loadConfig({ STATE_URL: "redis://127.0.0.1:6379" })), []);
  assert.deepEqual(configWarnings(loadConfig({ STATE_URL: url })), []);
  const warned = configWarnings(loadConfig({ STATE_URL: "redis://u:s3cr3t-pw@10.0.0.5:6379" }));
  assert.equal(warned.length, 1);
  assert.match(warned[0]!, /^STATE_URL is plain redis:\/\//);
  assert.ok(!warned[0]!.includes("s3cr3t-pw"));
});

Deno.test("money settings: caps in EUR become micro-euros; 0 switches limits off", () => {
  const config = loadConfig({
    SMS_DAILY_SPEND_CAP_EUR: "12.50",
    SMS_SENDS_PER_MINUTE: "0",
    SMS_REQUIRE_CONFIRMATION: "true",
    STATE_SECRET: "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s",
  });
  assert.equal(config.smsDailySpendCapMicros, 12_500_000);
  assert.equal(config.smsSendsPerMinute, 0);
  assert.equal(config.smsRequireConfirmation, true);
  assert.equal(config.stateSecret, "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s");
  assert.equal(loadConfig({ SMS_DAILY_SPEND_CAP_EUR: "0" }).smsDailySpendCapMicros, 0);
  assert.equal(loadConfig({ SMS_TEST_MODE: "delivered" }).smsTestMode, "delivered");
  assert.equal(loadConfig({ SMS_TEST_MODE: "failed" }).smsTestMode, "failed");
});

Deno.test("PUBLIC_URL is normalised: lower-case host, no trailing slash", () => {
  assert.equal(
    loadConfig({ PUBLIC_URL: "HTTPS://MCP.Example.COM/" }).publicUrl,
    "https://mcp.example.com",
  );
  assert.equal(loadConfig({ PORT: "9000" }).publicUrl, "http://localhost:9000");
});

Deno.test("lists are parsed", () => {
  const config = loadConfig({
    ALLOWED_ORIGINS: "https://a.example, http://localhost:3000",
    HLR_CALLBACK_ALLOWED_IPS: "178.33.133.192/28,178.32.167.92",
  });
  assert.deepEqual(config.allowedOrigins, ["https://a.example", "http://localhost:3000"]);
  assert.deepEqual(config.hlrCallbackAllowedIps, ["178.33.133.192/28", "178.32.167.92"]);
  assert.deepEqual(
    config.dlrCallbackAllowedIps,
    ["178.33.133.192/28", "178.32.167.92"],
    "delivery reports default to the HLR callback addresses",
  );
  const own = loadConfig({
    HLR_CALLBACK_ALLOWED_IPS: "178.33.133.192/28",
    DLR_CALLBACK_ALLOWED_IPS: "10.0.0.0/8",
  });
  assert.deepEqual(own.dlrCallbackAllowedIps, ["10.0.0.0/8"]);
  assert.equal(loadConfig({ SMS_LEDGER_DAYS: "0" }).smsLedgerDays, 0, "0: the ledger is off");
});

/** One invalid value per variable: each must be refused with a line naming it. */
const INVALID: Record<VariableName, string> = {
  PORT: "eighty",
  BIND_HOST: "not a host",
  PUBLIC_URL: "ftp://example.com",
  VERTEXSMS_API_URL: "api.vertexsms.com",
  VERTEXSMS_AUTH_SERVER: "https://tool.vertexsms.com?x=1",
  VERTEXSMS_SIGNUP_URL: "mailto:sales@vertexsms.com",
  VERTEXSMS_SIGNIN_URL: "//login",
  VERTEXSMS_TOKEN_URL: "javascript:alert(1)",
  UPSTREAM_TIMEOUT_MS: "10s",
  RATES_CACHE_TTL_SECONDS: "-1",
  SCOPE_CHALLENGE: "both",
  ALLOWED_ORIGINS: "https://ok.example,https://bad.example/path",
  MAX_BODY_BYTES: "1",
  UNAUTH_RATE_LIMIT_PER_MINUTE: "0",
  TRUST_PROXY: "yes please",
  HLR_CALLBACK_ALLOWED_IPS: "10.0.0.0/33",
  DLR_CALLBACK_ALLOWED_IPS: "178.33.133.192/28,example.com",
  SMS_LEDGER_DAYS: "91",
  KV_PATH: "data/\u0007kv.sqlite",
  STATE_URL: "http://:hunter2@redis.internal:6379",
  STATE_REDIS_PASSWORD: "hunter2\u0007",
  SHUTDOWN_TIMEOUT_MS: "30s",
  SMS_SENDS_PER_MINUTE: "-1",
  SMS_RECIPIENTS_PER_HOUR: "lots",
  SMS_DAILY_SPEND_CAP_EUR: "€25",
  SMS_CONFIRMATION: "always",
  SMS_REQUIRE_CONFIRMATION: "maybe",
  PIN_TEXTS_PER_HOUR: "5/h",
  SMS_TEST_MODE: "on",
  STATE_SECRET: "too-short-to-sign-anything",
  STATE_SECRET_PREVIOUS: "too-short-to-sign-anything",
  LOG_LEVEL: "verbose",
};

/** Variables whose value must never appear as given, not even in a refusal. */
const SECRET: ReadonlySet<VariableName> = new Set([
  "STATE_SECRET",
  "STATE_SECRET_PREVIOUS",
  "STATE_REDIS_PASSWORD",
  "STATE_URL",
]);

for (const name of Object.keys(VARIABLES) as VariableName[]) {
  Deno.test(`an invalid ${name} is refused with one line naming it`, () => {
    assert.throws(() => loadConfig({ [name]: INVALID[name] }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.variable, name);
      assert.ok(!error.message.includes("\n"));
      assert.match(error.message, new RegExp(`^Invalid configuration: ${name} must be `));
      assert.equal(
        error.message.includes(JSON.stringify(INVALID[name])),
        !SECRET.has(name),
        SECRET.has(name) ? "a secret is never echoed" : "the value is quoted",
      );
      return true;
    });
  });
}

Deno.test("a guessable STATE_SECRET is refused: 32 identical characters, or too few different ones", () => {
  for (const weak of ["x".repeat(32), "ab".repeat(40), "0123456789a".repeat(3)]) {
    assert.throws(
      () => loadConfig({ STATE_SECRET: weak }),
      (e: unknown) =>
        e instanceof ConfigError && e.variable === "STATE_SECRET" && !e.message.includes(weak),
    );
  }
  assert.equal(
    loadConfig({ STATE_SECRET: "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s" }).stateSecret.length,
    32,
  );
});

Deno.test("SMS_CONFIRMATION: ask by default; the deprecated alias means require, with a warning", () => {
  assert.equal(loadConfig({}).smsConfirmation, "ask");
  assert.equal(loadConfig({ SMS_CONFIRMATION: "off" }).smsConfirmation, "off");
  const aliased = loadConfig({ SMS_REQUIRE_CONFIRMATION: "true" });
  assert.equal(aliased.smsConfirmation, "require");
  assert.match(configWarnings(aliased).join("\n"), /SMS_REQUIRE_CONFIRMATION is deprecated/);
  const both = loadConfig({ SMS_REQUIRE_CONFIRMATION: "true", SMS_CONFIRMATION: "ask" });
  assert.equal(both.smsConfirmation, "ask", "the policy, when given, wins");
  assert.deepEqual(configWarnings(loadConfig({ SMS_CONFIRMATION: "require" })), []);
});

Deno.test("plain http:// off loopback is warned about, loopback and https are not", () => {
  assert.deepEqual(configWarnings(loadConfig({})), []);
  assert.deepEqual(
    configWarnings(
      loadConfig({
        PUBLIC_URL: "https://mcp.example.com",
        VERTEXSMS_API_URL: "http://127.0.0.1:9",
      }),
    ),
    [],
  );
  const warned = configWarnings(
    loadConfig({
      PUBLIC_URL: "http://mcp.example.com",
      VERTEXSMS_API_URL: "http://api.vertexsms.com",
    }),
  );
  assert.equal(warned.length, 2);
  assert.match(
    warned[0]!,
    /^PUBLIC_URL is plain http:\/\/ on a non-loopback host \(mcp\.example\.com\)/,
  );
  assert.match(warned[1]!, /^VERTEXSMS_API_URL is plain http:\/\//);
});

Deno.test("loopback hosts", () => {
  for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "::1", "app.localhost"]) {
    assert.ok(isLoopbackHost(host), host);
  }
  for (const host of ["mcp.vertexsms.com", "10.0.0.1", "0.0.0.0"]) {
    assert.ok(!isLoopbackHost(host), host);
  }
});

Deno.test("every variable is refused on a bad value, each with one line naming it", () => {
  const names = Object.keys(VARIABLES) as VariableName[];
  const refused = names.filter((name) => {
    try {
      loadConfig({ [name]: INVALID[name] });
      return false;
    } catch (error) {
      return error instanceof ConfigError && error.variable === name &&
        !error.message.includes("\n");
    }
  });
  console.log(
    `figure config: ${refused.length} of ${names.length} variables refused at start with one line naming them`,
  );
  assert.deepEqual(refused, names);
});

Deno.test("STATE_SECRET_PREVIOUS needs a different STATE_SECRET beside it, and is never echoed", () => {
  const old = "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s";
  for (
    const env of [{ STATE_SECRET_PREVIOUS: old }, { STATE_SECRET: old, STATE_SECRET_PREVIOUS: old }]
  ) {
    assert.throws(() => loadConfig(env), (error: unknown) => {
      assert.ok(error instanceof ConfigError && error.variable === "STATE_SECRET_PREVIOUS");
      assert.match(error.message, /beside a different STATE_SECRET/);
      assert.ok(!error.message.includes(old));
      return true;
    });
  }
  const rotating = loadConfig({
    STATE_SECRET: "Z1x9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0L",
    STATE_SECRET_PREVIOUS: old,
  });
  assert.equal(rotating.stateSecretPrevious, old);
});
