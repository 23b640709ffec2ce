"""Fault scenarios over the three processes of scripts/stack3.py, driven by Python grpcio
with request and response types built at run time from each process's reflection (no
generated stubs). Each scenario returns its figures as one line; a broken guarantee raises
stack3.Failed.

(a) notifications stopped while 500 updates of an event with 20 attendees happen: once it is
    back, each attendee holds exactly one EVENT_UPDATED per update.
(c) events killed with SIGKILL while its host keeps updating: every acknowledged update is
    told to every attendee exactly once, after events restarts.
"""

from __future__ import annotations

import datetime as dt
import signal
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
        self.calls: dict[str, tuple] = {}

    def call(self, method: str, body: dict, token: str | None = None,
             timeout: float = TIMEOUT_S) -> dict:
        service, name = method.rsplit("/", 1)
        if method not in self.calls:
            desc = self.pool.FindServiceByName(service).methods_by_name[name]
            request = message_factory.GetMessageClass(desc.input_type)
            response = message_factory.GetMessageClass(desc.output_type)
            stub = self.channel.unary_unary(f"/{method}",
                                            request_serializer=request.SerializeToString,
                                            response_deserializer=response.FromString)
            self.calls[method] = (stub, request)
        stub, request = self.calls[method]
        metadata = (("authorization", f"Bearer {token}"),) if token else None
        reply = stub(json_format.ParseDict(body, request()), metadata=metadata, timeout=timeout)
        return json_format.MessageToDict(reply, preserving_proto_field_name=True)

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
        host = world.register("Host")
        attendees = [world.register(f"Attendee{i}") for i in range(20)]
        for attendee in attendees:
            world.no_update_emails(attendee)
        event = world.event_with_attendees(host, attendees)
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


def events_killed_during_updates(stack) -> str:
    world = World(stack)
    try:
        host = world.register("Host")
        attendees = [world.register(f"Guest{i}") for i in range(5)]
        for attendee in attendees:
            world.no_update_emails(attendee)
        event = world.event_with_attendees(host, attendees)
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


def reread(world: World, host: dict, event: dict) -> dict:
    """The event as events holds it, once it answers again."""
    deadline = time.monotonic() + 30
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


SCENARIOS = [
    ("(a) notifications down during 500 updates for 20 attendees",
     notifications_down_during_updates),
    ("(c) events killed with SIGKILL every 1.5 s during updates",
     events_killed_during_updates),
]
