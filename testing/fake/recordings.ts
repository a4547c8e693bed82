/**
 * Recorded request/response pairs: plain JSON files in `recordings/`, loaded
 * once, matched by method, path (with `*` for one path segment) and a subset
 * of the JSON body. Exact paths win over wildcards; otherwise file order.
 */

/** One recorded exchange. */
export interface Recording {
  name: string;
  note?: string;
  /** Match each element of an array body on its own, answering an array. */
  each?: boolean;
  request: { method: string; path: string; body?: unknown };
  response: {
    status: number;
    headers?: Record<string, string>;
    /** JSON body; strings may hold `{{seq}}`, `{{number}}`, `{{country}}`. */
    body?: unknown;
    /** Raw text body (for `plain/text` answers). */
    text?: string;
  };
  /** A callback VertexSMS posts to the request's `callBackUrl` afterwards. */
  callback?: { delayMs: number; body: unknown };
  /**
   * The delivery report VertexSMS posts to a send's `dlrUrl` afterwards (an
   * ASSUMED shape until `deno task record --reports` captured real ones).
   * Absent: no report comes.
   */
  report?: Report;
}

/** A delivery report as recorded: its fields, and how they travel. */
export interface Report {
  /** The fields; `id` is replaced by the message id (kept a number when recorded as one). */
  body: Record<string, unknown>;
  /** `json` body (default), `form`-encoded body, or `query` parameters with an empty body. */
  encoding?: "json" | "form" | "query";
  /** Delay after the send (default: the fake's `reportDelayMs`). */
  delayMs?: number;
}

/** The directory the recordings live in. */
export const RECORDINGS_DIR = new URL("./recordings/", import.meta.url);

/** Load every `*.json` file of a directory (each an array of recordings). */
export function loadRecordings(dir: URL = RECORDINGS_DIR): Recording[] {
  const names = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort();
  return names.flatMap((name) => loadRecordingFile(new URL(name, dir)));
}

/** Load one recording file (an array of recordings). */
export function loadRecordingFile(file: URL): Recording[] {
  return JSON.parse(Deno.readTextFileSync(file)) as Recording[];
}

function pathPattern(path: string): RegExp {
  const escaped = path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]+");
  return new RegExp(`^${escaped}$`);
}

/** Whether every field of `pattern` is present and equal in `value`. */
export function subsetMatch(pattern: unknown, value: unknown): boolean {
  if (pattern === null || typeof pattern !== "object") return pattern === value;
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.length === value.length &&
      pattern.every((p, i) => subsetMatch(p, value[i]));
  }
  return Object.entries(pattern).every(([key, p]) =>
    Object.hasOwn(value, key) && subsetMatch(p, (value as Record<string, unknown>)[key])
  );
}

/** Finds the recording for a request. */
export class RecordingIndex {
  readonly #entries: { recording: Recording; pattern: RegExp; withQuery: boolean }[];

  constructor(recordings: Recording[]) {
    this.#entries = recordings
      .map((recording, order) => ({
        recording,
        order,
        pattern: pathPattern(recording.request.path),
        withQuery: recording.request.path.includes("?"),
        wild: recording.request.path.includes("*"),
      }))
      .sort((a, b) => Number(a.wild) - Number(b.wild) || a.order - b.order);
  }

  /** The first recording matching `method`, `path` (with query) and `body`. */
  find(method: string, path: string, body: unknown, each = false): Recording | undefined {
    const bare = path.split("?")[0] as string;
    return this.#entries.find(({ recording, pattern, withQuery }) =>
      recording.request.method === method &&
      Boolean(recording.each) === each &&
      pattern.test(withQuery ? path : bare) &&
      (recording.request.body === undefined || subsetMatch(recording.request.body, body))
    )?.recording;
  }
}

/** Fill `{{name}}` placeholders in every string of a JSON value. */
export function fillTemplate(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === "string") {
    return value.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => vars[name] ?? whole);
  }
  if (Array.isArray(value)) return value.map((v) => fillTemplate(v, vars));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, fillTemplate(v, vars)]),
    );
  }
  return value;
}
