/**
 * Benchmark-only: the server with extra dummy tools, to show that a
 * `tools/call` does not get slower as tools are added.
 * `deno run -A bench/dummy_tools.ts <count>` (server configuration from the environment)
 */
import { z } from "zod";
import { readEnv } from "../core/config.ts";
import { startServer } from "../server/mod.ts";
import { type AnyTool, defineTool } from "../tools/mod.ts";
import { TOOLS } from "../tools/mod.ts";

/** `count` read-only tools with small but distinct schemas. */
export function dummyTools(count: number): AnyTool[] {
  return Array.from({ length: count }, (_, i) =>
    defineTool({
      name: `dummy_tool_${i}`,
      title: `Dummy ${i}`,
      description: `Benchmark-only dummy tool number ${i}; answers its input back.`,
      scope: "numbers:read",
      billable: false,
      input: z.strictObject({ value: z.string().max(100), n: z.number().int().optional() }),
      output: z.object({ value: z.string(), index: z.number().int() }),
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
      handler: ({ value }) => Promise.resolve({ value, index: i }),
    }));
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 30);
  const server = startServer({
    env: readEnv(),
    tools: [...TOOLS, ...dummyTools(count)],
  });
  console.log(`listening ${server.addr.port}`);
}
