/**
 * Starting `main.ts` for real: every refusal is one line on stderr and exit
 * code 1 (a busy port, a `BIND_HOST` that does not resolve or is not this
 * machine's, a secret the state database does not know), and nothing
 * listens before the state and its secret are verified. The operator's way
 * from the generated secret to an explicit `STATE_SECRET`, and on to a new
 * one, keeps a live idempotency record on KV and on Redis
 * (`docs/operations.md`). The demo (`deno task dev`) starts and refuses the
 * same way, and says which state and confirmation mode it uses.
 */
import assert from "node:assert/strict";
import { type FakeVertex, startFake } from "../testing/fake/mod.ts";
import { DEMO_TOKENS, modernCall } from "../testing/harness.ts";
import denoConfig from "../deno.json" with { type: "json" };
import {
  freePort,
  refusedAtStart,
  spawnDeno,
  type Spawned,
  spawnMain,
} from "../testing/process.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

const OLD = "q7V2mZ9kL0pX4rT8wB1nC6yH3jD5fG0s";
const NEW = "Z1x9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0L";
const AUTH = { Authorization: `Bearer ${DEMO_TOKENS.full}` };

/** Whether something accepts connections on the port now. */
async function accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** Start `main.ts` on a fixed port, expect a refusal, and prove it never listened meanwhile. */
async function refusedWithoutListening(env: Record<string, string>): Promise<string> {
  const port = freePort();
  const main = spawnMain({ ...env, PORT: String(port) });
  let exited = false;
  const status = main.child.status.then(() => exited = true);
  let listened = false;
  while (!exited) {
    listened ||= await accepts(port);
    await new Promise((r) => setTimeout(r, 5));
  }
  await status;
  assert.equal(listened, false, "nothing answered (not even /healthz) before the refusal");
  return await refusedAtStart(main);
}

/** One `send_sms` with an idempotency key through a `main.ts` started with `env`, then stop it. */
async function sendThrough(fake: FakeVertex, env: Record<string, string>, key: string) {
  const main = spawnMain({ ...env, VERTEXSMS_API_URL: fake.url });
  try {
    const port = Number(String((await main.line("listening")).address).split(":").pop());
    const secret = await main.line("state secret");
    const res = await modernCall(`http://127.0.0.1:${port}/mcp`, "send_sms", {
      to: "+37069912345",
      from: "VertexSMS",
      message: "once",
      idempotencyKey: key,
    }, AUTH);
    const { result } = await res.json();
    assert.equal(result.structuredContent?.status, "sent", JSON.stringify(result));
    main.child.kill("SIGTERM");
    assert.equal((await main.child.status).code, 0);
    await main.done;
    for (const s of [OLD, NEW]) assert.ok(!main.lines.join("\n").includes(s), "never printed");
    return secret;
  } finally {
    await main.reap();
  }
}

/**
 * Generated secret → `STATE_SECRET`: accepted, the key still sent once; an
 * instance left without it, and a second move within the idempotency
 * window, are refused with one line naming the database.
 */
async function toExplicit(fake: FakeVertex, state: Record<string, string>, where: string) {
  const first = await sendThrough(fake, state, "journey-1");
  assert.equal(first.origin, "shared");
  const explicit = await sendThrough(fake, { ...state, STATE_SECRET: OLD }, "journey-1");
  assert.deepEqual([explicit.origin, explicit.rotated], ["configured", true]);
  assert.match(String(explicit.previous_honoured_until), /^\d{4}-\d\d-\d\dT/);
  assert.equal(fake.count("POST /sms"), 1, "one key, one SMS, across the change of secret");
  const unset = await refusedWithoutListening(state);
  assert.match(
    unset,
    /^STATE_SECRET is not set, but the state database .+ was moved from its generated secret/,
  );
  const again = await refusedWithoutListening({
    ...state,
    STATE_SECRET: NEW,
    STATE_SECRET_PREVIOUS: OLD,
  });
  assert.match(again, /^Cannot move to a new STATE_SECRET yet: the state database /);
  for (const line of [unset, again]) assert.ok(line.includes(where), `names it: ${line}`);
}

/**
 * `STATE_SECRET` → a new one with the old as `STATE_SECRET_PREVIOUS`:
 * accepted, the key still sent once; the new secret alone, and the old one,
 * are refused while the old records live.
 */
async function rotation(fake: FakeVertex, state: Record<string, string>, where: string) {
  const sent = fake.count("POST /sms");
  await sendThrough(fake, { ...state, STATE_SECRET: OLD }, "journey-2");
  const rotated = await sendThrough(
    fake,
    { ...state, STATE_SECRET: NEW, STATE_SECRET_PREVIOUS: OLD },
    "journey-2",
  );
  assert.equal(rotated.rotated, true);
  assert.equal(fake.count("POST /sms"), sent + 1, "one key, one SMS, across the rotation");
  const alone = await refusedWithoutListening({ ...state, STATE_SECRET: NEW });
  assert.match(alone, /^STATE_SECRET_PREVIOUS is needed: the state database /);
  const stale = await refusedWithoutListening({ ...state, STATE_SECRET: OLD });
  assert.match(stale, /was moved away from at .*: set the new STATE_SECRET here/);
  for (const line of [alone, stale]) {
    assert.ok(line.includes(where), `names it: ${line}`);
    assert.ok(!line.includes(OLD) && !line.includes(NEW), "never the secrets");
  }
}

Deno.test("KV: generated → STATE_SECRET, then a rotation, keep live idempotency records; refusals name the file", async () => {
  const fake = startFake();
  const one = await Deno.makeTempFile({ suffix: ".sqlite" });
  const two = await Deno.makeTempFile({ suffix: ".sqlite" });
  try {
    await toExplicit(fake, { KV_PATH: one }, one);
    await rotation(fake, { KV_PATH: two }, two);
    const other = await refusedWithoutListening({
      KV_PATH: two,
      STATE_SECRET: "m3N8bV5cX2zL9kJ7hG4fD1sA6pO0iU8y",
    });
    assert.match(other, /^STATE_SECRET is not the secret the state database .+ is used with\./);
    assert.ok(other.includes(two));
  } finally {
    await fake.shutdown();
    for (const path of [one, two]) await Deno.remove(path).catch(() => {});
  }
});

redisTest(
  "Redis: generated → STATE_SECRET, then a rotation, keep live idempotency records; refusals name the URL, not its password",
  async () => {
    const password = "r3dis-Pa55word-9f8e";
    const redis = await startRedis({ password });
    const fake = startFake();
    try {
      const state = { STATE_URL: `redis://:${password}@127.0.0.1:${redis.port}` };
      const where = `redis://:***@127.0.0.1:${redis.port}`;
      await toExplicit(fake, state, where);
      await redis.command("FLUSHALL");
      await rotation(fake, state, where);
      const unset = await refusedWithoutListening(state);
      assert.match(unset, /^STATE_SECRET is not set, but the state database redis:\/\/:\*\*\*@/);
      assert.ok(!unset.includes(password));
    } finally {
      await fake.shutdown();
      await redis.close();
    }
  },
);

Deno.test("a busy port: one line naming the address and the way out, exit 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const line = await refusedAtStart({ PORT: String(port) });
    assert.equal(
      line,
      `Cannot listen on 127.0.0.1:${port}: the port is already in use (another server?). Stop ` +
        "that one, or set PORT to a free port (PORT=0 picks one).",
    );
  } finally {
    taken.close();
  }
});

Deno.test("a BIND_HOST that does not resolve, or is not this machine's: one line each, exit 1", async () => {
  const unresolved = await refusedAtStart({ BIND_HOST: "no-such-host.invalid" });
  assert.match(
    unresolved,
    /^Cannot listen on no-such-host\.invalid:0: BIND_HOST "no-such-host\.invalid" does not resolve \(.+\): set BIND_HOST to an address of this machine \(127\.0\.0\.1: this machine only; 0\.0\.0\.0: every interface\)\.$/,
  );
  // TEST-NET-1 (RFC 5737): never an address of this machine.
  const foreign = await refusedAtStart({ BIND_HOST: "192.0.2.1" });
  assert.match(
    foreign,
    /^Cannot listen on 192\.0\.2\.1:0: BIND_HOST "192\.0\.2\.1" is not an address of this machine: set BIND_HOST/,
  );
});

Deno.test("a bad value: one line naming the variable, exit 1", async () => {
  assert.equal(
    await refusedAtStart({ PORT: "abc" }),
    'Invalid configuration: PORT must be an integer between 0 and 65535 (got "abc").',
  );
});

/** `deno task dev`, as its task runs it. */
function spawnDemo(env: Record<string, string>): Spawned {
  const args = denoConfig.tasks.dev.split(" ").slice(1);
  return spawnDeno(args, { PORT: "0", BIND_HOST: "127.0.0.1", ...env });
}

Deno.test("the demo refuses a bad value, a busy port or an unusable STATE_URL with one line, exit 1", async () => {
  assert.equal(
    await refusedAtStart(spawnDemo({ PORT: "abc" })),
    'Invalid configuration: PORT must be an integer between 0 and 65535 (got "abc").',
  );
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    assert.match(
      await refusedAtStart(spawnDemo({ PORT: String(port) })),
      new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`),
    );
  } finally {
    taken.close();
  }
  assert.match(
    await refusedAtStart(spawnDemo({ STATE_URL: `redis://127.0.0.1:${freePort()}` })),
    /^Invalid configuration: STATE_URL must be a Redis server this process can use: cannot connect/,
  );
});

Deno.test("the demo uses KV_PATH and STATE_SECRET as the server does, and says so with the confirmation mode", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  try {
    const demo = spawnDemo({ KV_PATH: path, STATE_SECRET: OLD });
    try {
      assert.equal((await demo.line("state secret")).origin, "configured");
      while (!demo.lines.some((l) => l.startsWith("Ctrl-C"))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const text = demo.lines.join("\n");
      assert.match(text, new RegExp(`^  state {10}kv ${path.replaceAll(".", "\\.")} `, "m"));
      assert.match(text, /^ {2}confirmation {3}SMS_CONFIRMATION=ask: /m);
      assert.match(text, /rerun with SMS_CONFIRMATION=require\./);
      assert.match(
        text,
        /^ {4}npx -y deno@\d+\.\d+\.\d+ run --config dev\.json -A npm:@modelcontextprotocol\/inspector@/m,
      );
      assert.ok(!text.includes(OLD), "the secret is not printed");
    } finally {
      await demo.reap();
    }
    // The same database with another secret: refused as `deno task start` refuses it.
    const other = await refusedAtStart(spawnDemo({ KV_PATH: path, STATE_SECRET: NEW }));
    assert.match(other, /^STATE_SECRET is not the secret the state database .+ is used with\./);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
});
