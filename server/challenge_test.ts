import assert from "node:assert/strict";
import { bearerChallenge } from "./challenge.ts";

Deno.test("WWW-Authenticate values are RFC 6750 quoted strings", () => {
  assert.equal(
    bearerChallenge({ scope: "a b", resourceMetadata: "https://x/.well-known/y" }),
    'Bearer resource_metadata="https://x/.well-known/y", scope="a b"',
  );
  assert.equal(
    bearerChallenge({
      error: "insufficient_scope",
      scope: "sms:send",
      resourceMetadata: "https://x",
      errorDescription: 'needs "sms:send"\\\n€',
    }),
    'Bearer error="insufficient_scope", scope="sms:send", resource_metadata="https://x", error_description="needs sms:send"',
  );
});
