/** The fake VertexSMS as its own process for the benchmark. `deno run -A bench/fake_server.ts <port>` */
import { startFake } from "../testing/fake/mod.ts";

const fake = startFake({ port: Number(Deno.args[0] ?? 0) });
console.log(`listening ${new URL(fake.url).port}`);
// The benchmark sends many requests: keep the request log from growing without bound.
setInterval(() => fake.reset(), 1000);
