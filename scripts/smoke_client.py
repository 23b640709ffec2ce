#!/usr/bin/env python3
"""Smoke client for a running Rendezvous server, with no generated stubs.

Usage: smoke_client.py HOST:PORT

It checks, in order:
  1. grpc.health.v1.Health/Check answers SERVING (grpcio-health-checking);
  2. server reflection v1alpha (grpcio-reflection) lists and resolves
     rendezvous.members.v1.MemberService;
  3. Register, called with request/response classes built at run time from the reflected
     descriptors, returns a member id and an access token;
  4. GetMember `me` with `authorization: Bearer <token>` returns that member.

Exits 0 when every check passes, 1 on the first failure.
Requirements: scripts/requirements-smoke.txt.
"""

from __future__ import annotations

import sys
import uuid

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "rendezvous.members.v1.MemberService"
TIMEOUT_S = 10.0


class CheckFailed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)
    print(f"smoke_client: ok   {what}", flush=True)


def unary(channel: grpc.Channel, pool: descriptor_pool.DescriptorPool, method: str):
    """A callable for SERVICE/method, plus its request and response classes."""
    service = pool.FindServiceByName(SERVICE)
    desc = service.methods_by_name.get(method)
    if desc is None:
        raise CheckFailed(f"{SERVICE} has a method {method}")
    request_cls = message_factory.GetMessageClass(desc.input_type)
    response_cls = message_factory.GetMessageClass(desc.output_type)
    call = channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )
    return call, request_cls


def run(target: str) -> int:
    checks = 0
    with grpc.insecure_channel(target) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
        except grpc.FutureTimeoutError:
            raise CheckFailed(f"connect to {target} within {TIMEOUT_S:.0f}s") from None

        # 1. Health.
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_S)
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        check(reply.status == health_pb2.HealthCheckResponse.SERVING,
              f"health Check('') is SERVING (got {status})")
        checks += 1

        # 2. Reflection v1alpha.
        db = ProtoReflectionDescriptorDatabase(channel)
        services = list(db.get_services())
        check(SERVICE in services, f"reflection v1alpha lists {SERVICE} (services: {services})")
        checks += 1
        pool = descriptor_pool.DescriptorPool(db)
        service = pool.FindServiceByName(SERVICE)
        methods = sorted(service.methods_by_name)
        check({"Register", "Login", "GetMember"} <= set(methods),
              f"reflection resolves {SERVICE} with Register, Login, GetMember "
              f"({len(methods)} methods)")
        checks += 1

        # 3. Register, with a message built from the reflected descriptor.
        register, register_request = unary(channel, pool, "Register")
        email = f"py-{uuid.uuid4().hex[:12]}@example.com"
        request = register_request(
            email=email,
            password="correct horse battery staple",
            display_name="Py Smoke",
            city="Lyon",
            locale="fr",
            time_zone="Europe/Paris",
        )
        response = register(request, timeout=TIMEOUT_S)
        member_id = response.member.id
        token = response.session.access_token
        check(bool(member_id), f"Register({email}) returns a member id ({member_id})")
        checks += 1
        check(bool(token), "Register returns an access token")
        checks += 1

        # 4. GetMember `me`, signed in.
        get_member, get_member_request = unary(channel, pool, "GetMember")
        response = get_member(
            get_member_request(id="me"),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=TIMEOUT_S,
        )
        me = response.member
        check(me.id == member_id, f"GetMember(me) returns the same id ({me.id})")
        checks += 1
        check(me.email == email and me.display_name == "Py Smoke",
              "GetMember(me) returns the email and display name: "
              + json_format.MessageToJson(me, indent=None))
        checks += 1

        # Without a token, `me` must be refused.
        try:
            get_member(get_member_request(id="me"), timeout=TIMEOUT_S)
        except grpc.RpcError as err:
            code = err.code()
            check(code == grpc.StatusCode.UNAUTHENTICATED,
                  f"GetMember(me) without a token is UNAUTHENTICATED (got {code.name})")
        else:
            raise CheckFailed("GetMember(me) without a token is refused (it answered)")
        checks += 1

    print(f"smoke_client: {checks} passed, 0 failed", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} HOST:PORT", file=sys.stderr)
        return 2
    try:
        return run(argv[1])
    except CheckFailed as err:
        print(f"smoke_client: FAIL {err}", file=sys.stderr, flush=True)
    except grpc.RpcError as err:
        print(f"smoke_client: FAIL RPC error {err.code().name}: {err.details()}",
              file=sys.stderr, flush=True)
    except KeyError as err:
        print(f"smoke_client: FAIL reflection could not resolve {err}",
              file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
