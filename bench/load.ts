/**
 * One bounded load run with autocannon: unique JSON-RPC ids, every response
 * body checked, latencies kept at microsecond precision (autocannon's own
 * histogram rounds to whole milliseconds).
 */
import autocannon from "autocannon";
import type { Scenario } from "./scenarios.ts";

export type { Scenario };

/** The figures of one run. */
export interface LoadResult {
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  ok: number;
  toolErrors: number;
  wrongBodies: number;
  non2xx: number;
  errors: number;
  /** The first tool error or wrong body seen, for diagnosis. */
  sample?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

/** Run `scenario` with `connections` for `seconds`; returns measured figures. */
export async function load(
  scenario: Scenario,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  let id = 0;
  const counts = { ok: 0, toolErrors: 0, wrongBodies: 0 };
  let sample: string | undefined;
  const latencies: number[] = [];
  const instance = autocannon({
    url: scenario.url,
    connections,
    duration: seconds,
    method: scenario.method ?? "POST",
    headers: scenario.headers,
    requests: [{
      // deno-lint-ignore no-explicit-any
      setupRequest: (req: any) => scenario.body ? { ...req, body: scenario.body(++id) } : req,
      onResponse: (status: number, body: string) => {
        const verdict = scenario.check(status, body);
        if (verdict === "ok") counts.ok++;
        else if (verdict === "tool-error") counts.toolErrors++;
        else counts.wrongBodies++;
        if (verdict !== "ok") sample ??= `${status} ${body.slice(0, 300)}`;
      },
    }],
  });
  instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
  });
  // deno-lint-ignore no-explicit-any
  const result: any = await instance;
  const sorted = Float64Array.from(latencies).sort();
  return {
    connections,
    seconds,
    requests: result.requests.total,
    rps: result.requests.total / seconds,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    ...counts,
    sample,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
