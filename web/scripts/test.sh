#!/usr/bin/env bash
# Every check of the billing web app, in one entrypoint (the Makefile's web-test calls it):
#   setup (chromium, npm ci) → eslint → tsc → OpenAPI drift → Vitest (stories) → storybook build →
#   next build (each as the `npm run` command web/README.md documents) → Playwright e2e (Debian Chromium) against a stack started here on free ports,
#   with per-org Stripe test clocks (`--stripe-test-clocks`: each org's customer on its own clock, which a spec may move).
# The Rust function binaries must be built (`make build`); dev_stack.py runs an incremental
# `cargo build` itself. Everything listens on 127.0.0.1 and is stopped on exit.
#   WEB_TEST_SKIP_E2E=1   skip the end-to-end part
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$web/.." && pwd)"
cd "$web"
export NEXT_TELEMETRY_DISABLED=1 STORYBOOK_DISABLE_TELEMETRY=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
bin="$web/node_modules/.bin"
summary=()

step() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "── web-test: $name" >&2
  "$@"
  summary+=("$(printf '%-16s %4ss' "$name" $((SECONDS - start)))")
}

step setup bash "$repo/scripts/setup-web.sh"
step eslint nice -n 10 npm run lint
step tsc nice -n 10 npm run typecheck
step api-drift npm run check:api
step vitest nice -n 10 npm run test:unit
step storybook nice -n 10 npm run build-storybook
step next-build nice -n 10 npm run build

stack_pid=""
stop_stack() {
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$stack_pid" 2>/dev/null || true
  fi
}
trap stop_stack EXIT INT TERM

e2e() {
  local python="$repo/.venv/bin/python"
  [ -x "$python" ] || { echo "web-test: $python missing; run scripts/setup.sh (make setup) first" >&2; return 1; }
  local log_dir="$repo/.dev/logs/web-e2e" ready
  ready="$log_dir/ready"
  mkdir -p "$log_dir" test-results/screenshots
  rm -f "$ready"
  read -r api_port stripe_port moto_port watch_port web_port < <("$python" - <<'PY'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks:
    s.close()
PY
)
  echo "web-test: starting the stack (logs: $log_dir)" >&2
  setsid "$python" "$repo/scripts/dev_stack.py" --ready-file "$ready" --log-dir "$log_dir" \
    --api-port "$api_port" --stripe-port "$stripe_port" --moto-port "$moto_port" --watch-port "$watch_port" \
    --web-port "$web_port" --web-mode start --concurrency 2 --stripe-test-clocks >"$log_dir/dev-stack.log" 2>&1 &
  stack_pid=$!
  local deadline=$((SECONDS + 600))
  until [ -f "$ready" ]; do
    if ! kill -0 "$stack_pid" 2>/dev/null; then
      echo "web-test: the stack exited:" >&2
      tail -n 40 "$log_dir/dev-stack.log" >&2
      return 1
    fi
    if [ $SECONDS -gt $deadline ]; then
      echo "web-test: the stack was not ready after 600s" >&2
      tail -n 40 "$log_dir/dev-stack.log" >&2
      return 1
    fi
    sleep 0.5
  done
  E2E_WEB_URL="http://127.0.0.1:$web_port" E2E_STRIPE_URL="http://127.0.0.1:$stripe_port" \
    nice -n 10 "$bin/playwright" test
}

if [ "${WEB_TEST_SKIP_E2E:-0}" != "1" ]; then
  step e2e e2e
fi
stop_stack

echo "── web-test: passed" >&2
printf '   %s\n' "${summary[@]}" >&2
