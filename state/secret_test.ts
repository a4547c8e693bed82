import assert from "node:assert/strict";
import { createPrincipalHasher, deriveKey } from "../core/keys.ts";
import { SecretMismatchError, type SecretOptions, verifySecret } from "./secret.ts";
import { redisState } from "./redis.ts";
import { kvState, type SecretVault } from "./shared.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

const OLD = "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s";
const NEW = "Z1x9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0L";
const OTHER = "m3N8bV5cX2zL9kJ7hG4fD1sA6pO0iU8y";
const HOUR = 3_600_000;
const bytes = (s: string) => new TextEncoder().encode(s);

/** Two instances' vaults on one database, and a way to look at what it holds. */
interface Database {
  where: string;
  vaults: [SecretVault, SecretVault];
  /** Everything the vault keeps, as text. */
  dump(): Promise<string>;
  close(): Promise<void>;
}

async function kvDatabase(): Promise<Database> {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  return {
    where: path,
    vaults: [kvState(kvA).vault!, kvState(kvB).vault!],
    dump: async () => {
      const out: string[] = [];
      for await (const e of kvA.list({ prefix: ["secrets"] })) out.push(JSON.stringify(e.value));
      return out.join("\n");
    },
    close: async () => {
      kvA.close();
      kvB.close();
      await Deno.remove(path).catch(() => {});
    },
  };
}

async function redisDatabase(): Promise<Database> {
  const server = await startRedis();
  const a = await redisState({ url: server.url });
  const b = await redisState({ url: server.url });
  return {
    where: server.url,
    vaults: [a.vault!, b.vault!],
    dump: async () =>
      [await server.command("GET", "vxmcp:secret:check"), await server.command("KEYS", "*")]
        .join("\n"),
    close: async () => {
      await a.close();
      await b.close();
      await server.close();
    },
  };
}

/** The one line a refused start gives. */
async function refusal(options: SecretOptions): Promise<string> {
  const error = await verifySecret(options).then(() => null, (e) => e);
  assert.ok(error instanceof SecretMismatchError, `refused: ${error}`);
  assert.ok(!error.message.includes("\n"), "one line");
  for (const secret of [OLD, NEW, OTHER]) assert.ok(!error.message.includes(secret));
  return error.message;
}

/** Every path between secrets, on one database: what starts, what is refused and why. */
async function rotations(db: Database) {
  let clock = Date.UTC(2026, 0, 1);
  const at = (vault: SecretVault, configured: string, previous = "") => ({
    configured,
    previous,
    vault,
    where: db.where,
    windowMs: 25 * HOUR,
    now: () => clock,
  });

  // Two instances starting together on the generated secret agree on it.
  const [a, b] = await Promise.all(db.vaults.map((v) => verifySecret(at(v, ""))));
  assert.equal(a!.origin, "shared");
  assert.deepEqual(a!.current, b!.current, "one generated secret");
  const generated = a!.current;
  const hash = (s: Uint8Array<ArrayBuffer>) => createPrincipalHasher(deriveKey(s, "principal"));
  assert.equal(await hash(a!.current)("t"), await hash(b!.current)("t"));

  // Generated → explicit: set STATE_SECRET, nothing else. The generated one stays honoured.
  const moved = await verifySecret(at(db.vaults[0], OLD));
  assert.equal(moved.rotated, true);
  assert.deepEqual(moved.previous?.secret, generated);
  assert.equal(moved.previous?.until, clock + 25 * HOUR);
  // Another instance started in the window with the same STATE_SECRET honours it too.
  const peer = await verifySecret(at(db.vaults[1], OLD));
  assert.deepEqual(peer.previous?.secret, generated);
  assert.equal(peer.rotated, undefined);
  // An instance left without STATE_SECRET is told which secret the database moved to.
  assert.match(
    await refusal(at(db.vaults[1], "")),
    /^STATE_SECRET is not set, but the state database .+ was moved from its generated secret to an explicit STATE_SECRET at 2026-01-01T00:00:00Z: set that STATE_SECRET here too\.$/,
  );
  assert.ok((await refusal(at(db.vaults[1], ""))).includes(db.where), "names the database");
  // One rotation at a time: another now would lose the generated secret's live records.
  assert.match(
    await refusal(at(db.vaults[1], NEW, OLD)),
    /^Cannot move to a new STATE_SECRET yet: the state database .+ was moved to the secret in use at 2026-01-01T00:00:00Z, and records made under the one before it live until 2026-01-02T01:00:00Z\. /,
  );

  // Once the window is over, the previous secret is no longer honoured.
  clock += 26 * HOUR;
  const settled = await verifySecret(at(db.vaults[0], OLD));
  assert.equal(settled.previous, undefined);

  // An unrelated secret: refused, naming the database and the ways out.
  const wrong = await refusal(at(db.vaults[1], OTHER));
  assert.ok(wrong.includes(db.where), wrong);
  assert.match(wrong, /^STATE_SECRET is not the secret the state database .+ is used with\. /);
  assert.match(wrong, /STATE_SECRET_PREVIOUS to the one in use/);

  // Explicit rotation: STATE_SECRET new, STATE_SECRET_PREVIOUS the one in use.
  const rotated = await verifySecret(at(db.vaults[0], NEW, OLD));
  assert.equal(rotated.rotated, true);
  assert.deepEqual(rotated.previous?.secret, bytes(OLD));
  // In the window, an instance with the new secret must also have the previous one.
  assert.match(
    await refusal(at(db.vaults[1], NEW)),
    /^STATE_SECRET_PREVIOUS is needed: the state database .+ was moved to this STATE_SECRET at .+Z, and until .+Z idempotency records made under the previous secret are still live\./,
  );
  // An instance still on the old secret is told to take the new one.
  assert.match(
    await refusal(at(db.vaults[1], OLD)),
    /^STATE_SECRET is the secret the state database .+ was moved away from at .+Z: set the new STATE_SECRET here \(with this one as STATE_SECRET_PREVIOUS until .+Z\)\.$/,
  );
  // After the window, STATE_SECRET_PREVIOUS is not needed, and only noted as such.
  clock += 26 * HOUR;
  const done = await verifySecret(at(db.vaults[1], NEW, OLD));
  assert.deepEqual([done.previous, done.previousUnused], [undefined, true]);
  assert.equal((await verifySecret(at(db.vaults[1], NEW))).previous, undefined);

  // The database keeps check values, never a configured secret.
  const kept = await db.dump();
  for (const secret of [OLD, NEW]) {
    assert.ok(!kept.includes(secret) && !kept.includes(btoa(secret)), "not the secret itself");
  }
}

Deno.test("secrets on KV: generated → explicit → rotated, each refusal naming the database and the remedy", async () => {
  const db = await kvDatabase();
  try {
    await rotations(db);
  } finally {
    await db.close();
  }
});

redisTest(
  "secrets on Redis: generated → explicit → rotated, each refusal naming the database and the remedy",
  async () => {
    const db = await redisDatabase();
    try {
      await rotations(db);
    } finally {
      await db.close();
    }
  },
);

Deno.test("without shared state: the configured secret, else a random one per process", async () => {
  const options = { previous: "", vault: null, where: "memory", windowMs: HOUR };
  const configured = await verifySecret({ ...options, configured: OLD });
  assert.deepEqual([configured.origin, configured.current], ["configured", bytes(OLD)]);
  const [p1, p2] = await Promise.all(
    [1, 2].map(() => verifySecret({ ...options, configured: "" })),
  );
  assert.equal(p1!.origin, "process");
  assert.notDeepEqual(p1!.current, p2!.current);
});
