#!/usr/bin/env bash
# The story of PRODUCT.md walked through with grpcurl against `rendezvous up`.
#
# Builds nothing: build first (`cargo build --locked -p rendezvous`) and install grpcurl 1.8.6
# (see README, "The story with grpcurl"), then run `bash scripts/walkthrough.sh`.
#
# Environment:
#   RENDEZVOUS_BIN  the rendezvous binary              (default target/debug/rendezvous)
#   GRPCURL         grpcurl                            (default grpcurl, from PATH)
#   PYTHON          Python 3, to read the JSON answers (default python3)
# Relative paths given in these variables are taken from the caller's directory; the defaults
# from the repository root.
#
# Every step prints the grpcurl command it runs (`$ grpcurl …`, with the tokens, ids and times
# shown as the shell variables the README uses) and checks the answer. Ends with
# `walkthrough: N steps passed`; stops at the first failure with the reason and the tail of the
# server log, and exits non-zero.
set -euo pipefail

script_name=walkthrough
# shellcheck source=scripts/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
RENDEZVOUS_BIN=$(from_caller "${RENDEZVOUS_BIN:-$root/target/debug/rendezvous}")
GRPCURL=$(from_caller "${GRPCURL:-grpcurl}")
PYTHON=$(from_caller "${PYTHON:-python3}")
cd "$root"

# A step of the story, printed as a comment before its commands (the README shows them so).
story() {
  echo
  echo "# $*"
}

# Checks the JSON document on stdin with a Python expression over `d` (the document) and
# `a` (the further arguments); exits non-zero when the expression is false or fails.
# `get(obj, "a.b")` reads a dotted path, trying each key as written and in lowerCamelCase.
check() {
  local expr=$1
  shift
  "$PYTHON" -c '
import json, re, sys
def get(value, path):
    for key in path.split("."):
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
        if not isinstance(value, dict):
            return None
        value = value.get(key, value.get(camel))
    return value
d = json.load(sys.stdin)
a = sys.argv[2:]
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$expr" "$@"
}

# Prints one field of the JSON document on stdin (dotted path, as in `check`); nothing if
# it is missing.
field() {
  "$PYTHON" -c '
import json, re, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
    value = value.get(key, value.get(camel)) if isinstance(value, dict) else None
    if value is None:
        sys.exit(0)
print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

# Values the printed commands show as shell variables rather than as they are: a list of
# variable names; `shown` replaces each one's value, where it is a whole JSON string
# ("value"), by "$NAME".
shown_vars=()
show_as() {
  shown_vars+=("$@")
}
shown() {
  local text=$1 name
  for name in "${shown_vars[@]}"; do
    text=${text//"\"${!name}\""/"\"\$$name\""}
  done
  printf '%s' "$text"
}

# keep VAR PATH: keeps the field PATH of the answer in $out as $VAR (failing when it is
# missing), and shows it as $VAR in the printed commands from then on.
keep() {
  local value
  value=$(field "$2" <<<"$out")
  [[ -n $value ]] || fail "no $2 in the answer: $out"
  printf -v "$1" '%s' "$value"
  show_as "$1"
}

# grpc TOKEN_VAR ADDR_VAR METHOD JSON: calls METHOD on the service at ${!ADDR_VAR} as the
# member whose access token is ${!TOKEN_VAR} (no token if TOKEN_VAR is empty), prints the
# command (unless `quiet=1`), and leaves grpcurl's output (stdout and stderr) in $out.
# Returns grpcurl's status.
out=
quiet=
grpc() {
  local token_var=$1 addr_var=$2 method=$3 data=$4
  local args=(-plaintext -max-time 10) line="grpcurl -plaintext -max-time 10"
  if [[ -n $token_var ]]; then
    args+=(-H "authorization: Bearer ${!token_var}")
    line+=" -H \"authorization: Bearer \$$token_var\""
  fi
  args+=(-d "$data" "${!addr_var}" "$method")
  local data_shown
  data_shown=$(shown "$data")
  if [[ $data_shown == "$data" ]]; then
    line+=" -d '$data'"
  else
    line+=" -d \"${data_shown//\"/\\\"}\""
  fi
  line+=" \$$addr_var $method"
  [[ -n $quiet ]] || echo "\$ $line"
  out=$("$GRPCURL" "${args[@]}" 2>&1)
}

# poll TOKEN_VAR KIND: polls the inbox of TOKEN_VAR's member (10 s at most) until it holds a
# notification of KIND; prints the ListNotifications command once. Leaves the inbox in $out.
poll_inbox() {
  local token_var=$1 kind=$2
  grpc "$token_var" NOTIFICATIONS rendezvous.notifications.v1.NotificationService/ListNotifications '{}' \
    || fail "ListNotifications as \$$token_var failed: $out"
  for _ in $(seq 50); do
    grep -q "\"$kind\"" <<<"$out" && return 0
    sleep 0.2
    quiet=1 grpc "$token_var" NOTIFICATIONS rendezvous.notifications.v1.NotificationService/ListNotifications '{}' \
      || fail "ListNotifications as \$$token_var failed: $out"
  done
  fail "no $kind in the inbox of \$$token_var after 10 s: $out"
}



# An instant as RFC 3339 UTC, SECONDS from now.
at() {
  "$PYTHON" -c '
import datetime as d, sys
t = d.datetime.now(d.timezone.utc).replace(microsecond=0) + d.timedelta(seconds=int(sys.argv[1]))
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
' "$1"
}

# --- preconditions ------------------------------------------------------------------------
[[ -x $RENDEZVOUS_BIN ]] || command -v "$RENDEZVOUS_BIN" >/dev/null 2>&1 \
  || fail "no rendezvous binary at $RENDEZVOUS_BIN (run: cargo build --locked -p rendezvous)"
command -v "$PYTHON" >/dev/null 2>&1 || fail "no python at $PYTHON"
[[ -x $GRPCURL ]] || command -v "$GRPCURL" >/dev/null 2>&1 \
  || fail "no grpcurl at $GRPCURL (see README, \"The story with grpcurl\", or set GRPCURL)"
grpcurl_version=$("$GRPCURL" -version 2>&1) || fail "$GRPCURL -version failed: $grpcurl_version"
echo "walkthrough: using $grpcurl_version"

# --- start the server ---------------------------------------------------------------------
# With WALKTHROUGH_EXTERNAL=1 and MEMBERS, EVENTS and NOTIFICATIONS (host:port) given, it walks
# through a stack already running (scripts/stack3.py: three processes on PostgreSQL).
ready=
if [[ ${WALKTHROUGH_EXTERNAL:-} == 1 ]]; then
  [[ -n ${MEMBERS:-} && -n ${EVENTS:-} && -n ${NOTIFICATIONS:-} ]] \
    || fail "WALKTHROUGH_EXTERNAL=1 needs MEMBERS, EVENTS and NOTIFICATIONS"
  echo "walkthrough: against the running stack MEMBERS=$MEMBERS EVENTS=$EVENTS NOTIFICATIONS=$NOTIFICATIONS"
  ready=1
else
  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/rendezvous-walkthrough.XXXXXX")
  data_dir="$work_dir/data"
  server_log="$work_dir/server.log"
  # The ports are free when picked, but another process on the machine may take one before the
  # server binds it: a server that exits before it is ready is started again on new ports (three
  # tries), with the reason shown.
  ready=
  for attempt in 1 2 3; do
    members_port=$(free_port)
    events_port=$(free_port)
    notifications_port=$(free_port)
    feed_port=$(free_port)
    http_port=$(free_port)
    MEMBERS="127.0.0.1:$members_port"
    EVENTS="127.0.0.1:$events_port"
    NOTIFICATIONS="127.0.0.1:$notifications_port"

    echo "walkthrough: starting $RENDEZVOUS_BIN up (data in $data_dir)"
    echo "walkthrough: MEMBERS=$MEMBERS EVENTS=$EVENTS NOTIFICATIONS=$NOTIFICATIONS"
    "$RENDEZVOUS_BIN" up --data-dir "$data_dir" --host 127.0.0.1 --members-port "$members_port" \
      --events-port "$events_port" --notifications-port "$notifications_port" \
      --feed-port "$feed_port" --notifications-http-port "$http_port" \
      >"$server_log" 2>&1 </dev/null &
    server_pid=$!

    start=$SECONDS
    while ((SECONDS - start < 30)); do
      if ! kill -0 "$server_pid" 2>/dev/null; then
        wait "$server_pid" && code=0 || code=$?
        server_pid=
        reason=$(grep -m 3 -iE 'error|address in use' "$server_log" || true)
        ((attempt < 3)) || fail "rendezvous up exited (status $code) before it was ready: $reason"
        echo "walkthrough: rendezvous up exited (status $code) before it was ready, trying again: $reason"
        break
      fi
      if "$RENDEZVOUS_BIN" health "$MEMBERS" --timeout-secs 1 >/dev/null 2>&1 \
        && "$RENDEZVOUS_BIN" health "$EVENTS" --timeout-secs 1 >/dev/null 2>&1 \
        && "$RENDEZVOUS_BIN" health "$NOTIFICATIONS" --timeout-secs 1 >/dev/null 2>&1; then
        ready=1
        break
      fi
      sleep 0.5
    done
    [[ -n $ready || -n $server_pid ]] || continue
    break
  done
fi
[[ -n $ready ]] || fail "the three services were not SERVING within 30 s"

story "reflection (v1alpha, which grpcurl speaks) lists the services"
echo "\$ grpcurl -plaintext \$MEMBERS list"
out=$("$GRPCURL" -plaintext "$MEMBERS" list 2>&1) || fail "grpcurl list failed: $out"
grep -qxF rendezvous.members.v1.MemberService <<<"$out" \
  || fail "grpcurl list does not show MemberService: $out"
echo "\$ grpcurl -plaintext \$EVENTS list"
out=$("$GRPCURL" -plaintext "$EVENTS" list 2>&1) || fail "grpcurl list failed: $out"
grep -qxF rendezvous.events.v1.EventService <<<"$out" \
  || fail "grpcurl list does not show EventService: $out"
pass "grpcurl list shows the members and events services over reflection"

# What `keep` fills in from the answers, named as in the README (the tokens are read as
# ${!token_var} in grpc).
# shellcheck disable=SC2034
ANNA='' ANNA_ID='' BRUNO='' BRUNO_ID='' CHLOE='' CHLOE_ID='' DAN='' DAN_ID=''
REQUEST='' CHAPTER='' EVENT='' ETAG='' CODE=''
KARIM='' KARIM_ID='' KARIM_REQUEST='' COFFEE='' SLOT='' COFFEE_EVENT=''

# --- 1. Anna, Bruno, Chloé (and Dan) register ----------------------------------------------
story "1. Anna, Bruno, Chloé and Dan register (fr / en); keep session.accessToken as \$ANNA, \$BRUNO, \$CHLOE, \$DAN and member.id as \$ANNA_ID, \$BRUNO_ID, …"
password="correct horse battery staple"
# register NAME LOCALE: sets ${NAME^^} (the access token, the name in ASCII) and ${NAME^^}_ID.
register() {
  local display=$1 locale=$2 ascii email
  ascii=$(printf '%s' "$display" | "$PYTHON" -c 'import sys, unicodedata; print(unicodedata.normalize("NFKD", sys.stdin.read()).encode("ascii", "ignore").decode().lower())')
  email="$ascii@example.com"
  grpc "" MEMBERS rendezvous.members.v1.MemberService/Register \
    "{\"email\":\"$email\",\"password\":\"$password\",\"display_name\":\"$display\",\"city\":\"Paris\",\"locale\":\"$locale\",\"time_zone\":\"Europe/Paris\"}" \
    || fail "Register $display failed: $out"
  check 'get(d, "member.locale") == a[0] and get(d, "member.display_name") == a[1]' "$locale" "$display" <<<"$out" \
    || fail "Register $display did not keep the locale $locale: $out"
  keep "${ascii^^}" session.access_token
  keep "${ascii^^}_ID" member.id
  pass "Register $display ($locale) -> member $(field member.id <<<"$out") with an access token"
}
register Anna fr
register Bruno en
register Chloé fr
register Dan en

# --- Anna and Bruno connect --------------------------------------------------------------
story "Anna asks Bruno to connect; Bruno accepts (keep connectionRequest.id as \$REQUEST)"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/RequestConnection \
  "{\"member_id\":\"$BRUNO_ID\",\"note\":\"Coffee in Paris?\"}" || fail "RequestConnection failed: $out"
keep REQUEST connection_request.id
check 'get(d, "connection_request.state") == "CONNECTION_REQUEST_STATE_PENDING"' <<<"$out" \
  || fail "the connection request is not pending: $out"
grpc BRUNO MEMBERS rendezvous.members.v1.MemberService/RespondToConnectionRequest \
  "{\"connection_request_id\":\"$REQUEST\",\"accept\":true}" || fail "RespondToConnectionRequest failed: $out"
check 'get(d, "connection_request.state") == "CONNECTION_REQUEST_STATE_ACCEPTED"' <<<"$out" \
  || fail "Bruno's answer did not accept the request: $out"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/ListConnections '{}' || fail "ListConnections failed: $out"
check '[c["memberId"] for c in d.get("connections", [])] == [a[0]]' "$BRUNO_ID" <<<"$out" \
  || fail "Anna's connections are not exactly Bruno: $out"
pass "Anna and Bruno are connected"

# --- 2. the chapter and the event ---------------------------------------------------------
story "2. Anna creates the chapter (keep chapter.id as \$CHAPTER); Bruno, Chloé and Dan join it"
grpc ANNA EVENTS rendezvous.events.v1.ChapterService/CreateChapter \
  '{"chapter":{"name":"Rendezvous Paris","city":"Paris","time_zone":"Europe/Paris"},"request_id":"paris-1"}' \
  || fail "CreateChapter failed: $out"
keep CHAPTER chapter.id
for who in BRUNO CHLOE DAN; do
  grpc "$who" EVENTS rendezvous.events.v1.ChapterService/JoinChapter "{\"chapter_id\":\"$CHAPTER\"}" \
    || fail "JoinChapter as $who failed: $out"
done
grpc "" EVENTS rendezvous.events.v1.ChapterService/GetChapter "{\"chapter_id\":\"$CHAPTER\"}" \
  || fail "GetChapter failed: $out"
check 'get(d, "chapter.member_count") == 4 and get(d, "chapter.organizer_ids") == [a[0]]' "$ANNA_ID" <<<"$out" \
  || fail "the chapter does not have 4 members with Anna organising: $out"
pass "chapter Rendezvous Paris ($CHAPTER): Anna organises, 4 members"

story "Anna schedules the coffee 26 h from now, capacity 3, for the chapter (keep event.id as \$EVENT, and after each change event.etag as \$ETAG), and publishes it"
START=$(at $((26 * 3600)))
END=$(at $((26 * 3600 + 90 * 60)))
show_as START END
grpc ANNA EVENTS rendezvous.events.v1.EventService/CreateEvent \
  "{\"event\":{\"chapter_id\":\"$CHAPTER\",\"title\":\"Café networking — Le Marais\",\"kind\":\"EVENT_KIND_COFFEE\",\"venue\":{\"name\":\"Café Charlot\",\"address\":\"38 rue de Bretagne, Paris\",\"latitude\":48.8634,\"longitude\":2.3622},\"start_time\":\"$START\",\"end_time\":\"$END\",\"time_zone\":\"Europe/Paris\",\"capacity\":3,\"visibility\":\"EVENT_VISIBILITY_CHAPTER\"},\"request_id\":\"marais-1\"}" \
  || fail "CreateEvent failed: $out"
keep EVENT event.id
check 'get(d, "event.state") == "EVENT_STATE_DRAFT" and get(d, "event.start_time") == a[0]' "$START" <<<"$out" \
  || fail "the new event is not a draft starting at $START: $out"
keep ETAG event.etag
grpc ANNA EVENTS rendezvous.events.v1.EventService/PublishEvent "{\"event_id\":\"$EVENT\",\"etag\":\"$ETAG\"}" \
  || fail "PublishEvent failed: $out"
check 'get(d, "event.state") == "EVENT_STATE_PUBLISHED"' <<<"$out" || fail "the event is not published: $out"
ETAG=$(field event.etag <<<"$out")
pass "Café networking — Le Marais ($EVENT) is published, starting $START"

# --- 3. invitations -----------------------------------------------------------------------
story "3. Anna invites the chapter; each member finds the invitation in their inbox"
grpc ANNA EVENTS rendezvous.events.v1.EventService/InviteMembers "{\"event_id\":\"$EVENT\",\"chapter_id\":\"$CHAPTER\"}" \
  || fail "InviteMembers failed: $out"
check 'get(d, "invited_count") == 3' <<<"$out" || fail "InviteMembers did not invite the 3 other members: $out"
poll_inbox BRUNO NOTIFICATION_KIND_EVENT_INVITATION
check 'any(n["kind"] == "NOTIFICATION_KIND_EVENT_INVITATION" and get(n, "notice.event_invitation.event.event_id") == a[0] for n in d["notifications"])' "$EVENT" <<<"$out" \
  || fail "Bruno's invitation is not about $EVENT: $out"
pass "InviteMembers invited 3; Bruno's inbox holds the invitation"

# --- 4. RSVPs: three seats, Dan on the wait-list ------------------------------------------
story "4. Anna, Bruno and Chloé RSVP going and are confirmed; Dan, fourth, is wait-listed"
for who in ANNA BRUNO CHLOE; do
  grpc "$who" EVENTS rendezvous.events.v1.EventService/Rsvp \
    "{\"event_id\":\"$EVENT\",\"intent\":\"RSVP_INTENT_GOING\",\"visibility\":\"RSVP_VISIBILITY_ATTENDEES\"}" \
    || fail "Rsvp as $who failed: $out"
  check 'get(d, "rsvp.status") == "RSVP_STATUS_CONFIRMED"' <<<"$out" || fail "$who is not confirmed: $out"
done
grpc DAN EVENTS rendezvous.events.v1.EventService/Rsvp \
  "{\"event_id\":\"$EVENT\",\"intent\":\"RSVP_INTENT_GOING\",\"visibility\":\"RSVP_VISIBILITY_ATTENDEES\"}" \
  || fail "Rsvp as DAN failed: $out"
check 'get(d, "rsvp.status") == "RSVP_STATUS_WAITLISTED" and get(d, "rsvp.waitlist_position") == 1' <<<"$out" \
  || fail "Dan is not wait-listed first: $out"
grpc ANNA EVENTS rendezvous.events.v1.EventService/GetAttendanceSummary "{\"event_id\":\"$EVENT\"}" \
  || fail "GetAttendanceSummary failed: $out"
check 'get(d, "summary.confirmed_count") == 3 and get(d, "summary.waitlisted_count") == 1' <<<"$out" \
  || fail "the summary is not 3 confirmed, 1 wait-listed: $out"
poll_inbox DAN NOTIFICATION_KIND_RSVP_WAITLISTED
pass "3 confirmed (capacity 3), Dan wait-listed at position 1 and told so"

# --- 4b. the reminders are scheduled -------------------------------------------------------
story "4b. Bruno's RSVP shows his reminders: 24 h and 2 h before the start (rendezvous up's default offsets)"
# The time `$1` less `$2` seconds, as the API writes times.
before() {
  "$PYTHON" -c '
import datetime as d, sys
t = d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ") - d.timedelta(seconds=int(sys.argv[2]))
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
' "$1" "$2"
}
grpc BRUNO EVENTS rendezvous.events.v1.EventService/GetRsvp "{\"event_id\":\"$EVENT\"}" \
  || fail "GetRsvp as BRUNO failed: $out"
check 'sorted(get(d, "rsvp.reminder_times") or []) == sorted(a)' \
  "$(before "$START" 86400)" "$(before "$START" 7200)" <<<"$out" \
  || fail "Bruno's reminders are not 24 h and 2 h before $START: $out"
pass "Bruno will be reminded at $(before "$START" 86400) and $(before "$START" 7200)"

# --- 5. Anna moves the start --------------------------------------------------------------
story "5. Anna moves the start 30 minutes later (the mask as {\"paths\":[…]}: grpcurl's JSON reader); everyone else who RSVP'd is told"
NEW_START=$(at $((26 * 3600 + 30 * 60)))
NEW_END=$(at $((26 * 3600 + 120 * 60)))
show_as NEW_START NEW_END
grpc ANNA EVENTS rendezvous.events.v1.EventService/UpdateEvent \
  "{\"event\":{\"id\":\"$EVENT\",\"etag\":\"$ETAG\",\"start_time\":\"$NEW_START\",\"end_time\":\"$NEW_END\"},\"update_mask\":{\"paths\":[\"start_time\",\"end_time\"]}}" \
  || fail "UpdateEvent failed: $out"
check 'get(d, "event.start_time") == a[0] and get(d, "event.end_time") == a[1]' "$NEW_START" "$NEW_END" <<<"$out" \
  || fail "UpdateEvent did not move the event to $NEW_START: $out"
ETAG=$(field event.etag <<<"$out")
for who in BRUNO CHLOE DAN; do
  poll_inbox "$who" NOTIFICATION_KIND_EVENT_UPDATED
  check 'any(n["kind"] == "NOTIFICATION_KIND_EVENT_UPDATED" and get(n, "notice.event_updated.time_changed") and get(n, "notice.event_updated.event.start_time") == a[0] and get(n, "notice.event_updated.previous.start_time") == a[1] for n in d["notifications"])' \
    "$NEW_START" "$START" <<<"$out" || fail "$who's EVENT_UPDATED does not say $START -> $NEW_START: $out"
done
pass "UpdateEvent moved the start to $NEW_START; Bruno, Chloé and Dan (wait-listed) are told"
grpc BRUNO EVENTS rendezvous.events.v1.EventService/GetRsvp "{\"event_id\":\"$EVENT\"}" \
  || fail "GetRsvp as BRUNO failed: $out"
check 'sorted(get(d, "rsvp.reminder_times") or []) == sorted(a)' \
  "$(before "$NEW_START" 86400)" "$(before "$NEW_START" 7200)" <<<"$out" \
  || fail "Bruno's reminders did not follow the new start $NEW_START: $out"
pass "his reminders follow the new start: $(before "$NEW_START" 86400) and $(before "$NEW_START" 7200)"

# --- 5b. want to meet (story step 10): a one-sided mark is never shown; two marks tell both ---
story "5b. Bruno quietly marks Chloé, a confirmed attendee, as someone he hopes to meet (markedMemberIds [\$CHLOE_ID], no mutualMemberIds, marksLeft 9); Chloé's own list shows nothing of it"
grpc BRUNO EVENTS rendezvous.events.v1.EventService/MarkWantToMeet "{\"event_id\":\"$EVENT\",\"member_id\":\"$CHLOE_ID\"}" \
  || fail "MarkWantToMeet of Chloé as BRUNO failed: $out"
check 'get(d, "want_to_meet.event_id") == a[0] and get(d, "want_to_meet.marked_member_ids") == [a[1]] and not get(d, "want_to_meet.mutual_member_ids") and get(d, "want_to_meet.marks_left") == 9' \
  "$EVENT" "$CHLOE_ID" <<<"$out" || fail "Bruno's mark: want Chloé marked, nothing mutual, 9 marks left: $out"
grpc CHLOE EVENTS rendezvous.events.v1.EventService/ListWantToMeet "{\"event_id\":\"$EVENT\"}" \
  || fail "ListWantToMeet as CHLOE failed: $out"
check 'get(d, "want_to_meet.event_id") == a[0] and not get(d, "want_to_meet.marked_member_ids") and not get(d, "want_to_meet.mutual_member_ids") and get(d, "want_to_meet.marks_left") == 10 and a[1] not in json.dumps(d)' \
  "$EVENT" "$BRUNO_ID" <<<"$out" || fail "Chloé's list shows something of Bruno's one-sided mark: $out"
pass "MarkWantToMeet: Bruno marked Chloé (9 marks left); Chloé's ListWantToMeet shows no mark and nothing mutual"

story "Chloé marks Bruno too: the answer shows him as mutual; both are told (WANT_TO_MEET_MUTUAL, each in their language), and Bruno's list shows her as mutual"
grpc CHLOE EVENTS rendezvous.events.v1.EventService/MarkWantToMeet "{\"event_id\":\"$EVENT\",\"member_id\":\"$BRUNO_ID\"}" \
  || fail "MarkWantToMeet of Bruno as CHLOE failed: $out"
check 'get(d, "want_to_meet.marked_member_ids") == [a[0]] and get(d, "want_to_meet.mutual_member_ids") == [a[0]] and get(d, "want_to_meet.marks_left") == 9' \
  "$BRUNO_ID" <<<"$out" || fail "Chloé's mark: want Bruno marked and mutual, 9 marks left: $out"
poll_inbox CHLOE NOTIFICATION_KIND_WANT_TO_MEET_MUTUAL
check 'any(n["kind"] == "NOTIFICATION_KIND_WANT_TO_MEET_MUTUAL" and get(n, "notice.want_to_meet_mutual.member.member_id") == a[0] and get(n, "notice.want_to_meet_mutual.event.event_id") == a[1] and n.get("title") == a[2] for n in d["notifications"])' \
  "$BRUNO_ID" "$EVENT" "Bruno espère aussi vous rencontrer à Café networking — Le Marais" <<<"$out" \
  || fail "Chloé (fr) has no WANT_TO_MEET_MUTUAL naming Bruno, in French, at $EVENT: $out"
poll_inbox BRUNO NOTIFICATION_KIND_WANT_TO_MEET_MUTUAL
check 'any(n["kind"] == "NOTIFICATION_KIND_WANT_TO_MEET_MUTUAL" and get(n, "notice.want_to_meet_mutual.member.member_id") == a[0] and get(n, "notice.want_to_meet_mutual.event.event_id") == a[1] and n.get("title") == a[2] for n in d["notifications"])' \
  "$CHLOE_ID" "$EVENT" "Chloé also hopes to meet you at Café networking — Le Marais" <<<"$out" \
  || fail "Bruno (en) has no WANT_TO_MEET_MUTUAL naming Chloé, in English, at $EVENT: $out"
grpc BRUNO EVENTS rendezvous.events.v1.EventService/ListWantToMeet "{\"event_id\":\"$EVENT\"}" \
  || fail "ListWantToMeet as BRUNO failed: $out"
check 'get(d, "want_to_meet.marked_member_ids") == [a[0]] and get(d, "want_to_meet.mutual_member_ids") == [a[0]]' \
  "$CHLOE_ID" <<<"$out" || fail "Bruno's list does not show Chloé as mutual: $out"
pass "Chloé marked Bruno back: mutual; each told in their language (fr, en) and each lists the other as mutual"

# --- 6. check-in --------------------------------------------------------------------------
# Check-in opens an hour before the start and CompleteEvent needs a started event: the
# walkthrough cannot wait a day, so Anna brings the coffee forward to start in 10 s.
story "6. (the walkthrough cannot wait a day: Anna brings the start forward to 10 s from now, which opens check-in)"
SOON=$(at 10)
SOON_END=$(at $((10 + 90 * 60)))
show_as SOON SOON_END
grpc ANNA EVENTS rendezvous.events.v1.EventService/UpdateEvent \
  "{\"event\":{\"id\":\"$EVENT\",\"etag\":\"$ETAG\",\"start_time\":\"$SOON\",\"end_time\":\"$SOON_END\"},\"update_mask\":{\"paths\":[\"start_time\",\"end_time\"]}}" \
  || fail "UpdateEvent (to start soon) failed: $out"
check 'get(d, "event.start_time") == a[0]' "$SOON" <<<"$out" || fail "the event does not start at $SOON: $out"

story "At the café: Anna reads the check-in code (keep code as \$CODE); Anna and Bruno check in with it; Anna checks Chloé in by member id; Dan, wait-listed, cannot"
grpc ANNA EVENTS rendezvous.events.v1.EventService/GetCheckInCode "{\"event_id\":\"$EVENT\"}" \
  || fail "GetCheckInCode failed: $out"
keep CODE code
[[ ${#CODE} -eq 10 ]] || fail "GetCheckInCode returned no 10-character code: $out"
for who in ANNA BRUNO; do
  grpc "$who" EVENTS rendezvous.events.v1.EventService/CheckIn "{\"event_id\":\"$EVENT\",\"code\":\"$CODE\"}" \
    || fail "CheckIn with the code as $who failed: $out"
  check 'get(d, "rsvp.checked_in") is True' <<<"$out" || fail "$who is not checked in: $out"
done
grpc ANNA EVENTS rendezvous.events.v1.EventService/CheckIn "{\"event_id\":\"$EVENT\",\"member_id\":\"$CHLOE_ID\"}" \
  || fail "CheckIn of Chloé by Anna failed: $out"
check 'get(d, "rsvp.checked_in") is True and get(d, "rsvp.member_id") == a[0]' "$CHLOE_ID" <<<"$out" \
  || fail "Chloé is not checked in: $out"
if grpc DAN EVENTS rendezvous.events.v1.EventService/CheckIn "{\"event_id\":\"$EVENT\",\"code\":\"$CODE\"}"; then
  fail "Dan, wait-listed, could check in: $out"
fi
grep -q 'FailedPrecondition' <<<"$out" || fail "Dan's check-in: want FAILED_PRECONDITION, got: $out"
pass "Anna and Bruno checked in with the code, Chloé by Anna; Dan (wait-listed) cannot"

# --- after the event ----------------------------------------------------------------------
now_epoch=$("$PYTHON" -c 'import time; print(int(time.time()))')
soon_epoch=$("$PYTHON" -c 'import datetime as d, sys; print(int(d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=d.timezone.utc).timestamp()))' "$SOON")
if ((soon_epoch >= now_epoch)); then
  echo "walkthrough: waiting $((soon_epoch - now_epoch + 1)) s for the start"
  sleep $((soon_epoch - now_epoch + 1))
fi
story "Anna completes the event once it has started (10 s later)"
grpc ANNA EVENTS rendezvous.events.v1.EventService/CompleteEvent "{\"event_id\":\"$EVENT\"}" \
  || fail "CompleteEvent failed: $out"
check 'get(d, "event.state") == "EVENT_STATE_COMPLETED" and get(d, "checked_in_count") == 3 and not get(d, "no_show_count")' <<<"$out" \
  || fail "CompleteEvent: want COMPLETED with 3 checked in and no no-show: $out"
pass "CompleteEvent: completed, 3 checked in, no no-show"

story "Chloé (not connected to Bruno) finds a connect suggestion naming him, and the who-you-met follow-up; her meetings list Bruno first, as hoped to meet (5b)"
poll_inbox CHLOE NOTIFICATION_KIND_CONNECT_SUGGESTION
check 'any(n["kind"] == "NOTIFICATION_KIND_CONNECT_SUGGESTION" and get(n, "notice.connect_suggestion.member.member_id") == a[0] and get(n, "notice.connect_suggestion.member.display_name") == "Bruno" and get(n, "notice.connect_suggestion.event.event_id") == a[1] for n in d["notifications"])' \
  "$BRUNO_ID" "$EVENT" <<<"$out" || fail "Chloé has no CONNECT_SUGGESTION naming Bruno at $EVENT: $out"
quiet=1 poll_inbox CHLOE NOTIFICATION_KIND_MEETING_FOLLOW_UP
check 'any(n["kind"] == "NOTIFICATION_KIND_MEETING_FOLLOW_UP" and get(n, "notice.meeting_follow_up.event.event_id") == a[0] and get(n, "notice.meeting_follow_up.co_attendee_count") == 2 for n in d["notifications"])' \
  "$EVENT" <<<"$out" || fail "Chloé has no MEETING_FOLLOW_UP for $EVENT with 2 co-attendees: $out"
grpc CHLOE MEMBERS rendezvous.members.v1.MemberService/ListMeetings '{}' || fail "ListMeetings failed: $out"
grep -qF "$BRUNO_ID" <<<"$out" || fail "Chloé's meetings do not list Bruno: $out"
check '[(c["memberId"], bool(c.get("hopedToMeet"))) for m in d.get("meetings", []) if m["eventId"] == a[0] for c in m.get("coAttendees", [])] == [(a[1], True), (a[2], False)]' \
  "$EVENT" "$BRUNO_ID" "$ANNA_ID" <<<"$out" \
  || fail "Chloé's meeting at $EVENT does not list Bruno first, hoped to meet, then Anna: $out"
pass "Chloé: CONNECT_SUGGESTION naming Bruno, MEETING_FOLLOW_UP, and her meetings list Bruno first, hoped to meet, then Anna"

# --- 7. Anna's network -------------------------------------------------------------------
story "7. Anna's network stats (private to her): Bruno, connected and at a small event with her, is met in person"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/GetNetworkStats '{}' || fail "GetNetworkStats failed: $out"
check 'int(get(d, "stats.connections")) == 1 and int(get(d, "stats.met_in_person") or 0) == 1 and get(d, "stats.real_life_ratio") == 1' <<<"$out" \
  || fail "Anna's stats are not 1 connection, 1 met, ratio 1: $out"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/ListConnections '{"met_filter":"MET_FILTER_MET"}' \
  || fail "ListConnections(met) failed: $out"
check '[(c["memberId"], c.get("metEventId")) for c in d.get("connections", [])] == [(a[0], a[1])]' "$BRUNO_ID" "$EVENT" <<<"$out" \
  || fail "Anna's met connections are not Bruno met at $EVENT: $out"
pass "GetNetworkStats: 1 connection, 1 met in person, real-life ratio 1; met at $EVENT"

# --- 10. a coffee between connections who never met ----------------------------------------
story "10. Karim registers (fr) and connects with Anna; they have never met (keep session.accessToken as \$KARIM, member.id as \$KARIM_ID)"
register Karim fr
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/RequestConnection \
  "{\"member_id\":\"$KARIM_ID\",\"note\":\"We keep missing each other at meetups!\"}" || fail "RequestConnection failed: $out"
keep KARIM_REQUEST connection_request.id
grpc KARIM MEMBERS rendezvous.members.v1.MemberService/RespondToConnectionRequest \
  "{\"connection_request_id\":\"$KARIM_REQUEST\",\"accept\":true}" || fail "RespondToConnectionRequest failed: $out"
pass "Karim and Anna are connected, never met"

story "Both opt in to coffee proposals, free on Tuesday mornings and Thursday lunchtimes (Paris time); a round runs 10 s after an opt-in, not only hourly, and proposes them a coffee (keep proposals[0].id as \$COFFEE)"
free='{"settings":{"opted_in":true,"availability":[{"weekday":"WEEKDAY_TUESDAY","start_time":"08:00","end_time":"10:00"},{"weekday":"WEEKDAY_THURSDAY","start_time":"12:30","end_time":"14:00"}]},"update_mask":{"paths":["opted_in","availability"]}}'
for who in ANNA KARIM; do
  grpc "$who" MEMBERS rendezvous.members.v1.MemberService/UpdateCoffeeSettings "$free" \
    || fail "UpdateCoffeeSettings as \$$who failed: $out"
  check 'get(d, "settings.opted_in") is True and len(get(d, "settings.availability")) == 2' <<<"$out" \
    || fail "\$$who is not opted in with two windows: $out"
done
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/ListCoffeeProposals '{}' || fail "ListCoffeeProposals failed: $out"
for _ in $(seq 150); do
  check 'len(d.get("proposals", [])) > 0' <<<"$out" && break
  sleep 0.2
  quiet=1 grpc ANNA MEMBERS rendezvous.members.v1.MemberService/ListCoffeeProposals '{}' \
    || fail "ListCoffeeProposals failed: $out"
done
check '[(p["memberId"], p["state"]) for p in d.get("proposals", [])] == [(a[0], "COFFEE_PROPOSAL_STATE_OPEN")]' "$KARIM_ID" <<<"$out" \
  || fail "Anna has no OPEN proposal naming Karim within 30 s of the opt-ins: $out"
COFFEE=$(field proposals <<<"$out" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
show_as COFFEE
quiet=1 poll_inbox KARIM NOTIFICATION_KIND_COFFEE_PROPOSED
pass "the round proposed Anna and Karim a coffee (COFFEE_PROPOSED to Karim)"

story "Anna accepts (still OPEN for her: Karim's answer is never shown); Karim accepts: MATCHED, with the times both are free (keep slots[0].startTime as \$SLOT)"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/RespondToCoffeeProposal \
  "{\"proposal_id\":\"$COFFEE\",\"accept\":true}" || fail "RespondToCoffeeProposal failed: $out"
check 'get(d, "proposal.state") == "COFFEE_PROPOSAL_STATE_OPEN" and get(d, "proposal.my_answer") == "COFFEE_ANSWER_ACCEPTED"' <<<"$out" \
  || fail "Anna's accepted proposal is not OPEN with her answer: $out"
grpc KARIM MEMBERS rendezvous.members.v1.MemberService/RespondToCoffeeProposal \
  "{\"proposal_id\":\"$COFFEE\",\"accept\":true}" || fail "RespondToCoffeeProposal failed: $out"
check 'get(d, "proposal.state") == "COFFEE_PROPOSAL_STATE_MATCHED" and len(get(d, "proposal.slots") or []) == 3' <<<"$out" \
  || fail "the proposal is not MATCHED with 3 slots: $out"
SLOT=$(field proposal.slots <<<"$out" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["startTime"])')
show_as SLOT
pass "both accepted: MATCHED with 3 slots, the first at $SLOT"

story "Anna books the first slot without a venue: the coffee becomes a private two-person event in events; Karim is told (COFFEE_SCHEDULED)"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/ScheduleCoffee \
  "{\"proposal_id\":\"$COFFEE\",\"start_time\":\"$SLOT\"}" || fail "ScheduleCoffee failed: $out"
COFFEE_EVENT=$(field proposal.event_id <<<"$out")
[[ -n $COFFEE_EVENT ]] || fail "the booked proposal has no event: $out"
show_as COFFEE_EVENT
quiet=1 poll_inbox KARIM NOTIFICATION_KIND_COFFEE_SCHEDULED
check 'any(n["kind"] == "NOTIFICATION_KIND_COFFEE_SCHEDULED" and get(n, "notice.coffee_scheduled.event.event_id") == a[0] for n in d["notifications"])' \
  "$COFFEE_EVENT" <<<"$out" || fail "Karim's COFFEE_SCHEDULED is not about $COFFEE_EVENT: $out"
grpc KARIM EVENTS rendezvous.events.v1.EventService/GetEvent "{\"event_id\":\"$COFFEE_EVENT\"}" \
  || fail "Karim cannot read the coffee: $out"
check 'get(d, "event.visibility") == "EVENT_VISIBILITY_INVITE_ONLY" and get(d, "event.capacity") == 2 and get(d, "event.confirmed_count") == 2' <<<"$out" \
  || fail "the coffee is not an invite-only event for two, both confirmed: $out"
if grpc BRUNO EVENTS rendezvous.events.v1.EventService/GetEvent "{\"event_id\":\"$COFFEE_EVENT\"}"; then
  fail "Bruno, not one of the two, reads the coffee: $out"
fi
grep -q "NotFound" <<<"$out" || fail "Bruno is not refused NOT_FOUND: $out"
pass "booked: a private coffee event for Anna and Karim (invite-only, 2 confirmed); Bruno gets NotFound"

# --- export and erasure ------------------------------------------------------------------
story "Chloé exports her data: one JSON document (base64 in data) with the members, events and notifications parts"
grpc CHLOE MEMBERS rendezvous.members.v1.MemberService/ExportMemberData '{}' || fail "ExportMemberData failed: $out"
field data <<<"$out" | "$PYTHON" -c '
import base64, json, sys
doc = json.loads(base64.b64decode(sys.stdin.read()))
assert doc["profile"]["id"] == sys.argv[1], doc["profile"]
assert any(r["event_id"] == sys.argv[2] and r["checked_in_at"] for r in doc["events"]["rsvps"]), doc["events"]
kinds = {n["kind"] for n in doc["notifications"]["inbox"]}
assert "CONNECT_SUGGESTION" in kinds, kinds
' "$CHLOE_ID" "$EVENT" || fail "Chloé's export lacks a part (the document is above)"
pass "ExportMemberData: Chloé's profile, her RSVP (checked in) and her inbox"

story "Chloé deletes her account; her token is refused by all three services"
grpc CHLOE MEMBERS rendezvous.members.v1.MemberService/DeleteMember '{"id":"me"}' || fail "DeleteMember failed: $out"
grpc CHLOE MEMBERS rendezvous.members.v1.MemberService/GetMember '{"id":"me"}' \
  && fail "members still accepts Chloé's token: $out"
grep -q 'Unauthenticated' <<<"$out" || fail "members: want UNAUTHENTICATED, got: $out"
refused=
for attempt in $(seq 50); do
  if ((attempt == 1)); then quiet=; else quiet=1; fi
  grpc CHLOE EVENTS rendezvous.events.v1.EventService/ListMyEvents '{}' || true
  events_out=$out
  grpc CHLOE NOTIFICATIONS rendezvous.notifications.v1.NotificationService/ListNotifications '{}' || true
  notifications_out=$out
  if grep -q 'Unauthenticated' <<<"$events_out" && grep -q 'Unauthenticated' <<<"$notifications_out"; then
    refused=1
    break
  fi
  sleep 0.2
done
quiet=
[[ -n $refused ]] || fail "10 s after DeleteMember: events said '$events_out', notifications '$notifications_out'"
grpc ANNA MEMBERS rendezvous.members.v1.MemberService/GetMember "{\"id\":\"$CHLOE_ID\"}" \
  || fail "GetMember of Chloé's id failed: $out"
check 'get(d, "member.deleted") is True and "Chlo" not in json.dumps(d, ensure_ascii=False) and "chloe@" not in json.dumps(d)' <<<"$out" \
  || fail "Chloé's profile still shows her: $out"
pass "DeleteMember: members, events and notifications refuse Chloé's token; her profile is gone"

if [[ -n $server_pid ]]; then
  kill -0 "$server_pid" 2>/dev/null || fail "the server died during the walkthrough"
fi
echo
echo "walkthrough: $passed steps passed"
