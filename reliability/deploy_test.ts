/**
 * Where it runs: `main.ts` as Deno Deploy runs it (listener chosen by the
 * platform through `DENO_SERVE_ADDRESS`, no write permission, configuration
 * from the environment), and the `deno compile` single binary.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { startFake } from "../testing/fake/mod.ts";
import { DEMO_TOKENS, modernCall } from "../testing/harness.ts";
import { freePort, spawnUntil } from "../testing/process.ts";

const ROOT = new URL("../", import.meta.url);

/** The server's "listening" log line, once it is ready. */
const LISTENING = /^(\{.*"msg":"listening".*\})$/m;

/** Start a server process; resolve with its "listening" line and its stop function. */
async function spawnServer(command: string, args: string[], env: Record<string, string>) {
  const started = await spawnUntil(command, { args, env, cwd: ROOT, ready: LISTENING });
  return {
    listening: JSON.parse(started.ready[1] as string) as Record<string, unknown>,
    stop: started.stop,
  };
}

Deno.test("deno.json's deploy block runs main.ts with no runtime flags; KV comes from deno.json", () => {
  assert.deepEqual(manifest.deploy, { runtime: { type: "dynamic", entrypoint: "./main.ts" } });
  assert.ok(manifest.unstable.includes("kv"), "Deno KV enabled by configuration, not a flag");
});

Deno.test("runs as on Deno Deploy: platform-chosen listener, no disk writes, PUBLIC_URL from config", async () => {
  const fake = startFake();
  const port = freePort();
  const publicUrl = "https://vertexsms-mcp.example.deno.net";
  const server = await spawnServer(
    Deno.execPath(),
    // Deploy runs with every permission; withholding --allow-write proves nothing needs the disk.
    ["run", "--allow-net", "--allow-env", "--allow-read", "--deny-write", "main.ts"],
    {
      DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
      PUBLIC_URL: publicUrl,
      BIND_HOST: "0.0.0.0",
      VERTEXSMS_API_URL: fake.url,
      KV_PATH: ":memory:",
    },
  );
  try {
    assert.equal(server.listening.public_url, publicUrl);
    assert.equal(server.listening.state, "kv");
    const base = `http://127.0.0.1:${port}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).version, manifest.version);
    const metadata = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.equal(metadata.resource, `${publicUrl}/mcp`);
    const res = await modernCall(`${base}/mcp`, "get_sms_rates", { country: "LT" }, {
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).result.structuredContent.country_name, "Lithuania");
  } finally {
    assert.equal((await server.stop()).code, 0, "SIGTERM drains and exits 0");
    await fake.shutdown();
  }
});

/**
 * `deno compile` embeds a runtime (`denort`) that Deno downloads once from
 * its release server, or takes from `DENORT_BIN`. Machines that cannot reach
 * that server (ours: npm and Debian only) run this test only once the runtime
 * is cached or `DENORT_BIN` is set; otherwise it is reported as ignored.
 */
async function denortAvailable(): Promise<boolean> {
  if (Deno.env.get("DENORT_BIN")) return true;
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const { denoDir } = JSON.parse(new TextDecoder().decode(info.stdout)) as { denoDir: string };
  const zip = `${denoDir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  return await Deno.stat(zip).then(() => true, () => false);
}

Deno.test({
  name: "deno compile: the single binary starts and answers /healthz (needs the denort runtime)",
  ignore: !(await denortAvailable()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "compile-" });
    try {
      const binary = `${dir}/vertexsms-mcp`;
      // The README's recipe, `deno task compile`, with the output in the temp dir.
      const args = manifest.tasks.compile.split(" ").slice(1);
      args[args.indexOf("--output") + 1] = binary;
      const compile = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: { NO_COLOR: "1" },
      }).output();
      assert.equal(compile.code, 0, new TextDecoder().decode(compile.stderr));
      const server = await spawnServer(binary, [], {
        PORT: "0",
        BIND_HOST: "127.0.0.1",
        KV_PATH: "off",
      });
      try {
        const address = String(server.listening.address);
        const health = await fetch(`http://${address}/healthz`);
        assert.equal(health.status, 200);
        assert.deepEqual(await health.json(), { status: "ok", version: manifest.version });
      } finally {
        assert.equal((await server.stop()).code, 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
