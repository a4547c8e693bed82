/** The floor: a bare `Deno.serve` answering a small JSON body. `deno run --allow-net bench/floor.ts <port>` */
const port = Number(Deno.args[0] ?? 0);
const body = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { ok: true } });
Deno.serve(
  { hostname: "127.0.0.1", port, onListen: (a) => console.log(`listening ${a.port}`) },
  () => new Response(body, { headers: { "Content-Type": "application/json" } }),
);
