# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # root, passed, … are for the sourcing script; it sets script_name
# Shared by scripts/smoke.sh and scripts/walkthrough.sh (sourced, not run): the paths the
# caller gives, the cleanup of the server and its temporary directory on exit, and the
# pass / fail lines. The sourcing script sets `script_name` (the prefix of its lines) first, and
# `server_pid`, `work_dir` and `server_log` once it has them.

orig_dir=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A path as given by the caller: absolute, or relative to the caller's directory; a bare name
# is left to PATH.
from_caller() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    */*) printf '%s\n' "$orig_dir/$1" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

passed=0
server_pid=
work_dir=
server_log=

cleanup() {
  local status=$?
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -n $work_dir ]]; then
    rm -rf "$work_dir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "$script_name: FAIL: $*" >&2
  if [[ -n $server_log && -f $server_log ]]; then
    echo "---- last 40 lines of the server log ($server_log) ----" >&2
    tail -n 40 "$server_log" >&2 || true
    echo "---- end of server log ----" >&2
  fi
  echo "$script_name: $passed passed, 1 failed"
  exit 1
}

pass() {
  passed=$((passed + 1))
  echo "$script_name: ok   $*"
}

# A TCP port on 127.0.0.1 that is free now.
free_port() {
  "$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
}
