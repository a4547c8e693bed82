/**
 * A loopback reverse proxy that adds headers to every request: the official
 * conformance runner sends no `Authorization` header, so the suite puts this
 * in front of the server instead of switching authentication off.
 *
 * It forwards `Host` and `Origin` unchanged (through `node:http`, because
 * `fetch` replaces `Host`), so the server's DNS-rebinding checks see exactly
 * what the runner sent.
 */
import http from "node:http";
import { Readable } from "node:stream";

/** A running proxy. */
export interface HeaderProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Where requests go (`http://host:port`); settable, so a server can take the proxy's URL as its public one. */
  target: string;
  shutdown(): Promise<void>;
}

const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "content-length"];

/** Proxy `127.0.0.1:<ephemeral>` to `target`, setting `headers` on every request. */
export function startHeaderProxy(headers: Record<string, string>, target = ""): HeaderProxy {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const upstream = new URL(proxy.target);
      const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
      const outgoing: Record<string, string> = {};
      request.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.includes(name)) outgoing[name] = value;
      });
      Object.assign(outgoing, headers);
      if (body) outgoing["content-length"] = String(body.byteLength);
      const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: url.pathname + url.search,
          headers: outgoing,
        }, resolve);
        req.on("error", reject);
        req.end(body);
      });
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value === undefined || HOP_BY_HOP.includes(name)) continue;
        for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
      }
      const stream = Readable.toWeb(answer) as ReadableStream<Uint8Array>;
      return new Response(answer.statusCode === 204 ? null : stream, {
        status: answer.statusCode,
        headers: responseHeaders,
      });
    },
  );
  const proxy: HeaderProxy = {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    target,
    shutdown: () => server.shutdown(),
  };
  return proxy;
}

/** A running {@link startAnswerRouter}. */
export interface AnswerRouter {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  /** The answers it sent to B. */
  answers: string[];
  shutdown(): Promise<void>;
}

/**
 * A proxy in front of instance A that sends every POST whose body is a
 * JSON-RPC response (a client's answer) to instance B instead.
 */
export function startAnswerRouter(a: string, b: string): AnswerRouter {
  const answers: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = req.method === "POST" ? await req.text() : undefined;
    let isAnswer = false;
    try {
      const m = body ? JSON.parse(body) : undefined;
      isAnswer = m && typeof m === "object" && m.method === undefined &&
        ("result" in m || "error" in m);
    } catch {
      // not JSON: forward as it is
    }
    if (isAnswer) answers.push(body!);
    const target = new URL(new URL(req.url).pathname, isAnswer ? b : a);
    const headers = new Headers(req.headers);
    headers.delete("host");
    return await fetch(target, { method: req.method, headers, body });
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/mcp`,
    answers,
    shutdown: () => server.shutdown(),
  };
}
