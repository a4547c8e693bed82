import assert from "node:assert/strict";
import { asServiceError, CATALOG, ServiceError, toEnvelope } from "./errors.ts";

const LINKS = { signupUrl: "https://s", signinUrl: "https://i", tokenUrl: "https://t" };

Deno.test("auth envelopes carry the three URLs, others do not", () => {
  const auth = toEnvelope(new ServiceError("AUTH_REQUIRED", "m"), "rid", LINKS);
  assert.deepEqual(auth, {
    error: {
      code: "AUTH_REQUIRED",
      message: "m",
      retryable: false,
      signup_url: "https://s",
      signin_url: "https://i",
      token_url: "https://t",
      vertex_error_code: null,
      request_id: "rid",
    },
  });
  const other = toEnvelope(new ServiceError("NOT_FOUND", "m"), "rid", LINKS);
  assert.equal(other.error.signup_url, undefined);
  assert.equal(other.error.vertex_error_code, null);
});

Deno.test("optional fields appear only when they apply", () => {
  const e = toEnvelope(
    new ServiceError("UPSTREAM_TIMEOUT", "m", { retryable: false, outcomeUnknown: true }),
    "r",
    LINKS,
  );
  assert.equal(e.error.retryable, false);
  assert.equal(e.error.outcome_unknown, true);
  assert.equal(e.error.lookup_id, undefined);
  assert.equal(
    new ServiceError("UPSTREAM_TIMEOUT", "m").retryable,
    CATALOG.UPSTREAM_TIMEOUT.retryable,
  );
});

Deno.test("anything thrown that is not ours becomes INTERNAL_ERROR without its message", () => {
  const error = asServiceError(new TypeError("secret detail"));
  assert.equal(error.code, "INTERNAL_ERROR");
  assert.ok(!error.message.includes("secret detail"));
  assert.match(error.message, /request_id/);
});
