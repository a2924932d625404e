#!/usr/bin/env bash
# CI: the README's production path, in a scratch copy of this working tree:
#
#   npm ci && npm run build && npm prune --omit=dev, then node dist/main.js
#
# Checks that no build or test tool is left in node_modules and that every package the
# compiled code imports is; that the compiled gateway refuses to start without
# UPSTREAM_URL, and answers a query (and GraphiQL,
# whose bundle it loads lazily) and exits 0 on SIGTERM; then that `npm start` runs the
# same build with the development dependencies gone (WORKERS=2, so the cluster's
# workers run compiled JavaScript too), and refuses in one line when dist/ is stale
# and TypeScript is not there to rebuild it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/execution-gateway-production.XXXXXX")"
server=""
upstream=""

cleanup() {
  # Each server runs in its own session (setsid): this ends it and its workers.
  if [[ -n $server ]]; then
    kill -KILL -- "-$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [[ -n $upstream ]]; then
    kill -KILL "$upstream" 2>/dev/null || true
    wait "$upstream" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Microseconds since the epoch.
now() { echo "${EPOCHREALTIME/./}"; }
seconds_since() {
  local us=$(($(now) - $1))
  printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}
began=$(now)
step_began=$began
step() {
  printf 'check-production: %5s s  %s\n' "$(seconds_since "$step_began")" "$1"
  step_began=$(now)
}
fail() {
  echo "check-production: FAILED: $*" >&2
  exit 1
}

# What a commit of this working tree would hold (tracked files, and new ones not
# ignored; none deleted), not HEAD: the working tree may be newer.
(
  cd "$root"
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do if [[ -e $file ]]; then printf '%s\0' "$file"; fi; done |
    tar --null --files-from=- -cf -
) | tar -xf - -C "$scratch"
cd "$scratch"
step "copied $(find . -type f | wc -l) files to $scratch"

npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
step 'npm ci'
# No .git in the scratch copy: the commit is the one the build is given, as in an image built without it.
SOURCE_COMMIT=0123456789abcdef0123456789abcdef01234567 npm run build --silent
step 'npm run build'
npm prune --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
step 'npm prune --omit=dev'

for tool in tsx typescript vitest vite esbuild @graphql-codegen/cli playwright-core; do
  [[ ! -e node_modules/$tool ]] || fail "node_modules/$tool is still there after npm prune --omit=dev"
done
[[ ! -e node_modules/.bin/tsc ]] || fail 'node_modules/.bin/tsc is still there after npm prune --omit=dev'
step 'no build or test tool left in node_modules'

# Every package the compiled code imports resolves, lazily loaded ones too (a query
# does not reach them all). Resolved from the root, as from dist/: dist/ has no
# node_modules of its own.
node --input-type=module - <<'JS' || fail 'dist/ imports packages that npm prune --omit=dev removed'
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
const missing = new Set();
for (const file of readdirSync('dist', { recursive: true, withFileTypes: true })) {
  if (!file.isFile() || !file.name.endsWith('.js')) continue;
  const code = readFileSync(path.join(file.parentPath, file.name), 'utf8');
  for (const [, specifier] of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"]([^'".][^'"]*)['"]/gm)) {
    if (specifier.startsWith('node:')) continue;
    try {
      import.meta.resolve(specifier);
    } catch {
      missing.add(specifier);
    }
  }
}
if (missing.size) {
  console.error(`not installed: ${[...missing].join(', ')}`);
  process.exit(1);
}
JS
step 'every package dist/ imports is installed'

# With NODE_ENV=production the gateway refuses to serve its built-in demo data: the demo
# upstream runs on its own (from dist/, as compiled), and UPSTREAM_URL names it.
node --input-type=module -e '
const { FakeUpstream } = await import("./dist/demo/fake-upstream.js");
const { demoExecutions } = await import("./dist/demo/demo-data.js");
const upstream = await FakeUpstream.start({ executions: demoExecutions() });
console.log(upstream.url);
' >"$scratch/upstream.out" 2>"$scratch/upstream.err" &
upstream=$!
upstream_url=""
for _ in $(seq 100); do
  upstream_url=$(head -n 1 "$scratch/upstream.out")
  if [[ -n $upstream_url ]]; then break; fi
  kill -0 "$upstream" 2>/dev/null || break
  sleep 0.1
done
[[ -n $upstream_url ]] || { cat "$scratch/upstream.err" >&2; fail 'the demo upstream did not start'; }
step "demo upstream (dist/demo/) at $upstream_url"

# Only what the production path needs: ports picked by the system on loopback, no drain
# pause on SIGTERM.
run_env=(env -i "PATH=$PATH" "HOME=$HOME" NODE_ENV=production "UPSTREAM_URL=$upstream_url" LOG_LEVEL=info HOST=127.0.0.1 PORT=0 METRICS_PORT=0 SHUTDOWN_UNREADY_MS=0)

# start <name> [NAME=value…] <command…>: starts it in its own session, sets $server and $url.
start() {
  local name=$1
  shift
  # Made here: the background command's own redirection may come after the first read below.
  : >"$scratch/$name.out"
  : >"$scratch/$name.err"
  setsid "${run_env[@]}" "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" &
  server=$!
  url=""
  for _ in $(seq 300); do
    url=$(sed -n 's/.*"url":"\([^"]*\)".*"msg":"execution-gateway listening".*/\1/p' "$scratch/$name.out" | head -n 1)
    if [[ -n $url ]]; then return 0; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  cat "$scratch/$name.out" "$scratch/$name.err" >&2
  fail "$name: no 'execution-gateway listening' line within 30 s"
}

# stop <name>: SIGTERM to the process started (not its group, as a supervisor does);
# it must exit 0 within 10 s.
stop() {
  local name=$1 code=0
  kill -TERM "$server"
  for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server" 2>/dev/null; then fail "$name: still running 10 s after SIGTERM"; fi
  wait "$server" || code=$?
  server=""
  [[ $code -eq 0 ]] || { cat "$scratch/$name.err" >&2; fail "$name: exit code $code after SIGTERM"; }
}

# probe <url>: a query with the demo token answers data and no errors; /health names the build; GraphiQL renders.
probe() {
  node --input-type=module - "$1" <<'JS'
const url = process.argv[2];
const response = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' },
  body: JSON.stringify({ query: '{ execution(id: "ex_demo_4") { id status events(first: 2) { totalCount } } }' }),
});
const body = await response.json();
if (response.status !== 200 || body.errors || body.data?.execution?.id !== 'ex_demo_4') {
  console.error(`query answered ${response.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}
// The build names itself (dist/build-info.json, which `npm run build` writes).
const { readFileSync } = await import('node:fs');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const health = await (await fetch(new URL('/health', url))).json();
if (health.status !== 'ok' || health.version !== version || health.commit !== '0123456789abcdef0123456789abcdef01234567') {
  console.error(`/health answered ${JSON.stringify(health)}, expected version ${version} and the commit SOURCE_COMMIT gave the build`);
  process.exit(1);
}
const page = await fetch(url, { headers: { accept: 'text/html' } });
const html = await page.text();
if (page.status !== 200 || !html.includes('graphiql')) {
  console.error(`GraphiQL answered ${page.status}`);
  process.exit(1);
}
JS
}

code=0
timeout 30 "${run_env[@]}" UPSTREAM_URL= node dist/main.js >"$scratch/no-upstream.out" 2>"$scratch/no-upstream.err" || code=$?
[[ $code -ne 0 ]] || fail 'node dist/main.js served the demo data with NODE_ENV=production'
grep -q '^execution-gateway: UPSTREAM_URL is not set: with NODE_ENV=production' "$scratch/no-upstream.err" && [[ $(wc -l <"$scratch/no-upstream.err") -eq 1 ]] ||
  { cat "$scratch/no-upstream.err" >&2; fail 'node dist/main.js without UPSTREAM_URL: not the expected one-line refusal'; }
step 'node dist/main.js: refuses in one line to start without UPSTREAM_URL in production'

start node node dist/main.js
step "node dist/main.js: listening at $url"
probe "$url" || fail 'node dist/main.js did not answer'
step 'node dist/main.js: answered a query and GraphiQL'
stop node
step 'node dist/main.js: exited 0 on SIGTERM'

start npm-start WORKERS=2 npm start --silent
step "npm start, WORKERS=2, dist/ up to date: listening at $url"
probe "$url" || fail 'npm start did not answer'
# npm's shell execs node: the primary and both workers run the launcher, none tsx.
[[ $(pgrep -c -s "$server" -f 'scripts/start\.mjs') -eq 3 ]] || fail 'npm start: expected a primary and 2 workers running scripts/start.mjs'
if pgrep -s "$server" -f tsx >/dev/null; then fail 'npm start: a process runs tsx'; fi
step 'npm start: answered a query and GraphiQL from compiled workers'
stop npm-start
step 'npm start: exited 0 on SIGTERM'

# Changed content, not a newer time: start.mjs compares digests of the sources.
echo '// changed' >>src/main.ts
code=0
"${run_env[@]}" npm start --silent >"$scratch/stale.out" 2>"$scratch/stale.err" || code=$?
[[ $code -ne 0 ]] || fail 'npm start ran a stale dist/ without TypeScript'
grep -q 'cannot start: src/ changed since dist/ was built, and TypeScript is not installed' "$scratch/stale.err" ||
  { cat "$scratch/stale.err" >&2; fail 'npm start with a stale dist/: not the expected one-line error'; }
[[ $(wc -l <"$scratch/stale.err") -eq 1 ]] || { cat "$scratch/stale.err" >&2; fail 'npm start with a stale dist/: more than one line'; }
step 'npm start: refuses in one line to run a stale dist/ without TypeScript'

echo "check-production: passed in $(seconds_since "$began") s"
