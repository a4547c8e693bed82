const t0 = performance.now();
const { loadConfig } = await import("../server/config.ts");
const t1 = performance.now();
const mod = await import("../server/mod.ts");
const t2 = performance.now();
const { TOOLS } = await import("../tools/mod.ts");
const t3 = performance.now();
const config = loadConfig({ PORT: "0" });
const app = mod.createApp({ config, tools: TOOLS, kv: null, logger: new mod.Logger("warn") });
const t4 = performance.now();
console.log(
  `runtime ${t0.toFixed(0)} config ${(t1 - t0).toFixed(0)} server ${(t2 - t1).toFixed(0)} tools ${
    (t3 - t2).toFixed(0)
  } createApp ${(t4 - t3).toFixed(0)} ms`,
);
