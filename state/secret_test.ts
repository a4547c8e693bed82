import assert from "node:assert/strict";
import { createPrincipalHasher, deriveKey } from "../core/keys.ts";
import { checkSecret, resolveSecret, SecretMismatchError } from "./secret.ts";
import { redisState } from "./redis.ts";
import { kvState } from "./shared.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

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
    const [a, b] = await Promise.all([
      resolveSecret("", kvState(kvA).vault),
      resolveSecret("", kvState(kvB).vault),
    ]);
    assert.equal(a.origin, "shared");
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

Deno.test("instances on one KV database with different secrets are told so; the same secret passes", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    const one = new TextEncoder().encode("q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s");
    const other = new TextEncoder().encode("Z1x9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0L");
    await checkSecret(kvState(kvA).vault!, one);
    await checkSecret(kvState(kvB).vault!, one);
    await assert.rejects(() => checkSecret(kvState(kvB).vault!, other), SecretMismatchError);
    for await (const entry of kvA.list({ prefix: ["secrets"] })) {
      assert.ok(
        !JSON.stringify(entry.value).includes("q7V2mZ9kL0pX4rT8"),
        "the secret is not stored",
      );
    }
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
  }
});

redisTest(
  "instances sharing Redis agree on one secret; a different STATE_SECRET is told so",
  async () => {
    const server = await startRedis();
    const a = await redisState({ url: server.url });
    const b = await redisState({ url: server.url });
    try {
      const [ra, rb] = await Promise.all([resolveSecret("", a.vault), resolveSecret("", b.vault)]);
      assert.deepEqual([ra.origin, rb.origin], ["shared", "shared"]);
      assert.deepEqual(ra.secret, rb.secret, "two instances starting together agree");
      await checkSecret(a.vault!, ra.secret);
      await checkSecret(b.vault!, rb.secret);
      const other = new TextEncoder().encode("Z1x9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0L");
      await assert.rejects(() => checkSecret(b.vault!, other), SecretMismatchError);
      const check = await server.command("GET", "vxmcp:secret:check");
      assert.ok(check.startsWith("$"), "a check value is kept");
      assert.ok(!check.includes(btoa(String.fromCharCode(...ra.secret))), "not the secret itself");
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  },
);
