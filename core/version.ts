/** This server's name and version, from `deno.json` (the one place it is written). */
import manifest from "../deno.json" with { type: "json" };

/** Server version, as in `deno.json`. */
export const VERSION: string = manifest.version;

/** Server name in MCP `serverInfo` and the upstream `User-Agent`. */
export const SERVER_NAME = "vertexsms-mcp";
