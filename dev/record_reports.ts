/**
 * `deno task record --reports`: capture real delivery reports, so the shape
 * this server assumes (`vertexsms-api.md`, "Delivery reports";
 * `vertex/shapes.ts`) can be checked against a real account.
 *
 * It listens on a local port that `--public-url` reaches from the internet
 * (a tunnel, or a machine with a public address), sends two SMS with
 * VertexSMS's `testMode` — `1` (simulated delivered) and `2` (simulated
 * failed): nothing reaches a phone and nothing is billed — each with a
 * `dlrUrl` on that listener, answers every report `200 OK`, and writes the
 * last report of each into the `report` of the `sms-test-delivered` and
 * `sms-test-failed` recordings (`recordings/sms.json`), where the fake then
 * replays it. The token and the numbers are scrubbed from what is written.
 *
 *   VERTEXSMS_TOKEN=… deno task record --reports --to +37069912345 \
 *     --public-url https://abc.example-tunnel.dev [--port 8787] [--from Sender] [--wait 300]
 */
import { randomId } from "../core/keys.ts";
import { SERVER_NAME, VERSION } from "../core/version.ts";
import { loadRecordingFile, type Recording, type Report } from "../testing/fake/recordings.ts";
import { parseDeliveryReport, VertexClient } from "../vertex/mod.ts";

/** Options of {@link recordReports}. */
export interface RecordReportsOptions {
  apiUrl: string;
  token: string;
  /** A number of the account's (E.164); testMode sends reach no phone. */
  to: string;
  from: string;
  /** The public base URL that reaches `port` on this machine. */
  publicUrl: string;
  port: number;
  /** Host to listen on (default 0.0.0.0). */
  hostname?: string;
  /** How long to wait for both reports (default 300 s). */
  waitMs?: number;
  /** The recordings directory (`sms.json` is rewritten there). */
  dir: URL;
  log?: (line: string) => void;
}

/** One report as it arrived. */
interface Captured {
  contentType: string;
  query: string;
  body: string;
}

const NAMES = { "1": "sms-test-delivered", "2": "sms-test-failed" } as const;
const SCRUBBED_NUMBER = "37060000000";

/** Send the two testMode SMS, capture their reports, rewrite `sms.json`; returns its path. */
export async function recordReports(options: RecordReportsOptions): Promise<string> {
  const log = options.log ?? console.log;
  const secret = randomId();
  const captured: Captured[] = [];
  let arrived = () => {};
  const server = Deno.serve(
    { hostname: options.hostname ?? "0.0.0.0", port: options.port, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      if (url.pathname !== `/dlr/${secret}`) return new Response("Not Found", { status: 404 });
      captured.push({
        contentType: request.headers.get("content-type") ?? "",
        query: url.search.slice(1),
        body: await request.text(),
      });
      arrived();
      return new Response("OK");
    },
  );
  try {
    const client = new VertexClient({
      baseUrl: options.apiUrl,
      timeoutMs: 30_000,
      userAgent: `${SERVER_NAME}/${VERSION} (record mode)`,
    });
    const api = client.as({ token: options.token, requestId: crypto.randomUUID() });
    const dlrUrl = `${options.publicUrl.replace(/\/+$/, "")}/dlr/${secret}`;
    const ids: Record<string, "1" | "2"> = {};
    for (const [mode, simulate] of [["1", "delivered"], ["2", "failed"]] as const) {
      const { messageIds } = await api.sendSms({
        to: options.to.replace(/^\+/, ""),
        from: options.from,
        message: `${SERVER_NAME} record mode: delivery report check (testMode ${mode})`,
        dlrUrl,
        simulate,
      });
      ids[messageIds[0]!] = mode;
      log(`sent testMode ${mode}: message ${messageIds[0]}, waiting for its report`);
    }
    const byMode = new Map<"1" | "2", Captured[]>();
    const until = Date.now() + (options.waitMs ?? 300_000);
    while (byMode.size < 2 && Date.now() < until) {
      await new Promise<void>((resolve) => {
        arrived = resolve;
        setTimeout(resolve, 500);
      });
      byMode.clear();
      for (const c of captured) {
        const id = parseDeliveryReport(fieldsOf(c))?.messageId ?? idIn(c, Object.keys(ids));
        const mode = id === undefined ? undefined : ids[id];
        if (mode) byMode.set(mode, [...(byMode.get(mode) ?? []), c]);
      }
    }
    if (byMode.size < 2) {
      const seen = captured.map((c) => scrub(JSON.stringify(c), options)).join("\n  ");
      throw new Error(
        `got ${captured.length} report(s) for ${byMode.size} of 2 messages in time` +
          (captured.length ? `; what arrived (scrubbed):\n  ${seen}` : ""),
      );
    }
    const file = new URL("sms.json", options.dir);
    const recordings = loadRecordingFile(file).map((r): Recording => {
      const mode = (Object.entries(NAMES).find(([, name]) => name === r.name) ?? [])[0] as
        | "1"
        | "2"
        | undefined;
      const reports = mode ? byMode.get(mode) : undefined;
      if (!mode || !reports) return r;
      const report = asReport(reports.at(-1)!, options);
      log(
        `testMode ${mode}: ${reports.length} report(s), the last one kept: ${
          JSON.stringify(report)
        }`,
      );
      return {
        ...r,
        note: `testMode ${mode}, whatever the number: the report VertexSMS sent, captured by ` +
          `deno task record --reports on ${new Date().toISOString().slice(0, 10)} ` +
          `(${reports.length} report(s) arrived; the last one kept).`,
        report,
      };
    });
    const text = JSON.stringify(recordings, null, 2) + "\n";
    if (text.includes(options.token)) throw new Error("refusing to write the token into sms.json");
    await Deno.writeTextFile(file, text);
    return file.pathname;
  } finally {
    await server.shutdown();
  }
}

/** A captured request's fields: query parameters, overridden by a JSON or form body. */
function fieldsOf(c: Captured): Record<string, unknown> {
  const fields: Record<string, unknown> = Object.fromEntries(new URLSearchParams(c.query));
  const body = c.body.trim();
  if (body.startsWith("{")) {
    try {
      return { ...fields, ...JSON.parse(body) };
    } catch {
      return fields;
    }
  }
  return body ? { ...fields, ...Object.fromEntries(new URLSearchParams(body)) } : fields;
}

/** The message id a report names, found as text when the shape is not the assumed one. */
function idIn(c: Captured, ids: string[]): string | undefined {
  return ids.find((id) => c.body.includes(id) || c.query.includes(id));
}

/** A captured report as the fake replays it, scrubbed. */
function asReport(c: Captured, options: RecordReportsOptions): Report {
  const encoding = c.body.trim() === "" && c.query !== ""
    ? "query"
    : c.contentType.includes("json") || c.body.trim().startsWith("{")
    ? "json"
    : "form";
  const body = JSON.parse(scrub(JSON.stringify(fieldsOf(c)), options));
  return encoding === "json" ? { body } : { encoding, body };
}

/** The text without the token or the numbers used. */
function scrub(text: string, options: RecordReportsOptions): string {
  let out = text.replaceAll(options.token, "[REDACTED]");
  for (const number of [options.to, options.from]) {
    const digits = number.replace(/\D/g, "");
    if (digits.length >= 7) out = out.replaceAll(digits, SCRUBBED_NUMBER);
  }
  return out;
}
