#!/usr/bin/env bash
# End-to-end smoke test of the all-in-one `rendezvous up`.
#
# Builds nothing: build first (`cargo build --locked -p rendezvous`), install the clients
# (`npm ci`; `pip install -r scripts/requirements-smoke.txt`), then run `bash scripts/smoke.sh`.
#
# Environment:
#   RENDEZVOUS_BIN  the rendezvous binary   (default target/debug/rendezvous)
#   BUF             the buf CLI             (default node_modules/.bin/buf)
#   PYTHON          Python with grpcio etc. (default python3)
# Relative paths given in these variables are taken from the caller's directory; the defaults
# from the repository root.
#
# Prints one line per check and ends with `smoke: N passed, 0 failed`; stops at the first
# failure with the reason and the tail of the server log, and exits non-zero.
set -euo pipefail

script_name=smoke
# shellcheck source=scripts/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
RENDEZVOUS_BIN=$(from_caller "${RENDEZVOUS_BIN:-$root/target/debug/rendezvous}")
BUF=$(from_caller "${BUF:-$root/node_modules/.bin/buf}")
PYTHON=$(from_caller "${PYTHON:-python3}")
cd "$root"

# Reads a field from the JSON document on stdin. The path is dotted (`member.display_name`);
# each key is tried as written and in lowerCamelCase (protobuf JSON names). Prints nothing for a
# missing field.
json_get() {
  "$PYTHON" -c '
import json, re, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
    if isinstance(value, dict):
        value = value.get(key, value.get(camel))
    else:
        value = None
    if value is None:
        sys.exit(0)
print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

# --- preconditions ------------------------------------------------------------------------
[[ -x $RENDEZVOUS_BIN ]] || command -v "$RENDEZVOUS_BIN" >/dev/null 2>&1 \
  || fail "no rendezvous binary at $RENDEZVOUS_BIN (run: cargo build --locked -p rendezvous)"
[[ -x $BUF ]] || command -v "$BUF" >/dev/null 2>&1 \
  || fail "no buf at $BUF (run: npm ci)"
command -v "$PYTHON" >/dev/null 2>&1 || fail "no python at $PYTHON"
"$PYTHON" -c 'import grpc, grpc_health.v1, grpc_reflection.v1alpha, google.protobuf' 2>/dev/null \
  || fail "$PYTHON lacks grpcio/grpcio-reflection/grpcio-health-checking/protobuf" \
    "(run: $PYTHON -m pip install -r scripts/requirements-smoke.txt, or set PYTHON to a venv's python)"

# --- start the server ---------------------------------------------------------------------
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/rendezvous-smoke.XXXXXX")
data_dir="$work_dir/data"
server_log="$work_dir/server.log"
port=$("$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
')
addr="127.0.0.1:$port"
url="http://$addr"
notifications_port=$("$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
')
notifications_addr="127.0.0.1:$notifications_port"
notifications_url="http://$notifications_addr"
events_port=$("$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
')
events_addr="127.0.0.1:$events_port"
events_url="http://$events_addr"
feed_port=$("$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
')

http_port=$("$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
')

echo "smoke: starting $RENDEZVOUS_BIN up on $addr (data in $data_dir)"
"$RENDEZVOUS_BIN" up --data-dir "$data_dir" --host 127.0.0.1 --members-port "$port" \
  --notifications-port "$notifications_port" --events-port "$events_port" \
  --feed-port "$feed_port" --notifications-http-port "$http_port" \
  >"$server_log" 2>&1 </dev/null &
server_pid=$!

# --- readiness ----------------------------------------------------------------------------
ready=
start=$SECONDS
while ((SECONDS - start < 30)); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && code=0 || code=$?
    server_pid=
    fail "rendezvous up exited (status $code) before it was ready"
  fi
  if "$RENDEZVOUS_BIN" health "$addr" --timeout-secs 1 >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.5
done
[[ -n $ready ]] || fail "rendezvous health $addr did not report SERVING within 30 s"
pass "rendezvous health $addr is SERVING after $((SECONDS - start)) s"

buf_curl() {
  "$BUF" curl --protocol grpc --http2-prior-knowledge "$@"
}

# --- reflection ---------------------------------------------------------------------------
services=$(buf_curl --list-services "$url" 2>&1) \
  || fail "buf curl --list-services (reflection v1) failed: $services"
for svc in rendezvous.members.v1.MemberService rendezvous.members.v1.MemberInternalService \
  grpc.health.v1.Health; do
  grep -qxF "$svc" <<<"$services" \
    || fail "reflection v1 does not list $svc; it lists: $(tr '\n' ' ' <<<"$services")"
done
pass "reflection v1 lists MemberService, MemberInternalService and grpc.health.v1.Health"

services=$(buf_curl --reflect-protocol grpc-v1alpha --list-services "$url" 2>&1) \
  || fail "buf curl --list-services (reflection v1alpha) failed: $services"
grep -qxF rendezvous.members.v1.MemberService <<<"$services" \
  || fail "reflection v1alpha does not list MemberService; it lists: $(tr '\n' ' ' <<<"$services")"
pass "reflection v1alpha lists MemberService"

# --- health over gRPC ---------------------------------------------------------------------
out=$(buf_curl --data '{}' "$url/grpc.health.v1.Health/Check" 2>&1) \
  || fail "grpc.health.v1.Health/Check failed: $out"
status=$(json_get status <<<"$out") || fail "Health/Check answered no JSON: $out"
[[ $status == SERVING ]] || fail "Health/Check status is '$status', want SERVING: $out"
pass "grpc.health.v1.Health/Check is SERVING"

# --- register, sign in, read the profile --------------------------------------------------
email="smoke-$port-$RANDOM@example.com"
password="correct horse battery staple"
name="Smoke Tester"
register_json=$(printf '{"email":"%s","password":"%s","display_name":"%s","city":"Paris","locale":"fr","time_zone":"Europe/Paris"}' \
  "$email" "$password" "$name")
out=$(buf_curl --data "$register_json" "$url/rendezvous.members.v1.MemberService/Register" 2>&1) \
  || fail "Register failed: $out"
member_id=$(json_get member.id <<<"$out") || fail "Register answered no JSON: $out"
register_token=$(json_get session.access_token <<<"$out")
[[ -n $member_id ]] || fail "Register returned no member id: $out"
[[ -n $register_token ]] || fail "Register returned no access token: $out"
pass "Register $email -> member $member_id with an access token"

login_json=$(printf '{"email":"%s","password":"%s"}' "$email" "$password")
out=$(buf_curl --data "$login_json" "$url/rendezvous.members.v1.MemberService/Login" 2>&1) \
  || fail "Login failed: $out"
token=$(json_get session.access_token <<<"$out") || fail "Login answered no JSON: $out"
login_id=$(json_get member.id <<<"$out")
[[ -n $token ]] || fail "Login returned no access token: $out"
[[ $login_id == "$member_id" ]] || fail "Login returned member '$login_id', want $member_id: $out"
pass "Login $email returns member $member_id and an access token"

out=$(buf_curl -H "authorization: Bearer $token" --data '{"id":"me"}' \
  "$url/rendezvous.members.v1.MemberService/GetMember" 2>&1) \
  || fail "GetMember(me) with the Login token failed: $out"
got_id=$(json_get member.id <<<"$out") || fail "GetMember answered no JSON: $out"
got_email=$(json_get member.email <<<"$out")
got_name=$(json_get member.display_name <<<"$out")
[[ $got_id == "$member_id" ]] || fail "GetMember(me) id is '$got_id', want $member_id: $out"
[[ $got_email == "$email" ]] || fail "GetMember(me) email is '$got_email', want $email: $out"
[[ $got_name == "$name" ]] || fail "GetMember(me) display name is '$got_name', want $name: $out"
pass "GetMember(me) returns id, email $got_email and display name '$got_name'"

# A wrong password must be refused as UNAUTHENTICATED.
bad_json=$(printf '{"email":"%s","password":"%s"}' "$email" "not the password")
if out=$(buf_curl --data "$bad_json" "$url/rendezvous.members.v1.MemberService/Login" 2>&1); then
  fail "Login with a wrong password succeeded: $out"
fi
grep -qi unauthenticated <<<"$out" || fail "Login with a wrong password: want UNAUTHENTICATED, got: $out"
pass "Login with a wrong password is UNAUTHENTICATED"

# --- notifications: the welcome reaches the inbox (through the outbox relay) and the mailbox
"$RENDEZVOUS_BIN" health "$notifications_addr" --timeout-secs 2 >/dev/null 2>&1 \
  || fail "the notifications service on $notifications_addr is not SERVING"
welcome=
for _ in $(seq 50); do
  out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
    "$notifications_url/rendezvous.notifications.v1.NotificationService/ListNotifications" 2>&1) \
    || fail "ListNotifications failed: $out"
  if grep -q NOTIFICATION_KIND_WELCOME <<<"$out"; then
    welcome=1
    break
  fi
  sleep 0.2
done
[[ -n $welcome ]] || fail "no welcome notification in the inbox after 10 s: $out"
pass "ListNotifications shows the welcome notification"

eml=
for _ in $(seq 50); do
  eml=$(grep -l -F "$email" "$data_dir"/emails/*.eml 2>/dev/null | head -1 || true)
  [[ -n $eml ]] && break
  sleep 0.2
done
[[ -n $eml ]] || fail "no .eml file for $email in $data_dir/emails after 10 s"
grep -q '^Message-ID: <' "$eml" || fail "$eml has no Message-ID"
grep -q '^List-Unsubscribe: <' "$eml" || fail "$eml has no List-Unsubscribe"
pass "the welcome email is in $data_dir/emails ($(basename "$eml"))"

# --- events: a member creates a chapter, anyone finds it by city (case-insensitive) --------
"$RENDEZVOUS_BIN" health "$events_addr" --timeout-secs 2 >/dev/null 2>&1 \
  || fail "the events service on $events_addr is not SERVING"
chapter_json='{"chapter":{"name":"Rendezvous Paris","city":"Paris","time_zone":"Europe/Paris"}}'
out=$(buf_curl -H "authorization: Bearer $token" --data "$chapter_json" \
  "$events_url/rendezvous.events.v1.ChapterService/CreateChapter" 2>&1) \
  || fail "CreateChapter failed: $out"
chapter_id=$(json_get chapter.id <<<"$out") || fail "CreateChapter answered no JSON: $out"
[[ -n $chapter_id ]] || fail "CreateChapter returned no chapter id: $out"
grep -qF "$member_id" <<<"$(json_get chapter.organizer_ids <<<"$out")" \
  || fail "CreateChapter did not make $member_id the organiser: $out"
out=$(buf_curl --data '{"city":"paris"}' \
  "$events_url/rendezvous.events.v1.ChapterService/ListChapters" 2>&1) \
  || fail "ListChapters failed: $out"
grep -qF "$chapter_id" <<<"$out" || fail "ListChapters(city paris) does not list $chapter_id: $out"
pass "CreateChapter 'Rendezvous Paris' ($chapter_id) and ListChapters(city \"paris\") lists it"

# --- an event in the chapter: publish, RSVP, and its calendar in a real iCalendar parser ----
# 08:30–10:00 Paris time a week from now, whatever the season.
read -r start_time end_time < <("$PYTHON" -c '
import datetime as d
from zoneinfo import ZoneInfo
day = d.date.today() + d.timedelta(days=8)
paris = ZoneInfo("Europe/Paris")
utc = lambda h, m: d.datetime.combine(day, d.time(h, m), paris).astimezone(d.timezone.utc)
print(utc(8, 30).strftime("%Y-%m-%dT%H:%M:%SZ"), utc(10, 0).strftime("%Y-%m-%dT%H:%M:%SZ"))
')
event_json=$(printf '{"event":{"chapter_id":"%s","title":"Café networking — Le Marais","kind":"EVENT_KIND_COFFEE","venue":{"name":"Café Charlot","address":"38 rue de Bretagne, Paris","latitude":48.8634,"longitude":2.3622},"start_time":"%s","end_time":"%s","time_zone":"Europe/Paris","capacity":20,"visibility":"EVENT_VISIBILITY_CHAPTER"},"request_id":"smoke-event"}' \
  "$chapter_id" "$start_time" "$end_time")
out=$(buf_curl -H "authorization: Bearer $token" --data "$event_json" \
  "$events_url/rendezvous.events.v1.EventService/CreateEvent" 2>&1) || fail "CreateEvent failed: $out"
event_id=$(json_get event.id <<<"$out") || fail "CreateEvent answered no JSON: $out"
[[ -n $event_id ]] || fail "CreateEvent returned no event id: $out"
out=$(buf_curl -H "authorization: Bearer $token" --data "{\"event_id\":\"$event_id\"}" \
  "$events_url/rendezvous.events.v1.EventService/PublishEvent" 2>&1) || fail "PublishEvent failed: $out"
out=$(buf_curl -H "authorization: Bearer $token" \
  --data "{\"event_id\":\"$event_id\",\"intent\":\"RSVP_INTENT_GOING\",\"visibility\":\"RSVP_VISIBILITY_ATTENDEES\"}" \
  "$events_url/rendezvous.events.v1.EventService/Rsvp" 2>&1) || fail "Rsvp failed: $out"
[[ $(json_get rsvp.status <<<"$out") == RSVP_STATUS_CONFIRMED ]] || fail "Rsvp is not confirmed: $out"
pass "CreateEvent, PublishEvent and Rsvp (confirmed) for event $event_id"

# The confirmation travels events → outbox → relay → notifications.
confirmed=
for _ in $(seq 50); do
  out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
    "$notifications_url/rendezvous.notifications.v1.NotificationService/ListNotifications" 2>&1) \
    || fail "ListNotifications failed: $out"
  if grep -q NOTIFICATION_KIND_RSVP_CONFIRMED <<<"$out"; then
    confirmed=1
    break
  fi
  sleep 0.2
done
[[ -n $confirmed ]] || fail "no RSVP_CONFIRMED notification from the events service after 10 s: $out"
pass "the RSVP confirmation reaches the inbox through the events outbox"

out=$(buf_curl -H "authorization: Bearer $token" --data "{\"event_id\":\"$event_id\"}" \
  "$events_url/rendezvous.events.v1.EventService/ExportEventCalendar" 2>&1) \
  || fail "ExportEventCalendar failed: $out"
json_get ics <<<"$out" | "$PYTHON" -c '
import base64, sys
import icalendar
cal = icalendar.Calendar.from_ical(base64.b64decode(sys.stdin.read()))
events = [c for c in cal.walk("VEVENT")]
assert len(events) == 1, events
start = events[0].decoded("DTSTART")
assert str(start.tzinfo) in ("Europe/Paris", "CET", "CEST") or start.utcoffset() is not None, start
assert start.hour == 8 and start.minute == 30, start
assert "Café networking" in str(events[0].get("SUMMARY")), events[0].get("SUMMARY")
' || fail "the exported .ics does not parse with icalendar or has the wrong start"
pass "ExportEventCalendar parses with Python icalendar (08:30 Europe/Paris)"

out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
  "$events_url/rendezvous.events.v1.EventService/CreateCalendarFeed" 2>&1) \
  || fail "CreateCalendarFeed failed: $out"
feed_url=$(json_get feed.url <<<"$out")
[[ $feed_url == http*"/calendar/"*.ics ]] || fail "CreateCalendarFeed returned no feed URL: $out"
feed_url="http://127.0.0.1:$feed_port/calendar/${feed_url##*/calendar/}"
"$PYTHON" -c '
import sys, urllib.request
import icalendar
body = urllib.request.urlopen(sys.argv[1], timeout=10).read()
cal = icalendar.Calendar.from_ical(body)
assert any(str(e.get("UID", "")).startswith(sys.argv[2]) for e in cal.walk("VEVENT")), body[:400]
' "$feed_url" "$event_id" || fail "the calendar feed at $feed_url does not list the event"
pass "the calendar feed serves the event over HTTP"

# --- the Python client (grpcio, reflection v1alpha, no generated stubs) -------------------
if out=$("$PYTHON" scripts/smoke_client.py "$addr" 2>&1); then
  printf '%s\n' "$out" | sed 's/^/  /'
else
  printf '%s\n' "$out" | sed 's/^/  /' >&2
  fail "python3 scripts/smoke_client.py $addr failed (see above)"
fi
pass "scripts/smoke_client.py $addr"

# --- one-click unsubscribe (RFC 8058) from the welcome email's header -------------------
unsubscribe_url=$(sed -nE 's/^List-Unsubscribe: <(.*)>\r?$/\1/p' "$eml" | head -1)
[[ $unsubscribe_url == http://*"/unsubscribe?token="* ]] \
  || fail "the welcome email's List-Unsubscribe is no http link: $unsubscribe_url"
grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$eml" \
  || fail "$eml has no List-Unsubscribe-Post"
"$PYTHON" -c '
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], data=b"List-Unsubscribe=One-Click", method="POST",
    headers={"Content-Type": "application/x-www-form-urlencoded"})
assert urllib.request.urlopen(request, timeout=10).status == 200
' "$unsubscribe_url" || fail "POST $unsubscribe_url (one-click unsubscribe) failed"
out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
  "$notifications_url/rendezvous.notifications.v1.NotificationService/GetPreferences" 2>&1) \
  || fail "GetPreferences failed: $out"
"$PYTHON" -c '
import json, sys
prefs = json.load(sys.stdin)["preferences"]["channelPreferences"]
welcome = [p for p in prefs if p["kind"] == "NOTIFICATION_KIND_WELCOME" and p["channel"] == "CHANNEL_EMAIL"]
assert welcome and not welcome[0].get("enabled", False), welcome
' <<<"$out" || fail "after the one-click POST, welcome emails are still on: $out"
pass "the welcome email's one-click unsubscribe link turns welcome emails off"

# --- export, then erasure everywhere -----------------------------------------------------
out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
  "$url/rendezvous.members.v1.MemberService/ExportMemberData" 2>&1) \
  || fail "ExportMemberData failed: $out"
json_get data <<<"$out" | "$PYTHON" -c '
import base64, json, sys
doc = json.loads(base64.b64decode(sys.stdin.read()))
assert doc["profile"]["id"] == sys.argv[1], doc["profile"]
assert any(r["event_id"] == sys.argv[2] for r in doc["events"]["rsvps"]), doc["events"]
assert doc["notifications"]["inbox"], doc["notifications"]
' "$member_id" "$event_id" || fail "the export lacks a part: $out"
pass "ExportMemberData holds the members, events (the RSVP) and notifications (the inbox) parts"

out=$(buf_curl -H "authorization: Bearer $token" --data '{"id":"me"}' \
  "$url/rendezvous.members.v1.MemberService/DeleteMember" 2>&1) || fail "DeleteMember failed: $out"
out=$(buf_curl -H "authorization: Bearer $token" --data '{"id":"me"}' \
  "$url/rendezvous.members.v1.MemberService/GetMember" 2>&1) \
  && fail "members still accepts the deleted member's token: $out"
grep -qi unauthenticated <<<"$out" || fail "GetMember after DeleteMember: want UNAUTHENTICATED, got: $out"
erased=
for _ in $(seq 50); do
  events_out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
    "$events_url/rendezvous.events.v1.EventService/ListMyEvents" 2>&1) || true
  inbox_out=$(buf_curl -H "authorization: Bearer $token" --data '{}' \
    "$notifications_url/rendezvous.notifications.v1.NotificationService/ListNotifications" 2>&1) || true
  feed_status=$("$PYTHON" -c '
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
' "$feed_url")
  if grep -qi unauthenticated <<<"$events_out" && grep -qi unauthenticated <<<"$inbox_out" \
    && [[ $feed_status == 404 ]]; then
    erased=1
    break
  fi
  sleep 0.2
done
[[ -n $erased ]] || fail "10 s after DeleteMember: events said '$events_out', notifications '$inbox_out', the feed $feed_status"
pass "DeleteMember: the token is refused by all three services and the calendar feed is gone"

kill -0 "$server_pid" 2>/dev/null || fail "the server died during the smoke test"
pass "the server is still running"

echo "smoke: $passed passed, 0 failed"
