#!/usr/bin/env bash
# The example front end, end to end as the README runs it: two local servers, the terminal
# chat sends to each, one server is switched off while the chat keeps writing, and when it is
# back every message is on its server exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -q --product outpost-sim
swift build -q --product outpost-chat
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
home_port=18765
work_port=18766
cleanup() {
  [ -n "${chat_pid:-}" ] && kill "$chat_pid" 2>/dev/null || true
  kill "$home_pid" "$work_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/outpost-sim" serve --port $home_port --name Home --demo-token demo > "$work/home.log" &
home_pid=$!
"$bin/outpost-sim" serve --port $work_port --name Work --demo-token demo > "$work/work.log" &
work_pid=$!

# Waits until a command's output contains a text (the servers and the chat run on their own).
wait_for() {
  local what=$1 text=$2; shift 2
  for _ in $(seq 1 300); do
    if "$@" 2>/dev/null | grep -q -- "$text"; then return 0; fi
    sleep 0.2
  done
  echo "example-smoke: timed out waiting for $what" >&2
  cat "$work/chat.log" >&2 || true
  exit 1
}
state() { curl -s "http://127.0.0.1:$1/control/state"; }

wait_for "the servers" '"messages": 0' state $work_port
wait_for "the servers" '"messages": 0' state $home_port

mkfifo "$work/input"
"$bin/outpost-chat" --data "$work/data" --passphrase smoke --token demo \
  --server "http://127.0.0.1:$home_port" --server "http://127.0.0.1:$work_port" < "$work/input" > "$work/chat.log" 2>&1 &
chat_pid=$!
exec 3> "$work/input"

# The chat numbers servers in the order of their ids (keyed hashes): look the numbers up.
wait_for "both servers connected" "Home: Connected" cat "$work/chat.log"
wait_for "both servers connected" "Work: Connected" cat "$work/chat.log"
echo "/servers" >&3
wait_for "the server list" "Work http" cat "$work/chat.log"
home_number=$(grep -o '\[[12]\] Home http' "$work/chat.log" | head -1 | tr -dc '12')
work_number=$(grep -o '\[[12]\] Work http' "$work/chat.log" | head -1 | tr -dc '12')

echo "/open $home_number family" >&3
echo "hello home" >&3
wait_for "the first message on Home" '"messages": 1' state $home_port
echo "/open $work_number work" >&3
echo "hello work" >&3
wait_for "the first message on Work" '"messages": 1' state $work_port

curl -s "http://127.0.0.1:$work_port/control/down?seconds=3600" > /dev/null
echo "written while Work is down 1" >&3
echo "written while Work is down 2" >&3
echo "/servers" >&3
wait_for "two messages waiting" "2 waiting to send" cat "$work/chat.log"
curl -s "http://127.0.0.1:$work_port/control/up" > /dev/null
wait_for "the queue drained" '"messages": 3' state $work_port
echo "/quit" >&3
exec 3>&-
wait "$chat_pid"
chat_pid=

state $home_port | grep -q '"messages": 1'
state $work_port | grep -q '"messages": 3'
echo "example-smoke: every message delivered exactly once"
