/**
 * Hand-over of a 2025-era client's answer to `elicitation/create`, from the
 * POST that carries it (on any instance) to the `tools/call` waiting for it
 * (the instance holding that call's SSE stream), through the shared
 * mailboxes (`state/mailbox.ts`) — as HLR results are.
 *
 * The question's JSON-RPC id is a fresh 256-bit random string (unique across
 * instances; a per-request SDK `Server` would number every question 0). The
 * mailbox an answer goes to is named by a digest of the session id, the
 * caller's token hash and that id, so an answer sent with another session or
 * another token reaches nothing. The call's own id (for
 * `notifications/cancelled`) names a second mailbox the same way: a client
 * that gives up on the call ends the question as cancelled.
 */
import { base64url, randomId } from "../core/keys.ts";
import type { Mailboxes } from "../state/mod.ts";

/** The client's JSON-RPC response to a question, as it arrived. */
export type ElicitReply =
  | { result: { action?: unknown; content?: unknown } }
  | { error: { code?: unknown; message?: unknown } };

/** Who may answer a question: the session and caller it was asked in, and the call it belongs to. */
export interface QuestionBinding {
  session: string;
  /** Keyed hash of the caller's token. */
  principal: string;
  /** JSON-RPC id of the `tools/call` that asked. */
  call: string;
}

/** One question waiting for its answer. */
export interface Question {
  /** The JSON-RPC id to send `elicitation/create` with. */
  id: string;
  /** The reply; `null` on timeout, abort, or when the client cancelled the call. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<ElicitReply | null>;
  close(): Promise<void>;
}

const BOX = "elicit";
/** A question outlives the longest wait (10 minutes) with room to spare. */
const RESERVATION_MS = 15 * 60_000;
const CANCELLED = "cancelled";

async function mailboxId(...parts: string[]): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(parts.join("\u0000")),
  );
  return base64url(new Uint8Array(digest));
}

/** Questions and their answers, across instances. */
export class Answers {
  constructor(private readonly mailboxes: Mailboxes) {}

  /** Reserve a question for this binding. */
  async open(binding: QuestionBinding): Promise<Question> {
    const id = `vx-${randomId()}`;
    const answerBox = await mailboxId("answer", binding.session, binding.principal, id);
    const callBox = await mailboxId("call", binding.session, binding.principal, binding.call);
    await this.mailboxes.reserve(BOX, answerBox, RESERVATION_MS);
    await this.mailboxes.reserve(BOX, callBox, RESERVATION_MS);
    return {
      id,
      wait: async (timeoutMs, signal) => {
        const stop = new AbortController();
        const both = AbortSignal.any([stop.signal, signal]);
        try {
          const first = await Promise.race([
            this.mailboxes.receive(BOX, answerBox, timeoutMs, both),
            this.mailboxes.receive(BOX, callBox, timeoutMs, both),
          ]);
          if (first === null || first === CANCELLED) return null;
          return JSON.parse(first) as ElicitReply;
        } finally {
          stop.abort();
        }
      },
      close: async () => {
        await this.mailboxes.release(BOX, answerBox);
        await this.mailboxes.release(BOX, callBox);
      },
    };
  }

  /** Deliver a client's response to question `id`; `true` when it was waiting in this session. */
  async deliver(
    from: { session: string; principal: string },
    id: string,
    reply: ElicitReply,
  ): Promise<boolean> {
    if (!id.startsWith("vx-")) return false;
    const box = await mailboxId("answer", from.session, from.principal, id);
    return await this.mailboxes.deliver(BOX, box, JSON.stringify(reply));
  }

  /** `notifications/cancelled` for call `call` of this session: its question ends as cancelled. */
  async cancel(from: { session: string; principal: string }, call: string): Promise<boolean> {
    const box = await mailboxId("call", from.session, from.principal, call);
    return await this.mailboxes.deliver(BOX, box, CANCELLED);
  }
}
