"""Fault scenarios over the three processes of scripts/stack3.py, driven by Python grpcio
with request and response types built at run time from each process's reflection (no
generated stubs). Each scenario returns its figures as one line; a broken guarantee raises
stack3.Failed.

(a) notifications stopped while 500 updates of an event with 20 attendees happen: once it is
    back, each attendee holds exactly one EVENT_UPDATED per update.
(b) notifications killed with SIGKILL several times while it delivers an event's notice to
    a chapter of 10,000 members (seeded with SQL: Register's argon2 would take far too long;
    every one with an address and the notice's emails switched on, so emails are measured):
    once in each inbox, each email sent once plus at most one repeat per crash (the same
    Message-ID, and the delivery log counts every attempt), and delivery finished within
    seconds of the last restart (a killed worker's leases do not wait out their 60 s).
(c) events killed with SIGKILL while its host keeps updating: every acknowledged update is
    told to every attendee exactly once, after events restarts.
(d) members frozen with SIGSTOP (its port open, nothing answered) after an event has started:
    events answers GetEvent, ListEvents and GetAttendanceSummary (its counts, the unmet part
    flagged missing) and completes the event within its deadlines; after SIGCONT the event's
    meetings reach members and the summary is whole again.
(f) PostgreSQL stopped for a few seconds, then started, while the host keeps updating: each
    service's health is NOT_SERVING during the outage and SERVING after it, the services
    reconnect, and every acknowledged update is told to each attendee exactly once.
(6) a second process of each service over the same databases: updates made through both
    events processes reach every inbox once, both notifications processes send the emails
    (none twice) and both events relays deliver, and a stream on each notifications process
    sees every notification.
(e) members stopped with SIGTERM while callers on several channels keep calling, over many
    rounds: every call in flight at the signal, or started during the drain window, completes
    OK; health turns NOT_SERVING at once and stays so; new connections are served during the
    window and refused after it; the process exits 0.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import random
import signal
import socket
import subprocess
import threading
import time
import uuid

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from stack3 import Failed

PASSWORD = "correct horse battery staple"
TIMEOUT_S = 10.0


class Client:
    """Calls any method of one process by its full name, with JSON-shaped dicts."""

    def __init__(self, addr: str):
        self.channel = grpc.insecure_channel(addr)
        grpc.channel_ready_future(self.channel).result(timeout=TIMEOUT_S)
        self.pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(self.channel))
        self.calls: dict[tuple[str, str], tuple] = {}

    def stub(self, method: str, kind: str = "unary_unary") -> tuple:
        """The channel's `kind` stub of `method` (full name), and its request class."""
        if (method, kind) not in self.calls:
            service, name = method.rsplit("/", 1)
            desc = self.pool.FindServiceByName(service).methods_by_name[name]
            request = message_factory.GetMessageClass(desc.input_type)
            response = message_factory.GetMessageClass(desc.output_type)
            stub = getattr(self.channel, kind)(f"/{method}",
                                               request_serializer=request.SerializeToString,
                                               response_deserializer=response.FromString)
            self.calls[(method, kind)] = (stub, request)
        return self.calls[(method, kind)]

    def call(self, method: str, body: dict, token: str | None = None,
             timeout: float = TIMEOUT_S) -> dict:
        stub, request = self.stub(method)
        metadata = (("authorization", f"Bearer {token}"),) if token else None
        reply = stub(json_format.ParseDict(body, request()), metadata=metadata, timeout=timeout)
        return json_format.MessageToDict(reply, preserving_proto_field_name=True)

    def stream(self, method: str, body: dict, token: str, timeout: float):
        """The replies (messages) of a server-streaming method, until `timeout` or the end."""
        stub, request = self.stub(method, "unary_stream")
        return stub(json_format.ParseDict(body, request()),
                    metadata=(("authorization", f"Bearer {token}"),), timeout=timeout)

    def close(self) -> None:
        self.channel.close()


M = "rendezvous.members.v1.MemberService"
E = "rendezvous.events.v1.EventService"
N = "rendezvous.notifications.v1.NotificationService"


def rfc3339(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    """Clients of the three processes, and members registered for a scenario."""

    def __init__(self, stack):
        self.stack = stack
        self.members = Client(stack.addr("members"))
        self.events = Client(stack.addr("events"))
        self.notifications = Client(stack.addr("notifications"))

    def reconnect(self, service: str) -> None:
        getattr(self, service).close()
        setattr(self, service, Client(self.stack.addr(service)))

    def register(self, name: str) -> dict:
        email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
        reply = self.members.call(f"{M}/Register", {
            "email": email, "password": PASSWORD, "display_name": name, "city": "Paris",
            "locale": "en", "time_zone": "Europe/Paris"})
        return {"id": reply["member"]["id"], "token": reply["session"]["access_token"],
                "email": email}

    def no_update_emails(self, member: dict) -> None:
        """Keeps the scenario's thousands of updates in the inbox only."""
        self.notifications.call(f"{N}/UpdatePreferences", {
            "preferences": {"channel_preferences": [{
                "kind": "NOTIFICATION_KIND_EVENT_UPDATED", "channel": "CHANNEL_EMAIL",
                "enabled": False}]},
            "update_mask": "channelPreferences"}, member["token"])

    def event_with_attendees(self, host: dict, attendees: list[dict]) -> dict:
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=30)
        event = self.events.call(f"{E}/CreateEvent", {"event": {
            "title": "Fault drill coffee", "kind": "EVENT_KIND_COFFEE",
            "venue": {"name": "Café Saint-Paul", "address": "12 rue Saint-Paul, 75004 Paris",
                      "latitude": 48.854, "longitude": 2.362},
            "city": "Paris", "start_time": rfc3339(start),
            "end_time": rfc3339(start + dt.timedelta(minutes=90)),
            "time_zone": "Europe/Paris", "capacity": len(attendees) + 5,
            "visibility": "EVENT_VISIBILITY_PUBLIC"}}, host["token"])["event"]
        event = self.events.call(f"{E}/PublishEvent", {"event_id": event["id"]},
                                 host["token"])["event"]
        for attendee in attendees:
            self.events.call(f"{E}/Rsvp", {"event_id": event["id"], "intent": "RSVP_INTENT_GOING",
                                           "visibility": "RSVP_VISIBILITY_PUBLIC"},
                             attendee["token"])
        event["start"] = start
        return event

    def updated_event(self, attendees: int, name: str) -> tuple[dict, list[dict], dict]:
        """A host, `attendees` members who get its updates in the inbox only, and the host's
        event they are going to."""
        host = self.register("Host")
        going = [self.register(f"{name}{i}") for i in range(attendees)]
        for attendee in going:
            self.no_update_emails(attendee)
        return host, going, self.event_with_attendees(host, going)

    def move(self, host: dict, event: dict, minutes: int) -> dict:
        """Moves the event's start to `minutes` after its first start; the event as updated."""
        start = event["start"] + dt.timedelta(minutes=minutes)
        updated = self.events.call(f"{E}/UpdateEvent", {
            "event": {"id": event["id"], "etag": event["etag"], "start_time": rfc3339(start),
                      "end_time": rfc3339(start + dt.timedelta(minutes=90))},
            "update_mask": "startTime,endTime"}, host["token"])["event"]
        updated["start"] = event["start"]
        return updated

    def updates_told(self, member: dict, event_id: str) -> list[str]:
        """The new start of every EVENT_UPDATED about `event_id` in `member`'s inbox."""
        starts, token = [], ""
        while True:
            page = self.notifications.call(f"{N}/ListNotifications",
                                           {"page_size": 100, "page_token": token},
                                           member["token"])
            for n in page.get("notifications", []):
                told = n.get("notice", {}).get("event_updated")
                if told and told["event"]["event_id"] == event_id:
                    starts.append(told["event"]["start_time"])
            token = page.get("next_page_token", "")
            if not token:
                return starts

    def close(self) -> None:
        for client in (self.members, self.events, self.notifications):
            client.close()


def wait_all_told(world: World, attendees: list[dict], event_id: str, wanted: int,
                  within: float) -> float:
    """Seconds until every attendee holds `wanted` updates of `event_id`; fails on more, or
    on fewer after `within` seconds."""
    began = time.monotonic()
    pending = list(attendees)
    while pending:
        counts = {a["id"]: len(world.updates_told(a, event_id)) for a in pending}
        over = {k: v for k, v in counts.items() if v > wanted}
        if over:
            raise Failed(f"doubled updates: {over} (wanted {wanted} each)")
        pending = [a for a in pending if counts[a["id"]] < wanted]
        if pending and time.monotonic() - began > within:
            raise Failed(f"after {within:.0f} s, {len(pending)} attendees miss updates: "
                         f"{sorted(counts.values())[:5]} of {wanted}")
        if pending:
            time.sleep(0.5)
    return time.monotonic() - began


def notifications_down_during_updates(stack) -> str:
    world = World(stack)
    try:
        host, attendees, event = world.updated_event(20, "Attendee")
        stack.stop("notifications", signal.SIGTERM)
        updates = 500
        for minute in range(1, updates + 1):
            event = world.move(host, event, minute)
        stack.start("notifications")
        stack.wait_serving("notifications")
        world.reconnect("notifications")
        took = wait_all_told(world, attendees, event["id"], updates, within=240)
        for attendee in attendees:
            starts = world.updates_told(attendee, event["id"])
            if len(set(starts)) != updates:
                raise Failed(f"{len(set(starts))} distinct updates told, not {updates}")
        expected = updates * len(attendees)
        return (f"{expected} notifications expected, {expected} found, 0 doubled; all "
                f"delivered {took:.1f} s after notifications was back")
    finally:
        world.close()


# Scenario (b): recipients, the SIGKILLs (one while the inbox rows are written, the others at
# these shares of the emails sent), and how soon after the last restart the last email must
# be out: the emails left at the last kill at the pace seen between the kills, plus a margin
# for the takeover of the dead worker's leases (5 s of silence) — never its 60 s lease.
CHAPTER_RECIPIENTS = 10_000
# The notifications worker's emails in flight at once (WorkerSettings::concurrency).
EMAILS_IN_FLIGHT = 8
KILL_AT_EMAIL_SHARES = (0.3, 0.6, 0.9)
TAKEOVER_MARGIN_S = 10.0


def psql(stack, service: str, query: str) -> list[list[str]]:
    """Rows of `query` on `service`'s database, as text. Nested loops are off: the tables
    grow by thousands of rows within seconds, faster than statistics follow, and a nested
    loop over a stale estimate of one row joins 10,000 seeded ids with 10,000 rows for
    minutes."""
    done = subprocess.run(["psql", stack.env[service]["RENDEZVOUS_DATABASE_URL"], "-v",
                           "ON_ERROR_STOP=1", "-qAtF", "\t", "-c", "SET enable_nestloop = off",
                           "-c", query],
                          check=True, capture_output=True, text=True)
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def seed_chapter(stack, world: World, tag: str, recipients: int) -> tuple[dict, dict, str]:
    """An organiser, their chapter, and `recipients` members in it seeded with SQL in each
    service's database: members' rows copied from the organiser's (with their own ids,
    names and addresses), their chapter membership, and the notice's emails switched on.
    Returns the organiser, the chapter, and the SQL set of the seeded ids."""
    host = world.register("Organizer")
    chapter = world.events.call("rendezvous.events.v1.ChapterService/CreateChapter", {
        "chapter": {"name": f"Rendezvous {tag}", "city": "Paris",
                    "time_zone": "Europe/Paris"}, "request_id": str(uuid.uuid4())},
        host["token"])["chapter"]
    ids = f"(SELECT md5('{tag}-' || g)::uuid::text FROM generate_series(1, {recipients}) g)"
    psql(stack, "members",
         "INSERT INTO members (id, email, display_name, city, city_key, locale, time_zone, "
         "visibility, created_at, updated_at) "
         f"SELECT md5('{tag}-' || g)::uuid::text, '{tag}-' || g || '@example.com', "
         "'Member ' || g, t.city, t.city_key, t.locale, t.time_zone, t.visibility, now(), now() "
         f"FROM members t, generate_series(1, {recipients}) g WHERE t.id = '{host['id']}'")
    psql(stack, "events",
         "INSERT INTO chapter_members (chapter_id, member_id, role, joined_at) "
         f"SELECT '{chapter['id']}', id, 'member', now() FROM {ids} AS s(id)")
    psql(stack, "notifications",
         "INSERT INTO channel_preferences (member_id, kind, channel, enabled) "
         f"SELECT id, 'CHAPTER_NEW_EVENT', 'email', TRUE FROM {ids} AS s(id)")
    return host, chapter, ids


def notifications_killed_during_delivery(stack) -> str:
    world = World(stack)
    try:
        tag = f"b{uuid.uuid4().hex[:8]}"
        n = CHAPTER_RECIPIENTS
        host, chapter, ids = seed_chapter(stack, world, tag, n)
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=30)
        event = world.events.call(f"{E}/CreateEvent", {"event": {
            "chapter_id": chapter["id"], "title": "Chapter drill", "kind": "EVENT_KIND_COFFEE",
            "venue": {"name": "Café Saint-Paul", "address": "12 rue Saint-Paul, 75004 Paris",
                      "latitude": 48.854, "longitude": 2.362},
            "city": "Paris", "start_time": rfc3339(start),
            "end_time": rfc3339(start + dt.timedelta(minutes=90)), "time_zone": "Europe/Paris",
            "capacity": 50, "visibility": "EVENT_VISIBILITY_PUBLIC"}}, host["token"])["event"]
        inbox_sql = (f"SELECT count(*), count(DISTINCT recipient_id) FROM notifications "
                     f"WHERE kind = 'CHAPTER_NEW_EVENT' AND recipient_id IN {ids}")
        sent_sql = (f"SELECT count(*) FROM deliveries WHERE channel = 'email' AND "
                    f"status = 'sent' AND recipient_id IN {ids}")

        def progress() -> tuple[int, int]:
            """Inbox rows and emails recorded sent, of the chapter's notice."""
            rows = int(psql(stack, "notifications", inbox_sql)[0][0])
            return rows, int(psql(stack, "notifications", sent_sql)[0][0])

        published = time.monotonic()
        # Publishing writes the chapter's 10,000 outbox rows in its transaction.
        world.events.call(f"{E}/PublishEvent", {"event_id": event["id"]}, host["token"],
                          timeout=120)
        kills: list[tuple[int, int]] = []
        killed_at: list[float] = []
        last_restart = 0.0

        def kill_and_restart() -> None:
            nonlocal last_restart
            kills.append(progress())
            killed_at.append(time.time())
            stack.stop("notifications", signal.SIGKILL)
            stack.start("notifications")
            stack.wait_serving("notifications")
            last_restart = time.time()

        # The first kill while the inbox rows are being written, the others as emails go.
        targets = [None, *(int(share * n) for share in KILL_AT_EMAIL_SHARES)]
        deadline = time.monotonic() + 600
        for target in targets:
            while True:
                rows, sent = progress()
                if target is None and rows > 0 or target is not None and sent >= target:
                    break
                if time.monotonic() > deadline:
                    raise Failed(f"stalled before kill {len(kills) + 1}: {rows} inbox rows, "
                                 f"{sent} emails sent of {n}")
                time.sleep(0.05 if target is None else 0.2)
            kill_and_restart()
        while progress() != (n, n):
            if time.time() - last_restart > 300:
                rows, sent = progress()
                raise Failed(f"300 s after the last restart, {rows} inbox rows and {sent} "
                             f"emails sent of {n}")
            time.sleep(0.2)
        took_all = time.monotonic() - published
        crashes = len(kills)
        count, distinct = (int(v) for v in psql(stack, "notifications", inbox_sql)[0])
        doubled = int(psql(stack, "notifications",
                           f"SELECT count(*) FROM (SELECT recipient_id FROM notifications "
                           f"WHERE kind = 'CHAPTER_NEW_EVENT' AND recipient_id IN {ids} "
                           f"GROUP BY recipient_id HAVING count(*) > 1) d")[0][0])
        if count != n or distinct != n or doubled:
            raise Failed(f"inbox rows: {n} expected, {count} found ({distinct} recipients), "
                         f"{doubled} doubled")
        # The last delivery, by the delivery log's clock (this machine's).
        last = float(psql(stack, "notifications",
                          f"SELECT extract(epoch FROM max(greatest(d.sent_at, n.created_at))) "
                          f"FROM deliveries d JOIN notifications n ON n.id = d.notification_id "
                          f"WHERE d.channel = 'email' AND d.recipient_id IN {ids}")[0][0])
        after_restart = last - last_restart
        # Emails, by Message-ID (<notification-id@rendezvous.local>), once the sink has
        # written every message it acknowledged.
        wanted = {row[0]: (row[1], int(row[2])) for row in psql(
            stack, "notifications",
            f"SELECT d.notification_id, d.status, d.attempts FROM deliveries d "
            f"WHERE d.channel = 'email' AND d.recipient_id IN {ids}")}
        by_id: dict[str, list[str]] = {}
        settle = time.monotonic() + 10
        while True:
            by_id = {k: v for k, v in emails_by_message_id(stack).items()
                     if any(f"{tag}-" in to for to in v)}
            if len(by_id) >= n or time.monotonic() > settle:
                break
            time.sleep(0.5)
        found = sum(len(v) for v in by_id.values())
        repeated = {k: len(v) - 1 for k, v in by_id.items() if len(v) > 1}
        unknown = [k for k in by_id if k.strip("<>").split("@")[0] not in wanted]
        addresses = {to for v in by_id.values() for to in v}
        if len(by_id) != n or unknown or len(addresses) != n:
            raise Failed(f"emails: {n} expected, {len(by_id)} Message-IDs found "
                         f"({len(unknown)} unknown to the log) to {len(addresses)} addresses")
        # Each crash cuts off at most the sends in flight (EMAILS_IN_FLIGHT), each of which
        # goes again once.
        if (any(r > crashes for r in repeated.values())
                or sum(repeated.values()) > crashes * EMAILS_IN_FLIGHT):
            raise Failed(f"{sum(repeated.values())} repeated emails over {len(repeated)} "
                         f"Message-IDs: more than one repeat per email per crash, or more "
                         f"than {EMAILS_IN_FLIGHT} per crash ({crashes} crashes): "
                         f"{sorted(repeated.items(), key=lambda kv: -kv[1])[:5]}")
        short = [k for k, v in by_id.items()
                 if wanted[k.strip("<>").split("@")[0]][1] < len(v)]
        not_sent = [k for k, (status, _) in wanted.items() if status != "sent"]
        if short or not_sent:
            raise Failed(f"the delivery log: {len(short)} emails with fewer attempts counted "
                         f"than sent, {len(not_sent)} not marked sent")
        # The pace between the first and the last kill during the emails.
        left = n - kills[-1][1]
        pace = (kills[-1][1] - kills[1][1]) / max(killed_at[-1] - killed_at[1], 0.001)
        allowed = left / max(pace, 0.001) + TAKEOVER_MARGIN_S
        if after_restart > allowed:
            raise Failed(f"the last delivery came {after_restart:.1f} s after the last restart: "
                         f"{left} emails were left, {left / max(pace, 0.001):.1f} s at the "
                         f"pace before ({pace:.0f}/s), at most {allowed:.1f} s")
        attempts = sum(a for _, a in wanted.values())
        at = ", ".join(f"{rows}/{sent}" for rows, sent in kills)
        return (f"{n} recipients, {crashes} SIGKILLs (at inbox rows/emails sent {at}); "
                f"inbox rows {n} expected, {count} found, {doubled} doubled; emails {n} "
                f"expected, {found} found, {sum(repeated.values())} repeated, at most "
                f"{max(repeated.values(), default=0)} of one (allowance: one per email per "
                f"crash, {crashes} crashes), {attempts} attempts logged; the last delivery "
                f"{after_restart:.1f} s after the last restart ({left} emails left, "
                f"{left / max(pace, 0.001):.1f} s at {pace:.0f} emails/s), all in "
                f"{took_all:.1f} s")
    finally:
        world.close()


def events_killed_during_updates(stack) -> str:
    world = World(stack)
    try:
        host, attendees, event = world.updated_event(5, "Guest")
        first_version = int(event["etag"])
        acknowledged, unanswered, kills = 0, 0, 0
        stop = threading.Event()

        def killer():
            nonlocal kills
            while not stop.wait(1.5):
                stack.stop("events", signal.SIGKILL)
                kills += 1
                stack.start("events")

        thread = threading.Thread(target=killer)
        thread.start()
        minute = 0
        deadline = time.monotonic() + 12
        try:
            while time.monotonic() < deadline:
                minute += 1
                try:
                    event = world.move(host, event, minute)
                    acknowledged += 1
                except grpc.RpcError as err:
                    # Unacknowledged: it may or may not have committed. Read the event back
                    # once events answers, so the next update has the right etag.
                    unanswered += 1
                    if err.code() not in (grpc.StatusCode.UNAVAILABLE,
                                          grpc.StatusCode.DEADLINE_EXCEEDED,
                                          grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
                        raise Failed(f"an update failed with {err.code().name}: "
                                     f"{err.details()}") from None
                    event = reread(world, host, event)
        finally:
            stop.set()
            thread.join()
        stack.wait_serving("events")
        world.reconnect("events")
        current = reread(world, host, event)
        # Every committed update (the etag counts versions) is told once; an update that was
        # never acknowledged is told only if it committed.
        committed = int(current["etag"]) - first_version
        took = wait_all_told(world, attendees, event["id"], committed, within=120)
        if committed < acknowledged:
            raise Failed(f"{acknowledged} updates acknowledged but only {committed} committed")
        return (f"{kills} SIGKILLs; {acknowledged} updates acknowledged, {unanswered} "
                f"unanswered, {committed} committed; {committed * len(attendees)} "
                f"notifications expected and found, 0 doubled ({took:.1f} s after the last "
                f"restart)")
    finally:
        world.close()


def reread(world: World, host: dict, event: dict, within: float = 30) -> dict:
    """The event as events holds it, once it answers again."""
    deadline = time.monotonic() + within
    while True:
        try:
            fresh = world.events.call(f"{E}/GetEvent", {"event_id": event["id"]}, host["token"])
            fresh = fresh["event"]
            fresh["start"] = event["start"]
            return fresh
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            world.reconnect("events")


# Scenario (d): events' deadline on a call to members (members_client.rs) plus what a reply
# may take on this machine; and how long catching up may take once members is back.
MEMBERS_DEADLINE_S = 5.0
ANSWER_MARGIN_S = 2.0
CATCH_UP_WITHIN_S = 60.0


def timed(call, method: str, *args, **kwargs) -> tuple[dict, float]:
    """`call(method, ...)`'s reply and seconds; an error names the method."""
    began = time.monotonic()
    try:
        reply = call(method, *args, **kwargs)
    except grpc.RpcError as err:
        raise Failed(f"{method.rsplit('/', 1)[-1]} failed after {time.monotonic() - began:.1f} s "
                     f"with members frozen: {err.code().name} {err.details()}") from None
    return reply, time.monotonic() - began


def members_unreachable(stack) -> str:
    world = World(stack)
    try:
        host = world.register("Host")
        guests = [world.register(f"Friend{i}") for i in range(3)]
        viewer, friend = guests[0], guests[1]
        asked = world.members.call(f"{M}/RequestConnection", {"member_id": friend["id"]},
                                   viewer["token"])["connection_request"]
        world.members.call(f"{M}/RespondToConnectionRequest",
                           {"connection_request_id": asked["id"], "accept": True},
                           friend["token"])
        event = world.event_with_attendees(host, guests)
        # The coffee starts in a few seconds (check-in opens an hour before): all check in.
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=3)
        event = world.events.call(f"{E}/UpdateEvent", {
            "event": {"id": event["id"], "etag": event["etag"], "start_time": rfc3339(start),
                      "end_time": rfc3339(start + dt.timedelta(minutes=90))},
            "update_mask": "startTime,endTime"}, host["token"])["event"]
        for guest in guests:
            world.events.call(f"{E}/CheckIn", {"event_id": event["id"], "member_id": guest["id"]},
                              host["token"])
        summary = world.events.call(f"{E}/GetAttendanceSummary", {"event_id": event["id"]},
                                    viewer["token"])["summary"]
        if summary.get("unmet_connections_going_count") != 1:
            raise Failed(f"before the fault the viewer's unmet friend is not counted: {summary}")
        while dt.datetime.now(dt.timezone.utc) < start + dt.timedelta(seconds=1):
            time.sleep(0.2)

        stack.procs["members"].send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            slowest = 0.0
            within = MEMBERS_DEADLINE_S + ANSWER_MARGIN_S
            got, took = timed(world.events.call, f"{E}/GetEvent", {"event_id": event["id"]},
                              viewer["token"])
            slowest = max(slowest, took)
            listed, took = timed(world.events.call, f"{E}/ListEvents",
                                 {"city": "Paris", "start_after": rfc3339(start)},
                                 viewer["token"])
            slowest = max(slowest, took)
            if event["id"] not in [e["id"] for e in listed.get("events", [])]:
                raise Failed("ListEvents left the event out while members was frozen")
            reply, took = timed(world.events.call, f"{E}/GetAttendanceSummary",
                                {"event_id": event["id"]}, viewer["token"])
            slowest = max(slowest, took)
            summary = reply["summary"]
            if (summary.get("confirmed_count") != len(guests)
                    or summary.get("checked_in_count") != len(guests)
                    or not summary.get("unmet_connections_unavailable")):
                raise Failed(f"the summary while members was frozen: {summary}")
            completed, took = timed(world.events.call, f"{E}/CompleteEvent",
                                    {"event_id": event["id"]}, host["token"])
            slowest = max(slowest, took)
            if completed["event"].get("state") != "EVENT_STATE_COMPLETED":
                raise Failed(f"CompleteEvent while members was frozen: {completed}")
            if slowest > within or got["event"]["id"] != event["id"]:
                raise Failed(f"a call took {slowest:.1f} s with members frozen (deadline "
                             f"{MEMBERS_DEADLINE_S:g} s)")
            # Nothing reached members: the meetings wait in events.
            time.sleep(1.0)
        finally:
            stack.procs["members"].send_signal(signal.SIGCONT)
        frozen_for = time.monotonic() - frozen
        resumed = time.monotonic()
        caught_up = None
        while caught_up is None:
            meetings = world.members.call(f"{M}/ListMeetings", {"page_size": 100},
                                          viewer["token"]).get("meetings", [])
            if any(m["event_id"] == event["id"] for m in meetings):
                caught_up = time.monotonic() - resumed
            elif time.monotonic() - resumed > CATCH_UP_WITHIN_S:
                raise Failed(f"{CATCH_UP_WITHIN_S:.0f} s after SIGCONT, the completed event's "
                             f"meetings have not reached members")
            else:
                time.sleep(0.5)
        summary = world.events.call(f"{E}/GetAttendanceSummary", {"event_id": event["id"]},
                                    viewer["token"])["summary"]
        if summary.get("unmet_connections_unavailable"):
            raise Failed(f"members is back but the summary still misses its part: {summary}")
        return (f"members frozen {frozen_for:.1f} s: GetEvent, ListEvents, GetAttendanceSummary "
                f"({summary.get('confirmed_count')} confirmed, "
                f"{summary.get('checked_in_count')} checked in, unmet part flagged missing) "
                f"and CompleteEvent answered, slowest {slowest:.1f} s (deadline "
                f"{MEMBERS_DEADLINE_S:g} s); the event's meetings reached members "
                f"{caught_up:.1f} s after SIGCONT, and the summary was whole again")
    finally:
        world.close()


# Scenario (e): channels (one TCP connection each) and callers per channel, and the drain
# window of the rounds after the first (the first runs with the binaries' default, 5 s).
SIGTERM_CHANNELS = 4
SIGTERM_CALLERS_PER_CHANNEL = 3
SIGTERM_DRAIN_S = 1.0
# Health may still say SERVING this long after the signal is sent (its delivery and handling).
SIGNAL_HANDLING_S = 0.2
# A call's start is stamped in Python before grpcio puts it on the wire; with a dozen caller
# threads sharing the GIL, the stream can reach members this much later. A call stamped
# within it of the close may meet the closed listener (GOAWAY, then a refused reconnect), as
# one stamped at +0.976 s of a 1 s window did in CI, so only earlier ones must complete.
CLIENT_SEND_SLACK_S = 0.1


def sigterm_round(stack, member: dict, drain: float) -> dict[str, int | float]:
    """One SIGTERM of members under load; its figures, or Failed."""
    addr = stack.addr("members")
    port = int(addr.rsplit(":", 1)[1])
    clients = [Client(addr) for _ in range(SIGTERM_CHANNELS)]
    prober = Client(addr)
    get_me = (f"{M}/GetMember", {"id": "me"})
    for client in clients:
        client.call(*get_me, member["token"])
    prober.call("grpc.health.v1.Health/Check", {"service": ""})
    calls: list[tuple[float, float, str, str]] = []
    stop = threading.Event()

    def caller(client: Client) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                client.call(*get_me, member["token"], timeout=5.0)
                code, details = "OK", ""
            except grpc.RpcError as err:
                code, details = err.code().name, err.details() or ""
            calls.append((started, time.monotonic(), code, details))
            if code != "OK":
                time.sleep(0.01)

    threads = [threading.Thread(target=caller, args=(client,)) for client in clients
               for _ in range(SIGTERM_CALLERS_PER_CHANNEL)]
    for thread in threads:
        thread.start()
    figures: dict[str, int | float] = {}
    try:
        # Calls start at any point of their life relative to the signal.
        time.sleep(random.uniform(0.05, 0.25))
        signalled = time.monotonic()
        stack.procs["members"].send_signal(signal.SIGTERM)
        not_serving_seen, fresh_served = 0.0, 0
        # (A window of 0, for a hunt only, leaves no time to look at health.)
        if drain > 0:
            # Health turns NOT_SERVING as soon as the signal is handled.
            not_serving_seen = None
            while not_serving_seen is None:
                status = prober.call("grpc.health.v1.Health/Check", {"service": ""},
                                     timeout=1.0).get("status", "")
                at = time.monotonic() - signalled
                if status == "NOT_SERVING":
                    not_serving_seen = at
                elif at > SIGNAL_HANDLING_S:
                    raise Failed(f"health still said {status} {at:.2f} s after SIGTERM")
            # It stays so through the window, in which a client connecting anew is still served.
            fresh_served = 0
            while time.monotonic() - signalled < drain * 0.8:
                status = prober.call("grpc.health.v1.Health/Check", {"service": ""},
                                     timeout=1.0).get("status", "")
                if status != "NOT_SERVING":
                    raise Failed(f"health said {status} {time.monotonic() - signalled:.2f} s "
                                 f"after SIGTERM, after NOT_SERVING")
                fresh = Client(addr)
                try:
                    fresh.call(*get_me, member["token"])
                    fresh_served += 1
                finally:
                    fresh.close()
                time.sleep(0.05)
        refused = None
        while refused is None and time.monotonic() - signalled < drain + 15:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                time.sleep(0.01)
            except ConnectionRefusedError:
                refused = time.monotonic() - signalled
            except ConnectionResetError:
                # Accepted as the listener closed, then reset: look again.
                time.sleep(0.01)
        if refused is None or refused < drain * 0.95:
            raise Failed(f"the listener closed {refused} s after SIGTERM, drain window {drain} s")
        try:
            code = stack.procs["members"].wait(30)
        except subprocess.TimeoutExpired:
            raise Failed("members did not exit within 30 s of SIGTERM") from None
        if code != 0:
            raise Failed(f"members exited {code} after SIGTERM")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for client in (*clients, prober):
            client.close()
    closed = signalled + drain
    failed = [c for c in calls if c[2] != "OK"]
    # The h2 bug (crates/common/tests/server.rs, h2_still_ends_the_connection_on_…): a call
    # in flight at the listener's close reset by h2's GOAWAY PROTOCOL_ERROR. Counted and
    # shown, not failed: it is upstream's, pinned by that test.
    h2_bug = [c for c in failed if "GOAWAY" in c[3] and "PROTOCOL_ERROR" in c[3]]
    # Otherwise only a call started once the listener closed may fail, and only as refused.
    wrong = [c for c in failed if c not in h2_bug and (c[2] != "UNAVAILABLE"
                                                       or c[0] < closed - CLIENT_SEND_SLACK_S)]
    if wrong:
        shown = [f"{c[2]} {c[3]!r} started {c[0] - signalled:+.3f} s, ended "
                 f"{c[1] - signalled:+.3f} s" for c in wrong[:5]]
        message = (f"{len(wrong)} calls failed that had to complete "
                   f"(SIGTERM at 0, listener closed at {drain} s): {shown}")
        if not os.environ.get("FAULTS_SIGTERM_KEEP_GOING"):
            raise Failed(message)
        print(f"faults: (e) {message}", flush=True)
    figures["wrong"] = len(wrong)
    figures["h2_bug"] = len(h2_bug)
    figures["calls"] = len(calls)
    figures["ok"] = len(calls) - len(failed)
    figures["refused"] = len(failed)
    figures["in_flight_at_signal"] = sum(1 for c in calls if c[0] < signalled < c[1])
    figures["in_flight_at_close"] = sum(1 for c in calls if c[0] < closed < c[1])
    figures["during_window"] = sum(1 for c in calls if signalled <= c[0] < closed and
                                   c[2] == "OK")
    figures["fresh_served"] = fresh_served
    figures["not_serving_after"] = not_serving_seen
    figures["refused_after"] = refused
    return figures


def sigterm_with_rpcs_in_flight(stack) -> str:
    rounds = max(1, getattr(stack, "sigterm_rounds", 30))
    # Knobs for a hunt (not CI): the window of the rounds after the first (0 is the shutdown
    # of old, GOAWAY at the signal), and a log filter for members (e.g. `info,h2=debug`).
    window = float(os.environ.get("FAULTS_SIGTERM_DRAIN_S", SIGTERM_DRAIN_S))
    extra_env = {"RENDEZVOUS_DRAIN_SECS": str(window)}
    if os.environ.get("FAULTS_MEMBERS_LOG"):
        extra_env["RENDEZVOUS_LOG"] = os.environ["FAULTS_MEMBERS_LOG"]
    world = World(stack)
    try:
        member = world.register("Drain")
    finally:
        world.close()
    totals: dict[str, float] = {}
    first_refused, worst_not_serving, refused_range = 0.0, 0.0, [1e9, 0.0]
    for n in range(rounds):
        # The running members has the binaries' default window; the next ones a short one.
        drain = 5.0 if n == 0 else window
        figures = sigterm_round(stack, member, drain)
        for key, value in figures.items():
            totals[key] = totals.get(key, 0) + value
        worst_not_serving = max(worst_not_serving, figures["not_serving_after"])
        if n == 0:
            first_refused = figures["refused_after"]
        else:
            refused_range = [min(refused_range[0], figures["refused_after"]),
                             max(refused_range[1], figures["refused_after"])]
        stack.start("members", extra_env)
        stack.wait_serving("members")
    t = {k: int(v) for k, v in totals.items()}
    if t["wrong"]:
        raise Failed(f"{t['wrong']} calls failed that had to complete, over {rounds} rounds "
                     f"and {t['calls']} calls")
    return (f"{rounds} rounds, {SIGTERM_CHANNELS} channels x {SIGTERM_CALLERS_PER_CHANNEL} "
            f"callers: {t['calls']} calls, {t['ok']} OK, 0 failed that had to complete "
            f"({t['in_flight_at_signal']} in flight at SIGTERM, {t['in_flight_at_close']} in "
            f"flight as the listener closed, {t['during_window']} started in the window, "
            f"{t['fresh_served']} new connections served in it), {t['refused']} refused after "
            f"it (UNAVAILABLE), of which {t['h2_bug']} in flight at the close reset by h2's "
            f"GOAWAY PROTOCOL_ERROR (the upstream bug); NOT_SERVING within {worst_not_serving * 1000:.0f} ms; "
            f"listener closed {first_refused:.2f} s after SIGTERM (default window 5 s), "
            f"{refused_range[0]:.2f}-{refused_range[1]:.2f} s (window {window:g} s); "
            f"exit 0 every time")


# Scenario (f): load before, outage, load after, in seconds.
PG_LOAD_BEFORE_S = 2.0
PG_OUTAGE_S = 4.0
PG_LOAD_AFTER_S = 3.0


def postgres_restarted_under_load(stack) -> str:
    stop_pg, start_pg = getattr(stack, "postgres_control", ([], []))
    if not stop_pg:
        raise Failed("no way to stop the stack's PostgreSQL: give --postgres-stop and "
                     "--postgres-start (or RENDEZVOUS_STACK3_POSTGRES_STOP / _START)")
    world = World(stack)
    probes = {s: Client(stack.addr(s)) for s in ("members", "events", "notifications")}
    try:
        host, attendees, event = world.updated_event(3, "Guest")
        first_version = int(event["etag"])
        seen: dict[str, list[tuple[float, str]]] = {s: [] for s in probes}
        stop = threading.Event()
        began = time.monotonic()

        def prober():
            while not stop.wait(0.2):
                for service, client in probes.items():
                    try:
                        status = client.call("grpc.health.v1.Health/Check", {"service": ""},
                                             timeout=1.0).get("status", "")
                    except grpc.RpcError as err:
                        status = err.code().name
                    seen[service].append((time.monotonic() - began, status))

        counts = {"acknowledged": 0, "unanswered": 0}

        def writer():
            nonlocal event
            minute = 0
            while not stop.is_set():
                minute += 1
                try:
                    event = world.move(host, event, minute)
                    counts["acknowledged"] += 1
                except grpc.RpcError:
                    counts["unanswered"] += 1
                    event = reread(world, host, event, within=60)
                    time.sleep(0.1)

        threads = [threading.Thread(target=prober), threading.Thread(target=writer)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(PG_LOAD_BEFORE_S)
            stopped = time.monotonic() - began
            try:
                subprocess.run(stop_pg, check=True, capture_output=True, timeout=60)
                time.sleep(PG_OUTAGE_S)
            finally:
                # PostgreSQL is started again whatever happened.
                subprocess.run(start_pg, check=True, capture_output=True, timeout=120)
            restarted = time.monotonic() - began
            time.sleep(PG_LOAD_AFTER_S)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        for service in probes:
            stack.wait_serving(service, within=60)
        outage = {}
        for service, history in seen.items():
            down = [t for t, status in history if stopped <= t <= restarted and
                    status != "SERVING"]
            if not down:
                raise Failed(f"{service} said SERVING throughout the PostgreSQL outage: "
                             f"{history}")
            back = [t for t, status in history if t > restarted and status == "SERVING"]
            outage[service] = (min(down) - stopped, (back[0] - restarted) if back else None)
        current = reread(world, host, event)
        committed = int(current["etag"]) - first_version
        if committed < counts["acknowledged"]:
            raise Failed(f"{counts['acknowledged']} updates acknowledged, {committed} committed")
        took = wait_all_told(world, attendees, event["id"], committed, within=120)
        told = ", ".join(
            f"{s} NOT_SERVING {down:.1f} s after the stop"
            + (f", SERVING {back:.1f} s after the start" if back is not None else "")
            for s, (down, back) in outage.items())
        return (f"PostgreSQL down {restarted - stopped:.1f} s: {told}; "
                f"{counts['acknowledged']} updates acknowledged, {counts['unanswered']} "
                f"unanswered, {committed} committed; {committed * len(attendees)} "
                f"notifications expected and found, 0 doubled ({took:.1f} s after the end)")
    finally:
        for client in probes.values():
            client.close()
        world.close()


# (Message-ID, To) of each .eml read so far: the server writes a file whole, once (it
# renames it into place), and fault (b) leaves 10,000 that later scenarios count again.
EMAIL_HEADERS: dict[str, tuple[str, str]] = {}


def emails_by_message_id(stack) -> dict[str, list[str]]:
    """The `To:` of every .eml the SMTP server holds, by Message-ID."""
    found: dict[str, list[str]] = {}
    for path in (stack.work / "mail").rglob("*.eml"):
        key = str(path)
        if key not in EMAIL_HEADERS:
            message = email.message_from_bytes(path.read_bytes())
            EMAIL_HEADERS[key] = (message.get("Message-ID", path.name), message.get("To", ""))
        message_id, to = EMAIL_HEADERS[key]
        found.setdefault(message_id, []).append(to)
    return found


def emails_to(stack, addresses: list[str]) -> dict[str, int]:
    """Emails held for each of `addresses`; fails on a Message-ID sent twice to one of them
    (fault (b)'s crashes may repeat its own)."""
    by_id = emails_by_message_id(stack)
    doubled = {k: v for k, v in by_id.items()
               if len(v) > 1 and any(a in v[0] for a in addresses)}
    if doubled:
        raise Failed(f"{len(doubled)} emails sent twice: {list(doubled.items())[:3]}")
    return {a: sum(1 for to in by_id.values() if a in to[0]) for a in addresses}


def settled_emails(stack, addresses: list[str]) -> dict[str, int]:
    """`emails_to` once it has not changed for 2 s (at most 30 s)."""
    last, since, began = emails_to(stack, addresses), time.monotonic(), time.monotonic()
    while time.monotonic() - since < 2 and time.monotonic() - began < 30:
        time.sleep(0.3)
        now = emails_to(stack, addresses)
        if now != last:
            last, since = now, time.monotonic()
    return last


def log_lines(stack, service: str, message: str, caller: str = "", method: str = "") -> int:
    """Lines of `service`'s JSON log with `message` (and the RPC span's caller and method)."""
    count = 0
    for line in stack.logs[service].read_text(errors="replace").splitlines():
        if f'"message":"{message}"' in line and caller in line and method in line:
            count += 1
    return count


def two_replicas(stack) -> str:
    replicas = stack.add_replicas()
    for name in replicas:
        stack.start(name)
        stack.wait_serving(name)
    world = World(stack)
    second = World.__new__(World)
    second.stack = stack
    second.members = Client(stack.addr("members-2"))
    second.events = Client(stack.addr("events-2"))
    second.notifications = Client(stack.addr("notifications-2"))
    try:
        host = world.register("Host")
        attendees = [world.register(f"Twin{i}") for i in range(4)]
        event = world.event_with_attendees(host, attendees)
        watcher = attendees[0]
        streams = {}
        got: dict[str, list[str]] = {"notifications": [], "notifications-2": []}

        def follow(name: str, client: Client):
            try:
                for reply in client.stream(f"{N}/StreamNotifications", {}, watcher["token"],
                                           timeout=120):
                    told = json_format.MessageToDict(reply, preserving_proto_field_name=True)
                    update = told["notification"].get("notice", {}).get("event_updated")
                    if update and update["event"]["event_id"] == event["id"]:
                        got[name].append(told["notification"]["id"])
            except grpc.RpcError as err:
                if err.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED,
                                      grpc.StatusCode.CANCELLED):
                    raise

        for name, client in (("notifications", world.notifications),
                             ("notifications-2", second.notifications)):
            streams[name] = threading.Thread(target=follow, args=(name, client), daemon=True)
            streams[name].start()
        time.sleep(1.0)
        addresses = [a["email"] for a in attendees]
        before = settled_emails(stack, addresses)
        updates = 40
        # The host's updates alternate between the two events processes.
        for minute in range(1, updates + 1):
            via = world if minute % 2 else second
            event = via.move(host, event, minute)
        took = wait_all_told(world, attendees, event["id"], updates, within=120)
        for attendee in attendees:
            if len(second.updates_told(attendee, event["id"])) != updates:
                raise Failed("the second notifications process reads another inbox")
        # Emails: one per update per attendee more than before, never two of one.
        expected = {address: before[address] + updates for address in addresses}
        deadline = time.monotonic() + 120
        while True:
            counts = emails_to(stack, addresses)
            if counts == expected:
                break
            if any(counts[a] > expected[a] for a in expected) or time.monotonic() > deadline:
                raise Failed(f"emails per attendee {counts}, want {expected}")
            time.sleep(0.5)
        # Both live streams saw every notification of the watcher, wherever it was made.
        deadline = time.monotonic() + 30
        while any(len(v) < updates for v in got.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        if any(len(v) != updates or len(set(v)) != updates for v in got.values()):
            raise Failed(f"streams saw {[len(v) for v in got.values()]} of {updates}")
        sent = {name: log_lines(stack, name, "email sent")
                for name in ("notifications", "notifications-2")}
        relayed = {name: log_lines(stack, name, "rpc finished", "service:events", "/Deliver")
                   for name in ("notifications", "notifications-2")}
        if min(sent.values()) == 0 or min(relayed.values()) == 0:
            raise Failed(f"the work was not shared: emails sent {sent}, Deliver calls "
                         f"received {relayed}")
        total = updates * len(attendees)
        return (f"{updates} updates through both events processes for {len(attendees)} "
                f"attendees: {total} inbox notifications expected and found (read through "
                f"either notifications process), 0 doubled, {took:.1f} s; "
                f"{updates * len(attendees)} update emails expected and found, 0 sent twice; "
                f"emails sent {sent['notifications']} / {sent['notifications-2']} by the two "
                f"processes (the first's count has the earlier scenarios'); Deliver calls from the events "
                f"relays {relayed['notifications']} / {relayed['notifications-2']}; a "
                f"StreamNotifications on each notifications process got all {updates}")
    finally:
        world.close()
        for client in (second.members, second.events, second.notifications):
            client.close()
        for name in replicas:
            stack.stop(name)


SCENARIOS = [
    ("(a) notifications down during 500 updates for 20 attendees",
     notifications_down_during_updates),
    ("(b) notifications killed with SIGKILL during a 10,000-recipient delivery",
     notifications_killed_during_delivery),
    ("(c) events killed with SIGKILL every 1.5 s during updates",
     events_killed_during_updates),
    ("(d) members frozen with SIGSTOP after an event started, then resumed",
     members_unreachable),
    ("(f) PostgreSQL stopped for 4 s under load, then started",
     postgres_restarted_under_load),
    ("(6) two processes of each service over the same databases",
     two_replicas),
    ("(e) members stopped with SIGTERM with RPCs in flight, over many rounds",
     sigterm_with_rpcs_in_flight),
]
