/**
 * Toolsets: which tools one MCP URL serves, derived from the tool
 * declarations (never a second list).
 *
 *   /mcp                          every tool
 *   /mcp/readonly                 the tools annotated `readOnlyHint: true`
 *   /mcp/x/{scope}[,{scope}…]     the tools of those scopes
 *
 * and, on any of them, the `X-MCP-Tools` header (comma-separated tool names)
 * narrowing the set further. Each path is its own protected resource (RFC
 * 9728): its metadata and its 401 challenge name only its tools' scopes.
 */
import { ALL_SCOPES, type Scope, SCOPES } from "../core/scopes.ts";
import type { AnyTool } from "../tools/mod.ts";

/** The tools one request may see and call. */
export interface Toolset {
  /** The MCP path clients configure (`/mcp`, `/mcp/readonly`, `/mcp/x/sms:rates`). */
  path: string;
  tools: readonly AnyTool[];
  /** Names of {@link tools}. */
  names: ReadonlySet<string>;
  /** The scopes of its tools, in documentation order. */
  scopes: readonly Scope[];
  /** Whether an `X-MCP-Tools` header narrowed it. */
  narrowed: boolean;
}

/** The request header that narrows a toolset to the tools it names. */
export const TOOLS_HEADER = "X-MCP-Tools";

/** Routes (Hono patterns) of the MCP endpoint, one per kind of toolset. */
export const MCP_ROUTES = ["/mcp", "/mcp/readonly", "/mcp/x/:scopes"] as const;

/** A header naming tools that do not exist. */
export interface UnknownTools {
  unknown: string[];
}

/** Largest number of distinct toolsets remembered (a cache, not a limit). */
const MAX_REMEMBERED = 256;

/** Resolves paths and headers to toolsets, remembering the ones already built. */
export class Toolsets {
  readonly #all: readonly AnyTool[];
  readonly #known: ReadonlySet<string>;
  readonly #cache = new Map<string, Toolset>();

  constructor(tools: readonly AnyTool[]) {
    this.#all = tools;
    this.#known = new Set(tools.map((t) => t.name));
  }

  /** The toolset a path serves; `undefined` for a path that is none (an unknown scope). */
  forPath(path: string): Toolset | undefined {
    const cached = this.#cache.get(path);
    if (cached) return cached;
    let tools: readonly AnyTool[] | undefined;
    if (path === "/mcp") tools = this.#all;
    else if (path === "/mcp/readonly") tools = this.#all.filter((t) => t.annotations.readOnlyHint);
    else {
      const scopes = parseScopeList(path);
      if (scopes) tools = this.#all.filter((t) => scopes.has(t.scope));
    }
    return tools && this.#remember(path, make(path, tools, false));
  }

  /**
   * `set` narrowed to the tools an `X-MCP-Tools` header names (names outside
   * `set` are left out); `set` itself without a header. A name that is no tool
   * at all is reported instead: a typo should not silently hide a tool.
   */
  narrow(set: Toolset, header: string | undefined | null): Toolset | UnknownTools {
    const wanted = parseToolList(header);
    if (wanted.length === 0) return set;
    const unknown = wanted.filter((name) => !this.#known.has(name));
    if (unknown.length > 0) return { unknown };
    const key = `${set.path}\n${[...new Set(wanted)].sort().join(",")}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const named = new Set(wanted);
    return this.#remember(key, make(set.path, set.tools.filter((t) => named.has(t.name)), true));
  }

  #remember(key: string, set: Toolset): Toolset {
    if (this.#cache.size < MAX_REMEMBERED) this.#cache.set(key, set);
    return set;
  }
}

function make(path: string, tools: readonly AnyTool[], narrowed: boolean): Toolset {
  const used = new Set(tools.map((t) => t.scope));
  return {
    path,
    tools,
    names: new Set(tools.map((t) => t.name)),
    scopes: ALL_SCOPES.filter((s) => used.has(s)),
    narrowed,
  };
}

/** The scopes of `/mcp/x/{scope}[,{scope}…]`, or `undefined` when one is not a scope. */
export function parseScopeList(path: string): Set<Scope> | undefined {
  const match = /^\/mcp\/x\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  let list: string;
  try {
    list = decodeURIComponent(match[1] as string);
  } catch {
    return undefined;
  }
  const names = list.split(",");
  if (!names.every((name) => Object.hasOwn(SCOPES, name))) return undefined;
  return new Set(names as Scope[]);
}

/**
 * The answer to a path under `/mcp/` that serves no toolset (an unknown or
 * empty scope in `/mcp/x/…`, a misspelt `/mcp/readonly`), or `undefined` for a
 * path outside `/mcp/`: what is wrong, the URL forms, and the scopes.
 */
export function noSuchToolset(path: string): string | undefined {
  if (!path.startsWith("/mcp/")) return undefined;
  const list = /^\/mcp\/x\/([^/]*)$/.exec(path)?.[1];
  let what = "No toolset at this path.";
  if (list !== undefined) {
    const unknown = safeDecode(list).split(",").filter((s) =>
      s !== "" && !Object.hasOwn(SCOPES, s)
    );
    what = unknown.length === 0
      ? "The scope list of /mcp/x/ is empty or has an empty entry."
      : `Not a scope: ${
        unknown.slice(0, 3).map((s) => JSON.stringify(s.slice(0, 32))).join(", ")
      }.`;
  }
  return `${what} MCP URLs: /mcp (every tool), /mcp/readonly (the read-only tools), ` +
    `/mcp/x/{scope}[,{scope}...] (the tools of those scopes). Scopes: ${ALL_SCOPES.join(", ")}.`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The names of an `X-MCP-Tools` header (empty: no header, or nothing in it). */
export function parseToolList(header: string | undefined | null): string[] {
  if (!header) return [];
  return header.split(",").map((s) => s.trim()).filter((s) => s.length > 0).slice(0, 64);
}
