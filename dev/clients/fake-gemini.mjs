// Stand-in for the Gemini API (generativelanguage) on loopback, for driving Gemini CLI
// non-interactively (see gemini-check.sh and README.md beside this file). Node >= 18, no
// dependencies.
//
//   FAKE_PORT=8890 FAKE_TOOL=get_operator FAKE_ARGS='{"operatorId":999999}' \
//   FAKE_LOG=/tmp/fake-gemini.jsonl node dev/clients/fake-gemini.mjs
//
// Behaviour for :generateContent / :streamGenerateContent:
//  - if the last turn holds a functionResponse part: log it as "CAPTURED" (this is exactly
//    what the CLI sends the model as the tool result) and answer with plain text;
//  - else if the request declares a function whose name ends with FAKE_TOOL: answer with a
//    functionCall to it with FAKE_ARGS;
//  - else (utility calls: router, next-speaker check, ...): answer a small JSON/text.
// Every request is appended to FAKE_LOG (one JSON object a line).
import http from "node:http";
import fs from "node:fs";

const PORT = Number(process.env.FAKE_PORT ?? 8890);
const TOOL = process.env.FAKE_TOOL ?? "get_operator";
const ARGS = JSON.parse(process.env.FAKE_ARGS ?? '{"operatorId":999999}');
const LOG = process.env.FAKE_LOG ?? "fake-gemini.jsonl";

const log = (obj) =>
  fs.appendFileSync(LOG, JSON.stringify({ t: new Date().toISOString(), ...obj }) + "\n");

function answer(body) {
  const decls = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
  const contents = body.contents ?? [];
  const last = contents[contents.length - 1];
  const fr = (last?.parts ?? []).filter((p) => p.functionResponse);
  if (fr.length > 0) {
    log({ kind: "CAPTURED", functionResponses: fr });
    return [{ text: "FAKE_MODEL_DONE: I saw the tool result." }];
  }
  const target = decls.find((d) => d.name === TOOL || d.name.endsWith(`_${TOOL}`));
  if (target) {
    log({ kind: "CALLING", name: target.name, args: ARGS, declared: decls.map((d) => d.name) });
    return [{ functionCall: { name: target.name, args: ARGS } }];
  }
  if (body.generationConfig?.responseMimeType === "application/json") {
    return [{
      text: JSON.stringify({ reasoning: "fake", model_choice: "flash", next_speaker: "user" }),
    }];
  }
  return [{ text: "FAKE_MODEL_TEXT" }];
}

http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    let body = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch { /* not JSON */ }
    const url = req.url ?? "";
    log({
      kind: "REQUEST",
      method: req.method,
      url,
      bodyKeys: Object.keys(body),
      model: url.split("/models/")[1]?.split(":")[0],
    });
    if (url.includes(":countTokens")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ totalTokens: 10 }));
    }
    if (url.includes(":generateContent") || url.includes(":streamGenerateContent")) {
      const parts = answer(body);
      const model = url.split("/models/")[1]?.split(":")[0] ?? "fake";
      const payload = {
        candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
        modelVersion: model,
      };
      if (url.includes(":streamGenerateContent")) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        return res.end(`data: ${JSON.stringify(payload)}\r\n\r\n`);
      }
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(payload));
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error: { code: 404, message: `fake: no route ${url}`, status: "NOT_FOUND" },
      }),
    );
  });
}).listen(PORT, "127.0.0.1", () => log({ kind: "LISTEN", port: PORT, tool: TOOL, args: ARGS }));
