import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createPrincipalHasher, memo } from "./keys.ts";

Deno.test("memo keeps a value and forgets a failure", async () => {
  let calls = 0;
  const flaky = memo(() =>
    ++calls === 1 ? Promise.reject(new Error("once")) : Promise.resolve(calls)
  );
  await assert.rejects(flaky);
  assert.equal(await flaky(), 2);
  assert.equal(await flaky(), 2);
  assert.equal(calls, 2);
});

Deno.test("a token's keyed hash is HMAC-SHA256 (RFC 4231 case 2, and node:crypto for long keys)", async () => {
  const key = new TextEncoder().encode("Jefe");
  const rfc = await createPrincipalHasher(key)("what do ya want for nothing?");
  assert.equal(
    Uint8Array.fromBase64(rfc, { alphabet: "base64url" }).toHex(),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  const long = crypto.getRandomValues(new Uint8Array(100));
  const hash = createPrincipalHasher(long);
  for (const token of ["", "demo-full-5f2c9a1e7b3d", "ä€😀".repeat(40)]) {
    const expected = createHmac("sha256", long).update(token).digest("base64url");
    assert.equal(await hash(token), expected);
    assert.equal(await hash(token), expected, "the keyed state is reused, not consumed");
  }
});
