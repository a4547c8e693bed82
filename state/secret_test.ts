import assert from "node:assert/strict";
import { createPrincipalHasher, deriveKey } from "../core/keys.ts";
import { resolveSecret } from "./secret.ts";

Deno.test("the master secret: configured, else shared through KV, else per process", async () => {
  const configured = await resolveSecret("s".repeat(32), null);
  assert.deepEqual([configured.origin, configured.secret.byteLength], ["configured", 32]);
  const [p1, p2] = [await resolveSecret("", null), await resolveSecret("", null)];
  assert.equal(p1.origin, "process");
  assert.notDeepEqual(p1.secret, p2.secret);

  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    const [a, b] = await Promise.all([resolveSecret("", kvA), resolveSecret("", kvB)]);
    assert.equal(a.origin, "kv");
    assert.deepEqual(a.secret, b.secret, "two instances starting together agree");
    const ha = createPrincipalHasher(deriveKey(a.secret, "principal"));
    const hb = createPrincipalHasher(deriveKey(b.secret, "principal"));
    assert.equal(await ha("token"), await hb("token"));
    assert.notEqual(
      await ha("token"),
      await createPrincipalHasher(a.secret)("token"),
      "keys differ by purpose",
    );
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
  }
});
