#!/usr/bin/env bash
# What Gemini CLI's model sees when a VertexSMS tool fails (and when it succeeds), on loopback
# only: this repository's demo server (embedded fake VertexSMS), a stand-in for the Gemini API
# (fake-gemini.mjs) that makes the "model" call one tool and records the tool result the CLI
# sends back, and Gemini CLI run headless. See README.md beside this file.
#
#   bash dev/clients/gemini-check.sh            # from the repository root
#
# Needs node (>= 20) and npm; installs @google/gemini-cli (GEMINI_CLI_VERSION) into WORK unless
# GEMINI_JS names its bundle/gemini.js. Environment: PORT (server) and FAKE_PORT (the fake
# Gemini API), free loopback ports by default; WORK (a scratch directory, default a new
# temporary one). Exit code 0 when every case reached the model as expected, 1 when one did
# not, 2 when Gemini CLI could not be installed (CI reports that as skipped).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/dev/clients"
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    console.log(s.address().port); s.close(); });'
}
PORT=${PORT:-$(free_port)}
FAKE_PORT=${FAKE_PORT:-$(free_port)}
GEMINI_CLI_VERSION=${GEMINI_CLI_VERSION:-0.61.0}
OWN_WORK=${WORK:+no}
WORK=${WORK:-$(mktemp -d /tmp/gemini-check.XXXXXX)}
mkdir -p "$WORK"
FULL=demo-full-5f2c9a1e7b3d
RATES_ONLY=demo-sms-rates-3e9b7f10
REVOKED=demo-revoked-0b6e4f1a

if [ -z "${GEMINI_JS:-}" ]; then
  if [ ! -f "$WORK/gem/node_modules/@google/gemini-cli/bundle/gemini.js" ]; then
    echo "installing @google/gemini-cli@$GEMINI_CLI_VERSION into $WORK/gem ..."
    mkdir -p "$WORK/gem"
    (cd "$WORK/gem" && timeout 300 npm install --silent --no-audit --no-fund \
      "@google/gemini-cli@$GEMINI_CLI_VERSION" >"$WORK/npm-install.log" 2>&1) || {
      echo "npm install failed: see $WORK/npm-install.log"
      exit 2
    }
  fi
  GEMINI_JS="$WORK/gem/node_modules/@google/gemini-cli/bundle/gemini.js"
fi

echo "server: the demo (deno task dev) on 127.0.0.1:$PORT (log: $WORK/server.log)"
# exec: $SERVER is timeout itself, which passes the TERM of the trap on to the server.
(cd "$ROOT" && PORT=$PORT exec timeout 600 deno run --allow-net --allow-env \
  --allow-read --allow-write dev/dev.ts >"$WORK/server.log" 2>&1) &
SERVER=$!
# A scratch directory of our own keeps the runs (small) but not the 100 MB install.
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; [ -z "$OWN_WORK" ] && rm -rf "$WORK/gem"' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "server did not start"; exit 1; }

FAILED=0
# case NAME TOKEN TOOL ARGS EXPECT   (EXPECT: a regular expression the model's input must match)
check() {
  local name=$1 token=$2 tool=$3 args=$4 expect=$5
  local out="$WORK/runs/$name"
  rm -rf "$out"
  mkdir -p "$out/home/.gemini" "$out/cwd"
  cat >"$out/home/.gemini/settings.json" <<JSON
{
  "security": { "auth": { "selectedType": "gemini-api-key" }, "folderTrust": { "enabled": false } },
  "privacy": { "usageStatisticsEnabled": false },
  "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false },
  "telemetry": { "enabled": false },
  "mcpServers": {
    "vertexsms": {
      "httpUrl": "http://127.0.0.1:$PORT/mcp",
      "headers": { "Authorization": "Bearer $token" },
      "trust": true,
      "timeout": 20000
    }
  }
}
JSON
  FAKE_PORT=$FAKE_PORT FAKE_TOOL=$tool FAKE_ARGS=$args FAKE_LOG="$out/fake-gemini.jsonl" \
    timeout 120 node "$HERE/fake-gemini.mjs" &
  local fake=$!
  for _ in $(seq 1 40); do
    curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/" && break
    sleep 0.25
  done
  (cd "$out/cwd" && HOME="$out/home" GEMINI_API_KEY=fake-key \
    GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$FAKE_PORT" NO_BROWSER=1 \
    timeout 90 node "$GEMINI_JS" -p "Use the vertexsms tool $tool." --yolo --output-format json \
    >"$out/cli.stdout" 2>"$out/cli.stderr")
  local rc=$?
  kill $fake 2>/dev/null
  wait $fake 2>/dev/null
  local seen
  seen=$(grep '"kind":"CAPTURED"' "$out/fake-gemini.jsonl" | head -1)
  if [ -n "$seen" ] && echo "$seen" | grep -Eq "$expect"; then
    echo "ok    $name (gemini rc=$rc)"
  else
    echo "FAIL  $name (gemini rc=$rc): expected /$expect/"
    FAILED=1
  fi
  echo "      the model was sent: $(echo "$seen" | cut -c1-700)"
}

check not-found "$FULL" get_operator '{"operatorId":999999}' 'Error NOT_FOUND: '
check scope "$RATES_ONLY" send_sms '{"to":"+37060000001","from":"VertexDemo","message":"hello"}' \
  'Error AUTH_INVALID: .*sms:send'
check success "$FULL" get_operator '{"operatorId":493}' '\\"name\\":\\"BITE\\"'
# A revoked token: the call becomes HTTP 401 invalid_token; Gemini CLI hands its model the body.
check revoked "$REVOKED" get_operator '{"operatorId":493}' 'HTTP 401.*AUTH_INVALID'
if grep -h '"kind":"CAPTURED"' "$WORK"/runs/*/fake-gemini.jsonl | grep -q "Structured content does not match"; then
  echo "FAIL  a result was replaced by Gemini's -32602 output-schema error"
  FAILED=1
fi
echo "runs: $WORK/runs"
exit $FAILED
