/**
 * A fake VertexSMS REST API: a real HTTP server on an ephemeral loopback
 * port that replays the recordings, checks `X-VertexSMS-Token` against its
 * token table (401 unknown or revoked, 403 outside the token's routes, like
 * the real API), posts HLR callbacks and delivery reports, logs every
 * request, and injects faults.
 *
 * Delivery reports: a send carrying `dlrUrl` gets its recording's `report`
 * (`recordings/sms.json`: delivered by default; magic numbers for the other
 * outcomes), or, with `testMode` `1`/`2`, the report of `sms-test-delivered`
 * / `sms-test-failed` whatever the number, as VertexSMS simulates them. A
 * report answered 5xx (or not at all) is posted again, like VertexSMS does.
 */
import { Hono } from "hono";
import {
  fillTemplate,
  loadRecordings,
  type Recording,
  RecordingIndex,
  type Report,
} from "./recordings.ts";
import { DEMO_TOKENS, demoTokenTable, type FakeScope, scopeForRoute } from "./tokens.ts";

export { DEMO_TOKENS, FAKE_SCOPES, type FakeScope } from "./tokens.ts";
export type { Recording, Report } from "./recordings.ts";

/** One request as the fake saw it. */
export interface FakeRequest {
  method: string;
  /** Path with query string. */
  path: string;
  /** The `X-VertexSMS-Token` header (the fake is test-side: it may keep it). */
  token: string | null;
  headers: Record<string, string>;
  /** Parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  /**
   * The `testMode` field of a JSON body (`POST /sms`: `"1"` simulate delivered,
   * `"2"` simulate failed), `null` when absent: a real send.
   */
  testMode: string | null;
  at: number;
  /** The status the fake answered (null while it is still answering). */
  status: number | null;
}

/** A fault the fake injects instead of (or before) the recorded answer. */
export interface Fault {
  /** `"POST /sms"`-style route prefix; every route when omitted. */
  route?: string;
  /** `no-callback` / `no-report`: HLR callbacks / delivery reports are not posted. */
  kind:
    | "status"
    | "slow"
    | "not-json"
    | "wrong-shape"
    | "huge"
    | "reset"
    | "no-callback"
    | "no-report";
  /** For `status`. */
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** For `slow`: how long to wait before answering. */
  delayMs?: number;
  /** For `huge`: bytes to stream (default 32 MiB). */
  bytes?: number;
  /** How many requests it applies to (default: all). */
  times?: number;
  /** Let this many matching requests through first (default 0): a fault mid-batch. */
  after?: number;
}

/** A callback (or delivery report) the fake delivered: one entry per attempt. */
export interface FakeCallback {
  url: string;
  /** `null`: no answer (the connection failed). */
  status: number | null;
  body: string;
}

/** Options of {@link startFake}. */
export interface FakeOptions {
  recordings?: Recording[];
  port?: number;
  /** Delay every HLR callback by this many ms instead of the recorded delay. */
  callbackDelayMs?: number;
  /** Delay of delivery reports without a recorded delay (default 200 ms). */
  reportDelayMs?: number;
  /** Attempts per delivery report while it is answered 5xx or not at all (default 3). */
  reportAttempts?: number;
}

/** A running fake VertexSMS. */
export interface FakeVertex {
  url: string;
  requests: FakeRequest[];
  callbacks: FakeCallback[];
  /** Delivery reports posted to `dlrUrl`s, one entry per attempt. */
  reports: FakeCallback[];
  /** Add (or replace) a token with its scopes. */
  addToken(token: string, scopes: Iterable<FakeScope>): void;
  /** From now on, answer 401 for this token. */
  revoke(token: string): void;
  /** Every token of the table, revoked ones included. */
  tokens(): string[];
  /**
   * Answer `GET /rates` for this token with these rows instead of the
   * recording (an account with its own prices).
   */
  setRates(token: string, rows: unknown[]): void;
  inject(fault: Fault): void;
  clearFaults(): void;
  /** Requests whose `METHOD path` starts with `route` (and, optionally, by one token). */
  count(route: string, token?: string): number;
  /**
   * The most requests of `route` (`"POST /sms"`) the fake was handling at
   * once since it started or was reset (slow faults included).
   */
  peakConcurrency(route: string): number;
  /** Bytes the `huge` fault has streamed so far (what the reader pulled, plus buffers). */
  hugeBytesSent(): number;
  /** Forget the request and callback logs. */
  reset(): void;
  shutdown(): Promise<void>;
}

const SEQ_BASE = 1281532560;

/** Start the fake on 127.0.0.1 (an ephemeral port unless `port` is given). */
export function startFake(options: FakeOptions = {}): FakeVertex {
  const index = new RecordingIndex(options.recordings ?? loadRecordings());
  const tokens = demoTokenTable();
  tokens.set(DEMO_TOKENS.revoked, new Set());
  const revoked = new Set<string>([DEMO_TOKENS.revoked]);
  const ownRates = new Map<string, unknown[]>();
  const requests: FakeRequest[] = [];
  const callbacks: FakeCallback[] = [];
  const reports: FakeCallback[] = [];
  const byName = new Map((options.recordings ?? loadRecordings()).map((r) => [r.name, r]));
  let faults: Fault[] = [];
  const inflight = new Set<Promise<void>>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  /** Pending `slow` waits: shutdown ends them so no handler is left hanging. */
  const sleepers = new Set<() => void>();
  let closing = false;
  let seq = 0;
  let hugeBytes = 0;
  const handling = new Map<string, number>();
  const peaks = new Map<string, number>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const takeFault = (route: string): Fault | undefined => {
    const fault = faults.find((f) =>
      (f.route === undefined || route.startsWith(f.route)) && f.kind !== "no-callback" &&
      f.kind !== "no-report"
    );
    if (fault?.after !== undefined && fault.after > 0) {
      fault.after--;
      return undefined;
    }
    if (fault?.times !== undefined && --fault.times <= 0) {
      faults = faults.filter((f) => f !== fault);
    }
    return fault;
  };

  const faultResponse = async (fault: Fault): Promise<Response | undefined> => {
    switch (fault.kind) {
      case "status":
        return Response.json(fault.body ?? { message: `Injected HTTP ${fault.status}` }, {
          status: fault.status ?? 500,
          headers: fault.headers,
        });
      case "slow":
        await sleep(fault.delayMs ?? 1000);
        return undefined;
      case "not-json":
        return new Response("<html><body>502 Bad Gateway</body></html>", {
          status: 200,
          headers: { "Content-Type": "text/html" },
        });
      case "wrong-shape":
        return Response.json({ unexpected: true, data: null });
      case "huge": {
        const chunk = new TextEncoder().encode(`"${"x".repeat(65_534)}",`);
        let left = fault.bytes ?? 32 * 1024 * 1024;
        return new Response(
          new ReadableStream<Uint8Array>({
            start: (c) => c.enqueue(new TextEncoder().encode("[")),
            pull: (c) => {
              if (left <= 0) return c.close();
              left -= chunk.byteLength;
              hugeBytes += chunk.byteLength;
              c.enqueue(chunk);
            },
          }),
          { headers: { "Content-Type": "application/json" } },
        );
      }
      case "reset":
        return brokenBody('{"partial": ');
      default:
        return undefined;
    }
  };

  /** POST `init` to `url` after `delayMs`, again (up to `attempts`) while it fails or answers 5xx. */
  const post = (
    url: string,
    init: { body: string; contentType?: string },
    delayMs: number,
    log: FakeCallback[],
    attempts = 1,
  ) => {
    if (closing) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const entry: FakeCallback = { url, status: null, body: init.body };
      const delivery = fetch(url, {
        method: "POST",
        headers: init.contentType ? { "Content-Type": init.contentType } : {},
        body: init.body,
      })
        .then(async (res) => {
          entry.status = res.status;
          await res.body?.cancel();
        })
        .catch(() => {})
        .finally(() => {
          log.push(entry);
          inflight.delete(delivery);
          if (attempts > 1 && (entry.status === null || entry.status >= 500)) {
            post(url, init, 200, log, attempts - 1);
          }
        });
      inflight.add(delivery);
    }, delayMs);
    timers.add(timer);
  };

  const sendCallback = (url: string, body: unknown, delayMs: number) =>
    post(url, { body: JSON.stringify(body), contentType: "application/json" }, delayMs, callbacks);

  /** Post `report` for message `id` to a send's `dlrUrl`, encoded as recorded. */
  const sendReport = (dlrUrl: string, report: Report, id: string) => {
    const fields = { ...report.body, id: typeof report.body.id === "number" ? Number(id) : id };
    const params = new URLSearchParams(
      Object.entries(fields).map(([k, v]) => [k, String(v)]),
    ).toString();
    const delayMs = report.delayMs ?? options.reportDelayMs ?? 200;
    const attempts = options.reportAttempts ?? 3;
    switch (report.encoding ?? "json") {
      case "json":
        return post(
          dlrUrl,
          { body: JSON.stringify(fields), contentType: "application/json" },
          delayMs,
          reports,
          attempts,
        );
      case "form":
        return post(
          dlrUrl,
          { body: params, contentType: "application/x-www-form-urlencoded" },
          delayMs,
          reports,
          attempts,
        );
      case "query":
        return post(`${dlrUrl}?${params}`, { body: "" }, delayMs, reports, attempts);
    }
  };

  const render = (recording: Recording, vars: Record<string, string>): Response => {
    const r = recording.response;
    if (r.text !== undefined) {
      return new Response(r.text, {
        status: r.status,
        headers: { "Content-Type": "text/plain", ...r.headers },
      });
    }
    return Response.json(fillTemplate(r.body ?? null, vars), {
      status: r.status,
      headers: r.headers,
    });
  };

  const app = new Hono<{ Variables: { logged?: FakeRequest } }>();
  // Every request counted while it is handled, per route (how many ran at once), and its
  // answer's status logged.
  app.use("*", async (c, next) => {
    const route = `${c.req.method} ${new URL(c.req.url).pathname}`;
    const now = (handling.get(route) ?? 0) + 1;
    handling.set(route, now);
    peaks.set(route, Math.max(peaks.get(route) ?? 0, now));
    try {
      await next();
    } finally {
      handling.set(route, (handling.get(route) ?? 1) - 1);
      const logged = c.get("logged");
      if (logged) logged.status = c.res.status;
    }
  });
  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const path = url.pathname + url.search;
    const method = c.req.method;
    const route = `${method} ${url.pathname}`;
    const text = method === "GET" ? "" : await c.req.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const token = c.req.header("x-vertexsms-token") ?? null;
    const testMode = body !== null && typeof body === "object" && "testMode" in body
      ? String((body as { testMode: unknown }).testMode)
      : null;
    const logged: FakeRequest = {
      method,
      path,
      token,
      headers: Object.fromEntries(c.req.raw.headers),
      body,
      testMode,
      at: Date.now(),
      status: null,
    };
    requests.push(logged);
    c.set("logged", logged);

    const fault = takeFault(route);
    if (fault) {
      const injected = await faultResponse(fault);
      if (injected) return injected;
    }

    const scope = scopeForRoute(method, path);
    if (!scope) return c.json({ message: "Not found." }, 404);
    if (token === null || !tokens.has(token) || revoked.has(token)) {
      return c.json({ message: "Authentication failed: invalid or missing token." }, 401);
    }
    if (!tokens.get(token)?.has(scope)) {
      return c.json({ message: "This token is not allowed to access this route." }, 403);
    }
    if (method === "POST" && !c.req.header("content-type")?.startsWith("application/json")) {
      return c.json({ message: "Content-Type must be application/json." }, 400);
    }
    if (testMode !== null && !(route === "POST /sms" && (testMode === "1" || testMode === "2"))) {
      return c.json({ message: 'Invalid value for field \'testMode\': use "1" or "2".' }, 400);
    }

    const rates = scope === "sms:rates" ? ownRates.get(token) : undefined;
    if (rates) return c.json(rates);

    if (Array.isArray(body) && method === "POST") {
      const rows = [];
      for (const item of body) {
        const rec = index.find(method, path, item, true);
        if (!rec) return c.json({ message: "Unrecorded request." }, 400);
        if (rec.response.status !== 200) return render(rec, {});
        const vars = item && typeof item === "object" ? item as Record<string, string> : {};
        rows.push(fillTemplate(rec.response.body, vars));
      }
      return c.json(rows);
    }

    const recording = index.find(method, path, body);
    if (!recording) return c.json({ message: "Unrecorded request." }, 400);
    const vars = { seq: String(SEQ_BASE + ++seq) };
    const response = render(recording, vars);
    const dlrUrl = (body as { dlrUrl?: unknown } | undefined)?.dlrUrl;
    const report = testMode === "1"
      ? byName.get("sms-test-delivered")?.report
      : testMode === "2"
      ? byName.get("sms-test-failed")?.report
      : recording.report;
    const [messageId] = [fillTemplate(recording.response.body, vars)].flat();
    if (
      report && typeof dlrUrl === "string" && response.status === 200 &&
      typeof messageId === "string" && !faults.some((f) => f.kind === "no-report")
    ) {
      sendReport(dlrUrl, report, messageId);
    }
    const callbackUrl = (body as { callBackUrl?: unknown } | undefined)?.callBackUrl;
    const suppressed = faults.some((f) => f.kind === "no-callback");
    if (recording.callback && typeof callbackUrl === "string" && !suppressed) {
      sendCallback(
        callbackUrl,
        recording.callback.body,
        options.callbackDelayMs ?? recording.callback.delayMs,
      );
    }
    return response;
  });

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    app.fetch,
  );
  const addr = server.addr as Deno.NetAddr;

  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    callbacks,
    reports,
    addToken: (token, scopes) => {
      tokens.set(token, new Set(scopes));
      revoked.delete(token);
    },
    revoke: (token) => void revoked.add(token),
    tokens: () => [...tokens.keys()],
    setRates: (token, rows) => void ownRates.set(token, rows),
    inject: (fault) => void faults.push({ ...fault }),
    clearFaults: () => void (faults = []),
    count: (route, token) =>
      requests.filter((r) =>
        `${r.method} ${r.path}`.startsWith(route) && (token === undefined || r.token === token)
      ).length,
    peakConcurrency: (route) => peaks.get(route) ?? 0,
    hugeBytesSent: () => hugeBytes,
    reset: () => {
      requests.length = 0;
      callbacks.length = 0;
      peaks.clear();
      reports.length = 0;
    },
    shutdown: async () => {
      closing = true;
      for (const wake of [...sleepers]) wake();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(inflight);
      await server.shutdown();
    },
  };
}

/**
 * A 200 whose connection breaks mid-body: `partial` is sent, then the
 * connection closes short of the declared length, so the client's read fails
 * as on a reset. (An erroring body stream would do the same, but Deno's
 * server then prints the error with a stack trace on stderr.)
 */
export function brokenBody(partial: string): Response {
  const bytes = new TextEncoder().encode(partial);
  return new Response(
    new ReadableStream<Uint8Array>({
      start: (c) => {
        c.enqueue(bytes);
        c.close();
      },
    }),
    {
      headers: {
        "Content-Type": "application/json",
        "Content-Length": String(bytes.byteLength + 1024),
      },
    },
  );
}
