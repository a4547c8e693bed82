const fakePort = 48900, port0 = 48950;
const fake = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "bench/fake_server.ts", String(fakePort)],
  stdout: "null",
  stderr: "null",
}).spawn();
await new Promise((r) => setTimeout(r, 1500));
const body = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "get_sms_rates", arguments: { country: "LT" } },
});
const headers = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
  Authorization: "Bearer demo-full-5f2c9a1e7b3d",
};
const extra = Deno.args;
const times: number[] = [];
for (let i = 0; i < 8; i++) {
  const port = port0 + i;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...extra, "--allow-net", "--allow-env", "--allow-read", "main.ts"],
    env: { PORT: String(port), VERTEXSMS_API_URL: `http://127.0.0.1:${fakePort}`, KV_PATH: "off" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  let listenAt = 0;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/mcp`, { method: "POST", headers, body });
      const t = await res.text();
      if (res.status === 200 && t.includes('"LT"')) break;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  if (i > 0) times.push(performance.now() - t0);
  child.kill("SIGTERM");
  await child.status;
}
times.sort((a, b) => a - b);
console.log(
  "cold start ms:",
  times.map((t) => t.toFixed(0)).join(" "),
  "median",
  times[Math.floor(times.length / 2)]!.toFixed(0),
);
fake.kill();
await fake.status;
