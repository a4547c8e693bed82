/**
 * `deno task inspect`: the demo (server + fake VertexSMS) and the MCP
 * Inspector's web UI, already pointed at `/mcp` with a demo token header.
 * Prints the Inspector URL to open.
 *
 * The Inspector (v2) needs Node ≥ 22, so it runs on Deno as a subprocess.
 * Environment: `PORT` (server, default 8000), `INSPECTOR_PORT` (web UI,
 * default 6274) and any other server variable.
 */
import { readEnv } from "../core/config.ts";
import { orRefuse } from "../server/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import { banner, startDemo } from "./dev.ts";
import { DEMO_TOKENS } from "../testing/fake/mod.ts";
import { devProgram, spawnUntil } from "../testing/process.ts";

/** Options of {@link startInspector}. */
export interface InspectorOptions {
  /** The MCP endpoint the UI connects to. */
  mcpUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** The web UI's port (the Inspector needs a fixed one; 0 is refused). */
  port: number;
  /** How long to wait for the UI to listen. */
  timeoutMs?: number;
}

/** A running Inspector web UI. */
export interface RunningInspector {
  /** The page to open, with the UI's own one-time API token in the query. */
  url: string;
  stop(): Promise<void>;
}

/** Start the Inspector web UI for one HTTP server and wait until it listens. */
export async function startInspector(options: InspectorOptions): Promise<RunningInspector> {
  const apiToken = crypto.randomUUID().replaceAll("-", "");
  const started = await spawnUntil(Deno.execPath(), {
    args: devProgram(
      "@modelcontextprotocol/inspector",
      "--web",
      "--transport",
      "http",
      "--server-url",
      options.mcpUrl,
      "--header",
      `Authorization: Bearer ${options.token}`,
    ),
    env: {
      CLIENT_PORT: String(options.port),
      HOST: "127.0.0.1",
      // Extra listeners for MCP Apps: let the OS pick, so only CLIENT_PORT is fixed.
      MCP_SANDBOX_PORT: "0",
      MCP_APP_ORIGIN_PORT: "0",
      MCP_AUTO_OPEN_ENABLED: "false",
      MCP_INSPECTOR_API_TOKEN: apiToken,
      // Nothing to keep between runs; skips the keychain probe on headless machines.
      MCP_INSPECTOR_SECRET_STORE: "memory",
    },
    ready: /^\s*(http:\/\/\S+MCP_INSPECTOR_API_TOKEN=\S+)\s*$/m,
    timeoutMs: options.timeoutMs ?? 90_000,
  });
  return { url: started.ready[1] as string, stop: async () => void await started.stop() };
}

/**
 * The Inspector UI's labels a person clicks, in order: the same ones
 * `inspector_browser.ts` clicks in Chromium (so the printed steps stay true).
 */
export const UI = {
  /** What the server's card says once its switch connected it. */
  connected: "Connected",
  tools: "Tools",
  tool: "get_sms_rates",
  argument: "country",
  run: "Execute Tool",
  result: "Structured Output",
} as const;

/** The click-through the banner prints. */
export function inspectorSteps(url: string): string {
  return `
  MCP Inspector  ${url}

  Open it: the server's card is already filled in (with the "Authorization: Bearer
  ${DEMO_TOKENS.full}" header). Press the switch on the card until it says "${UI.connected}",
  open ${UI.tools} (the ${TOOLS.length} tools are listed), pick ${UI.tool}, type LT into
  ${UI.argument}, press "${UI.run}" and read the ${UI.result}.
  Ctrl-C stops both.
`;
}

if (import.meta.main) {
  const demo = await orRefuse(() => startDemo(readEnv()));
  const port = Number(Deno.env.get("INSPECTOR_PORT") ?? 6274);
  console.log(banner(demo.url, demo));
  console.log("Starting the MCP Inspector…");
  const inspector = await startInspector({ mcpUrl: demo.mcpUrl, token: DEMO_TOKENS.full, port });
  console.log(inspectorSteps(inspector.url));
  const stop = async () => {
    await inspector.stop();
    await demo.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
