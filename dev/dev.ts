/**
 * The embedded demo: `deno task dev`. Starts the fake VertexSMS and the
 * server pointed at it, then prints the URL, the demo tokens and commands
 * to try. No VertexSMS account needed.
 *
 * Environment: `PORT` (default 8000) and any other server variable;
 * `VERTEXSMS_API_URL` is always the fake's.
 */
import { readEnv } from "../core/config.ts";
import { Logger } from "../core/log.ts";
import { startServer } from "../server/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import { DEMO_TOKENS, startFake } from "../testing/fake/mod.ts";
import { devPackage } from "../testing/process.ts";

/** Inspector version the printed commands use (it runs on Deno: it needs Node ≥ 22). */
/** The Inspector as its README command runs it (pinned in dev.json). */
export const INSPECTOR = devPackage("@modelcontextprotocol/inspector");

/** The text the demo prints once it listens. */
export function banner(url: string): string {
  const mcp = `${url}/mcp`;
  const tokens = Object.entries(DEMO_TOKENS)
    .map(([scope, token]) => `    ${scope.padEnd(13)} ${token}`)
    .join("\n");
  return `
VertexSMS MCP server (demo: embedded fake VertexSMS, nothing is really sent or billed)

  MCP endpoint   ${mcp}
  metadata       ${url}/.well-known/oauth-protected-resource/mcp
  toolsets       ${mcp}/readonly, ${mcp}/x/sms:rates,numbers:read, … (fewer tools per URL)

  Demo tokens (send as "Authorization: Bearer <token>"):
${tokens}

  Try it:
    # the 401 envelope and its WWW-Authenticate header
    curl -i -X POST ${mcp} -H 'Content-Type: application/json' \\
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'

    # the protected-resource metadata
    curl ${url}/.well-known/oauth-protected-resource/mcp

    # get_sms_rates with a token
    curl -X POST ${mcp} -H 'Content-Type: application/json' \\
      -H 'Accept: application/json, text/event-stream' \\
      -H 'Authorization: Bearer ${DEMO_TOKENS.full}' \\
      -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_sms_rates","arguments":{"country":"LT"}}}'

    # watch statuses arrive: send_sms (the fake reports +37060000102 undelivered, +37060000116
    # expired, other numbers delivered, ${REPORT_DELAY_MS / 1000} s later), then get_sms_status with
    # the message_id, or get_sms_usage for the latest sends (docs/life-of-a-message.md)

    # the MCP Inspector, command line
    deno run --config dev.json -A ${INSPECTOR} --cli ${mcp} --transport http \\
      --header 'Authorization: Bearer ${DEMO_TOKENS.full}' --method tools/list

Ctrl-C stops the demo.
`;
}

/** How long the demo's fake waits before reporting a delivery: long enough to see `sent`. */
const REPORT_DELAY_MS = 2000;

/** A running demo: the fake VertexSMS and the server pointed at it. */
export interface Demo {
  /** The server's base URL (`PUBLIC_URL`). */
  url: string;
  /** `<url>/mcp` */
  mcpUrl: string;
  stop(): Promise<void>;
}

/**
 * Start the fake and the server. `env` is the server's environment (`PORT`
 * defaults to 8000); `VERTEXSMS_API_URL` is always the fake's.
 */
export function startDemo(env: Record<string, string | undefined> = readEnv()): Demo {
  // Its delivery reports reach the server: the demo's PUBLIC_URL and the fake are both on
  // loopback, so the server sends every dlrUrl (callbacks are reachable).
  const fake = startFake({ reportDelayMs: REPORT_DELAY_MS });
  const server = startServer({
    env: { ...env, VERTEXSMS_API_URL: fake.url },
    tools: TOOLS,
    logger: new Logger("info"),
  });
  return {
    url: server.url,
    mcpUrl: `${server.url}/mcp`,
    stop: async () => {
      await server.shutdown();
      await fake.shutdown();
    },
  };
}

if (import.meta.main) {
  const demo = startDemo();
  console.log(banner(demo.url));
  const stop = async () => {
    await demo.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
