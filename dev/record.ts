/**
 * `deno task record`: refresh the fake's recordings from the real VertexSMS
 * API. Needs `VERTEXSMS_TOKEN` (a token with the `GET /rates` and
 * `numbers:read` routes) and the network; `VERTEXSMS_API_URL` chooses the
 * upstream (default the real API).
 *
 * Only read-only, non-billable endpoints are called (rates, operators,
 * mccmnc, prefixes): nothing is sent and no HLR lookup is made. Each answer
 * replaces the recording of the same name in its file; the others (sends,
 * sender IDs, HLR, number correction) are kept as they are. Answers are
 * written without headers, and the token is redacted wherever it appears.
 *
 *   VERTEXSMS_TOKEN=… deno task record [--out DIR]
 *
 * With `--reports` it captures real delivery reports instead (two testMode
 * sends, nothing billed; see `record_reports.ts`).
 */
import { loadConfig, readEnv } from "../core/config.ts";
import { VertexClient } from "../vertex/mod.ts";
import { SERVER_NAME, VERSION } from "../core/version.ts";
import { loadRecordingFile, type Recording, RECORDINGS_DIR } from "../testing/fake/recordings.ts";
import { recordReports } from "./record_reports.ts";

/** One read-only call to record, and where its recording goes. */
export type Probe =
  & {
    /** Recording file in the recordings directory. */
    file: string;
    /** The recording's name (replaced in place when the file has it). */
    name: string;
    /** Recorded under this path pattern instead of the exact path (`*` = one segment). */
    pattern?: string;
    note?: string;
  }
  & (
    | { endpoint: "rates"; args: [] }
    | { endpoint: "operator"; args: [number] }
    | { endpoint: "mccMnc"; args: [string, number] }
    | { endpoint: "prefixes"; args: [string] }
  );

/** Every call the record mode makes: the public docs' examples and one miss of each kind. */
export const PROBES: readonly Probe[] = [
  { file: "rates.json", name: "rates", endpoint: "rates", args: [] },
  { file: "numbers.json", name: "operator-bite", endpoint: "operator", args: [493] },
  { file: "numbers.json", name: "operator-telia", endpoint: "operator", args: [2] },
  {
    file: "numbers.json",
    name: "operator-unknown",
    endpoint: "operator",
    args: [999_999_999],
    pattern: "/operators/*",
    note: "The answer for an operator id that does not exist.",
  },
  { file: "numbers.json", name: "mccmnc-lt-1", endpoint: "mccMnc", args: ["LT", 1] },
  {
    file: "numbers.json",
    name: "mccmnc-past-last-page",
    endpoint: "mccMnc",
    args: ["LT", 10_000],
    pattern: "/mccmnc/*",
    note: "The answer past the last page (and, assumed, for unknown countries).",
  },
  { file: "numbers.json", name: "prefixes-lt", endpoint: "prefixes", args: ["LT"] },
  {
    file: "numbers.json",
    name: "prefixes-other",
    endpoint: "prefixes",
    args: ["AQ"],
    pattern: "/prefixes/*",
    note: "A country without mobile prefixes (Antarctica).",
  },
];

/** Options of {@link record}. */
export interface RecordOptions {
  apiUrl: string;
  token: string;
  /** Directory whose recording files are rewritten. */
  dir?: URL;
  timeoutMs?: number;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
}

const REDACTED = "[REDACTED]";

/** Replace every occurrence of `secret` in the strings of a JSON value. */
function redact(value: unknown, secret: string): unknown {
  if (typeof value === "string") return value.replaceAll(secret, REDACTED);
  if (Array.isArray(value)) return value.map((v) => redact(v, secret));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redact(k, secret), redact(v, secret)]),
    );
  }
  return value;
}

/** Call every probe and rewrite the recording files; returns the files written. */
export async function record(options: RecordOptions): Promise<string[]> {
  const dir = options.dir ?? RECORDINGS_DIR;
  const client = new VertexClient({
    baseUrl: options.apiUrl,
    timeoutMs: options.timeoutMs ?? 30_000,
    userAgent: `${SERVER_NAME}/${VERSION} (record mode)`,
    // The world price list is about 200 KB today; leave room to grow.
    maxResponseBytes: 64 * 1024 * 1024,
  });
  const creds = { token: options.token, requestId: crypto.randomUUID() };
  const recorded = new Map<string, Recording[]>();
  for (const probe of PROBES) {
    const answer = await client.readRaw(probe.endpoint, probe.args, creds);
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      body = undefined;
    }
    const recording: Recording = {
      name: probe.name,
      note: [
        probe.note,
        `Recorded by deno task record on ${new Date().toISOString().slice(0, 10)}.`,
      ]
        .filter(Boolean).join(" "),
      request: { method: "GET", path: probe.pattern ?? answer.path },
      response: body === undefined
        ? { status: answer.status, text: answer.text.replaceAll(options.token, REDACTED) }
        : { status: answer.status, body: redact(body, options.token) },
    };
    const list = recorded.get(probe.file) ?? [];
    list.push(recording);
    recorded.set(probe.file, list);
    (options.log ?? console.log)(
      `${answer.status} GET ${answer.path} → ${probe.file} (${probe.name})`,
    );
  }

  const written: string[] = [];
  for (const [file, fresh] of recorded) {
    const url = new URL(file, dir);
    let existing: Recording[] = [];
    try {
      existing = loadRecordingFile(url);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const byName = new Map(fresh.map((r) => [r.name, r]));
    const merged = existing.map((r) => byName.get(r.name) ?? r);
    for (const r of fresh) if (!existing.some((e) => e.name === r.name)) merged.push(r);
    const text = JSON.stringify(merged, null, 1) + "\n";
    if (text.includes(options.token)) throw new Error(`refusing to write the token into ${file}`);
    await Deno.writeTextFile(url, text);
    written.push(url.pathname);
  }
  return written;
}

/** The value after `--name` on the command line, if given. */
function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const reports = Deno.args.includes("--reports");
  const token = Deno.env.get("VERTEXSMS_TOKEN");
  if (!token) {
    console.error(
      reports
        ? "deno task record --reports needs VERTEXSMS_TOKEN: a VertexSMS API token with the " +
          "POST /sms route. It sends two testMode SMS (simulated: nothing reaches a phone, " +
          "nothing is billed)."
        : "deno task record needs VERTEXSMS_TOKEN: a VertexSMS API token with the GET /rates and " +
          "numbers:read routes. Only read-only endpoints are called; nothing is sent or billed.",
    );
    Deno.exit(2);
  }
  const out = flag("out");
  const dir = out
    ? new URL(`${out.replace(/\/?$/, "/")}`, `file://${Deno.cwd()}/`)
    : RECORDINGS_DIR;
  const apiUrl = loadConfig(readEnv()).vertexApiUrl;
  if (reports) {
    const [to, publicUrl] = [flag("to"), flag("public-url")];
    if (!to || !publicUrl) {
      console.error(
        "deno task record --reports needs --to <a number, E.164> and --public-url <the public " +
          "https URL that reaches --port (default 8787) on this machine, e.g. a tunnel>",
      );
      Deno.exit(2);
    }
    const file = await recordReports({
      apiUrl,
      token,
      to,
      from: flag("from") ?? "VertexSMS",
      publicUrl,
      port: Number(flag("port") ?? 8787),
      waitMs: Number(flag("wait") ?? 300) * 1000,
      dir,
    });
    console.log(`rewrote ${file}`);
  } else {
    const files = await record({ apiUrl, token, dir });
    console.log(`rewrote ${files.join(", ")}`);
  }
}
