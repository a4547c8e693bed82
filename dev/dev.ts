/**
 * The embedded demo: `deno task dev`. Starts the fake VertexSMS and the
 * server pointed at it, then prints the URL, the demo tokens, the state and
 * confirmation mode in use, and commands to try. No VertexSMS account needed.
 *
 * Environment: `PORT` (default 8000) and any other server variable;
 * `VERTEXSMS_API_URL` is always the fake's. The state is kept in memory
 * unless `KV_PATH` or `STATE_URL` names a database (then with its secret,
 * `STATE_SECRET`, checked as `deno task start` does). A bad value or an
 * address in use stops it with one line and exit code 1.
 *
 * It runs with `deno.json` and its lockfile (what `main.ts` needs), not the
 * test tools of `dev.json`: a first run fetches only the server's packages
 * (`dev/layout_test.ts` keeps its import graph so).
 */
import { type Config, loadConfig, readEnv } from "../core/config.ts";
import { Logger } from "../core/log.ts";
import { orRefuse, startServer, verifyStateSecrets } from "../server/mod.ts";
import { openState, type SharedState } from "../state/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import { DEMO_TOKENS, startFake } from "../testing/fake/mod.ts";
import { devPackage } from "../testing/process.ts";

/** Inspector version the printed commands use (it runs on Deno: it needs Node ≥ 22). */
/** The Inspector as its README command runs it (pinned in dev.json). */
export const INSPECTOR = devPackage("@modelcontextprotocol/inspector");

/** How the printed commands run Deno: through npm, so they work with only Node installed. */
export const NPX_DENO = `npx -y deno@${Deno.version.deno}`;

/** What the banner says of the demo besides its URL. */
export interface DemoFacts {
  /** The state database, as `SharedState.where` names it. */
  state: string;
  confirmation: Config["smsConfirmation"];
}

/** The confirmation mode, and how to see the approval flow (banner lines, indented). */
function confirmationLines(mode: Config["smsConfirmation"]): string {
  const pad = "\n                 ";
  switch (mode) {
    case "ask":
      return `SMS_CONFIRMATION=ask: a client that can be asked in-band confirms each send_sms;${pad}` +
        `curl and the others just send. To see the approval flow (a page where a person${pad}` +
        "approves each send), rerun with SMS_CONFIRMATION=require.";
    case "require":
      return `SMS_CONFIRMATION=require: nothing is sent without a person's approval; a send_sms${pad}` +
        `from curl answers with an approval link: open it, approve, then repeat the call${pad}` +
        "with its approvalId.";
    case "off":
      return `SMS_CONFIRMATION=off: every send_sms is sent as asked (rerun with${pad}` +
        "SMS_CONFIRMATION=require to see the approval flow).";
  }
}

/** The text the demo prints once it listens. */
export function banner(url: string, facts: DemoFacts): string {
  const mcp = `${url}/mcp`;
  const tokens = Object.entries(DEMO_TOKENS)
    .map(([scope, token]) => `    ${scope.padEnd(13)} ${token}`)
    .join("\n");
  return `
VertexSMS MCP server (demo: embedded fake VertexSMS, nothing is really sent or billed)

  MCP endpoint   ${mcp}
  metadata       ${url}/.well-known/oauth-protected-resource/mcp
  toolsets       ${mcp}/readonly, ${mcp}/x/sms:rates,numbers:read, … (fewer tools per URL)
  state          ${facts.state} (KV_PATH or STATE_URL to change)
  confirmation   ${confirmationLines(facts.confirmation)}

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

    # the MCP Inspector, command line (with Deno installed, "deno" instead of "${NPX_DENO}")
    ${NPX_DENO} run --config dev.json -A ${INSPECTOR} --cli ${mcp} --transport http \\
      --header 'Authorization: Bearer ${DEMO_TOKENS.full}' --method tools/list

Ctrl-C stops the demo.
`;
}

/** How long the demo's fake waits before reporting a delivery: long enough to see `sent`. */
const REPORT_DELAY_MS = 2000;

/** A running demo: the fake VertexSMS and the server pointed at it. */
export interface Demo extends DemoFacts {
  /** The server's base URL (`PUBLIC_URL`). */
  url: string;
  /** `<url>/mcp` */
  mcpUrl: string;
  stop(): Promise<void>;
}

/**
 * Start the fake and the server. `env` is the server's environment (`PORT`
 * defaults to 8000; the state is in memory unless `KV_PATH` or `STATE_URL`
 * names a database); `VERTEXSMS_API_URL` is always the fake's. Throws what
 * `main.ts` refuses to start with (`orRefuse` turns it into one line), with
 * nothing left running.
 */
export async function startDemo(
  env: Record<string, string | undefined> = readEnv(),
): Promise<Demo> {
  // Its delivery reports reach the server: the demo's PUBLIC_URL and the fake are both on
  // loopback, so the server sends every dlrUrl (callbacks are reachable).
  const fake = startFake({ reportDelayMs: REPORT_DELAY_MS });
  let state: SharedState | undefined;
  let kv: Deno.Kv | null = null;
  try {
    const demoEnv = { ...env, VERTEXSMS_API_URL: fake.url, KV_PATH: env.KV_PATH?.trim() || "off" };
    const config = loadConfig(demoEnv);
    const logger = new Logger(config.logLevel);
    ({ state, kv } = await openState(config, logger));
    const secrets = await verifyStateSecrets(config, state);
    const server = startServer({ env: demoEnv, tools: TOOLS, logger, state, secrets });
    const opened = { state, kv };
    return {
      url: server.url,
      mcpUrl: `${server.url}/mcp`,
      state: `${state.kind === "memory" ? "" : `${state.kind} `}${state.where}`,
      confirmation: config.smsConfirmation,
      stop: async () => {
        await server.shutdown();
        await opened.state.close();
        opened.kv?.close();
        await fake.shutdown();
      },
    };
  } catch (error) {
    await state?.close();
    kv?.close();
    await fake.shutdown();
    throw error;
  }
}

if (import.meta.main) {
  const demo = await orRefuse(() => startDemo());
  console.log(banner(demo.url, demo));
  const stop = async () => {
    await demo.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
