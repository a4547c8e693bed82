/**
 * A streamed (SSE) 2025-era answer is held until its first event, which
 * decides what the HTTP response is:
 * - `elicitation/create`: the question is out; the stream is the answer (200,
 *   committed). Later failures can only be tool errors inside the stream.
 * - the call's own result (nothing was asked: the policy is off, or the token
 *   was rejected while pricing the question): a plain JSON response, so the
 *   HTTP layer may still turn an `AUTH_INVALID` into HTTP 401 as on the JSON
 *   path.
 * A client hanging up aborts `hangUp`: a pending question ends as cancelled.
 */

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** The response a streamed call answers, decided by its first event (see above). */
export async function firstEventDecides(
  response: Response,
  hangUp: AbortController,
): Promise<Response> {
  if (!response.body || !response.headers.get("content-type")?.includes("text/event-stream")) {
    return response;
  }
  const reader = response.body.getReader();
  const { first, held } = await readFirstEvent(reader);
  if (first && first.method === undefined) {
    // The final result came first: nothing was asked. Answer with plain JSON.
    await reader.cancel().catch(() => {});
    const headers = new Headers(response.headers);
    headers.set("Content-Type", "application/json");
    for (const h of ["Cache-Control", "Connection", "X-Accel-Buffering"]) headers.delete(h);
    return new Response(JSON.stringify(first), { status: 200, headers });
  }
  return new Response(replayed(held, reader, hangUp), {
    status: response.status,
    headers: response.headers,
  });
}

/** Read whole events (they end with a blank line), however the stream is chunked, up to the first. */
async function readFirstEvent(
  reader: Reader,
): Promise<{ first: { method?: string } | undefined; held: Uint8Array[] }> {
  const held: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return { first: undefined, held };
    held.push(value);
    text += decoder.decode(value, { stream: true });
    for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart()).join("\n");
      if (data) return { first: JSON.parse(data), held };
    }
  }
}

/** The stream again: the chunks already read, then the rest; cancelling it aborts `hangUp`. */
function replayed(held: Uint8Array[], reader: Reader, hangUp: AbortController) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of held) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      hangUp.abort();
      return reader.cancel(reason);
    },
  });
}
