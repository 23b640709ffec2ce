#!/usr/bin/env python3
"""Rendezvous as deployed: three processes, one PostgreSQL database each.

Usage: stack3.py [--bin-dir target/debug] [--grpcurl grpcurl] [--buf buf] [--walkthrough]
                 [--faults] [--only "(e)"] [--sigterm-rounds 30]
                 [--postgres-stop CMD --postgres-start CMD]

Starts rendezvous-members, rendezvous-events and rendezvous-notifications from the built
binaries with the environment docker-compose.yml gives each service — the same variables,
only the values that name hosts, ports, databases and files rewritten for this machine
(every service on 127.0.0.1 on free ports, PostgreSQL at RENDEZVOUS_STACK3_POSTGRES, a fresh
database per service dropped afterwards, a real SMTP server from scripts/smtp_server.py for
Mailpit, a random service secret). Then, with clients nobody on the team wrote:

  * reflection and health with grpcurl, `buf curl` and Python grpcio on each process;
  * with --walkthrough, scripts/walkthrough.sh (the PRODUCT story with grpcurl) against
    the three processes;
  * with --faults, the fault scenarios of scripts/faults.py over the processes.

Prints "stack3: ok ..." per check and "stack3: N passed" at the end; exits non-zero at the
first failure with the tail of the logs (RENDEZVOUS_STACK3_KEEP=1 keeps them whole, with the
files, in the work directory it names). Requirements: scripts/requirements-smoke.txt.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("members", "events", "notifications")
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


class Failed(Exception):
    pass


passed = 0


def ok(what: str) -> None:
    global passed
    passed += 1
    print(f"stack3: ok   {what}", flush=True)


_given_ports: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range (32768–60999 here) so
    that no outgoing connection (the services' pools to PostgreSQL, their calls to each
    other) can take it between this check and the service binding it, and never the same
    one twice in a run."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, max(low, 20001))
        if port in _given_ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise Failed("no free port below the ephemeral range")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` against `env`."""

    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        if op == ":?":
            raise Failed(f"compose needs {name}: {arg}")
        return ""

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def compose_services(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)["services"]


class Stack:
    """The three services as processes over PostgreSQL, started the way compose starts them."""

    def __init__(self, bin_dir: Path, python: str, postgres: str):
        self.bin_dir = bin_dir
        self.python = python
        self.postgres = postgres
        self.work = Path(tempfile.mkdtemp(prefix="rendezvous-stack3."))
        self.run_id = secrets.token_hex(4)
        self.secret = secrets.token_urlsafe(32)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.smtp: subprocess.Popen | None = None
        self.compose = compose_services(ROOT / "docker-compose.yml")
        # Every port compose names gets a free one here.
        self.ports: dict[int, int] = {}
        for name in (*SERVICES, "mailpit"):
            for mapping in self.compose[name].get("ports", []):
                container = int(str(mapping).rsplit(":", 1)[-1])
                self.ports[container] = free_port()
        self.databases = {s: f"stack3_{self.run_id}_{s}" for s in SERVICES}
        self.env = {s: self.environment(s) for s in SERVICES}
        # Second processes of the services ("members-2", …): what each replicates, and its
        # gRPC address.
        self.replica_of: dict[str, str] = {}
        self.replica_addrs: dict[str, str] = {}

    def addr(self, service: str) -> str:
        """The gRPC address of `service` (host:port)."""
        if service in self.replica_addrs:
            return self.replica_addrs[service]
        port = {"members": 50051, "events": 50052, "notifications": 50053}[service]
        return f"127.0.0.1:{self.ports[port]}"

    def environment(self, service: str) -> dict[str, str]:
        """Compose's environment for `service`, its values rewritten for this machine."""
        given = self.compose[service].get("environment", {})
        outer = {"RENDEZVOUS_SERVICE_SECRET": self.secret}
        env = {}
        for name, value in given.items():
            value = interpolate(str(value), outer)
            for container, port in self.ports.items():
                value = re.sub(rf"(?<=:){container}\b", str(port), value)
            value = re.sub(r"\b(0\.0\.0\.0|localhost|members|events|notifications|mailpit)(?=:)",
                           "127.0.0.1", value)
            if name == "RENDEZVOUS_DATABASE_URL":
                db = value.rsplit("/", 1)[-1]
                value = f"{self.postgres.rsplit('/', 1)[0]}/{self.databases[db]}"
            if name.endswith("_FILE"):
                value = str(self.work / service / Path(value).name)
            if name == "RENDEZVOUS_PEER_KEYS_DIR":
                value = str(self.work / "peer-keys")
            env[name] = value
        return env

    def add_replicas(self) -> list[str]:
        """Second processes of the three services over the same databases (and the same
        token signing key), on ports of their own, calling each other; returns their names.
        Start them with `start`, members first."""
        names = {s: f"{s}-2" for s in SERVICES}
        for service, name in names.items():
            self.replica_of[name] = service
            self.replica_addrs[name] = f"127.0.0.1:{free_port()}"
        for service, name in names.items():
            env = dict(self.env[service])
            for variable in ("RENDEZVOUS_FEED_ADDR", "RENDEZVOUS_HTTP_ADDR",
                             "RENDEZVOUS_METRICS_ADDR"):
                if variable in env:
                    env[variable] = f"127.0.0.1:{free_port()}"
            env["RENDEZVOUS_LISTEN_ADDR"] = self.replica_addrs[name]
            for peer in SERVICES:
                variable = f"RENDEZVOUS_{peer.upper()}_URL"
                if variable in env:
                    env[variable] = f"http://{self.replica_addrs[names[peer]]}"
            self.env[name] = env
        return list(names.values())

    def psql(self, sql: str) -> None:
        subprocess.run(["psql", self.postgres, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                       check=True, capture_output=True)

    def start_smtp(self) -> None:
        mail_dir = self.work / "mail"
        mail_dir.mkdir()
        port = self.ports[1025]
        self.smtp = subprocess.Popen(
            [self.python, str(ROOT / "scripts/smtp_server.py"), "--port", str(port),
             "--dir", str(mail_dir)],
            stdout=subprocess.PIPE, text=True)
        line = self.smtp.stdout.readline() if self.smtp.stdout else ""
        if self.smtp.stdout:
            self.smtp.stdout.close()
        if not line.startswith("ready"):
            raise Failed(f"the SMTP server did not start: {line!r}")

    def generate_service_keys(self) -> None:
        """What compose's `service-keys` does: `rendezvous keys generate`, each private key
        into its service's folder, the public keys into the peer-keys folder."""
        generated = self.work / "service-keys"
        if generated.exists():
            return
        subprocess.run([str(self.bin_dir / "rendezvous"), "keys", "generate", "--out",
                        str(generated)], check=True, capture_output=True)
        peers = self.work / "peer-keys"
        peers.mkdir(mode=0o700, exist_ok=True)
        for service in SERVICES:
            (self.work / service).mkdir(exist_ok=True)
            shutil.copy(generated / f"{service}.key.pem", self.work / service)
            shutil.copy(generated / f"{service}.pub.pem", peers)

    def start(self, service: str, extra_env: dict[str, str] | None = None) -> None:
        """Starts `service` with compose's environment, plus `extra_env` (a scenario's own
        setting, e.g. a short drain window, never one of compose's variables)."""
        self.generate_service_keys()
        (self.work / service).mkdir(exist_ok=True)
        if service in self.replica_of:
            (self.work / self.replica_of[service]).mkdir(exist_ok=True)
        log = self.work / f"{service}.log"
        self.logs[service] = log
        command = self.compose[self.replica_of.get(service, service)]["command"]
        binary = self.bin_dir / command[0]
        extra = extra_env or {}
        if self.replica_of.get(service, service) == "members":
            # The harness registers hundreds of members, all from 127.0.0.1: registrations per
            # client address are not what it tests.
            extra = {"RENDEZVOUS_REGISTRATIONS_PER_PEER_PER_HOUR": "1000000", **extra}
        clash = set(extra) & set(self.env[service])
        if clash:
            raise Failed(f"a scenario may not override compose's {sorted(clash)}")
        env = {**os.environ, **self.env[service], **extra}
        with open(log, "ab") as out:
            self.procs[service] = subprocess.Popen(
                [str(binary), *command[1:]], env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)

    def wait_serving(self, service: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            proc = self.procs[service]
            if proc.poll() is not None:
                raise Failed(f"{service} exited with {proc.returncode} before serving")
            health = subprocess.run(
                [str(self.bin_dir / "rendezvous"), "health", self.addr(service),
                 "--timeout-secs", "1"], capture_output=True)
            if health.returncode == 0:
                return
            time.sleep(0.2)
        raise Failed(f"{service} was not SERVING within {within:.0f} s")

    def stop(self, service: str, sig: int = signal.SIGTERM, within: float = 30.0) -> int:
        proc = self.procs[service]
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(within)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def up(self) -> None:
        for db in self.databases.values():
            self.psql(f'CREATE DATABASE "{db}"')
        self.start_smtp()
        # In compose's order: events and notifications wait for members to be healthy.
        self.start("members")
        self.wait_serving("members")
        for service in ("events", "notifications"):
            self.start(service)
        for service in ("events", "notifications"):
            self.wait_serving(service)

    def down(self) -> None:
        for service in [*self.replica_of, *SERVICES]:
            if service in self.procs:
                self.stop(service)
        if self.smtp and self.smtp.poll() is None:
            self.smtp.terminate()
            self.smtp.wait(10)
        for db in self.databases.values():
            try:
                self.psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            except subprocess.CalledProcessError as e:
                print(f"stack3: could not drop {db}: {e.stderr}", file=sys.stderr)
        if os.environ.get("RENDEZVOUS_STACK3_KEEP"):
            print(f"stack3: logs and files kept in {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def tail_logs(self) -> None:
        for service, log in self.logs.items():
            print(f"---- last 30 lines of {service}, backtrace frames left out ({log}) ----", file=sys.stderr)
            try:
                # A backtrace's frames would push the error itself out of the tail.
                lines = [line for line in log.read_text(errors="replace").splitlines()
                         if not re.match(r"^\s+(\d+: |at )", line)][-30:]
            except OSError:
                lines = []
            print("\n".join(lines), file=sys.stderr)


def check_same_variables(stack: Stack) -> None:
    """What each process got is exactly what compose gives its service."""
    for service in SERVICES:
        given = set(stack.compose[service].get("environment", {}))
        passed_on = set(stack.env[service])
        if given != passed_on:
            raise Failed(f"{service}: compose gives {sorted(given)}, the stack passes "
                         f"{sorted(passed_on)}")
    ok("each process runs with exactly the variables docker-compose.yml gives its service")


def check_clients(stack: Stack, grpcurl: str, buf: str, python: str) -> None:
    expected = {
        "members": "rendezvous.members.v1.MemberService",
        "events": "rendezvous.events.v1.EventService",
        "notifications": "rendezvous.notifications.v1.NotificationService",
    }
    for service, name in expected.items():
        listed = subprocess.run([grpcurl, "-plaintext", stack.addr(service), "list"],
                                capture_output=True, text=True)
        if name not in listed.stdout.split():
            raise Failed(f"grpcurl list on {service}: {listed.stdout}{listed.stderr}")
        health = subprocess.run(
            [buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
             f"http://{stack.addr(service)}/grpc.health.v1.Health/Check"],
            capture_output=True, text=True)
        if '"SERVING"' not in health.stdout:
            raise Failed(f"buf curl health on {service}: {health.stdout}{health.stderr}")
    ok("grpcurl lists each process's service over reflection; buf curl sees each SERVING")
    smoke = subprocess.run([python, str(ROOT / "scripts/smoke_client.py"), stack.addr("members")],
                           capture_output=True, text=True)
    if smoke.returncode != 0:
        raise Failed(f"Python grpcio over reflection: {smoke.stdout}{smoke.stderr}")
    ok("Python grpcio registers and reads a member over reflection on the members process")


def scrape(stack: Stack, service: str) -> dict[str, float]:
    """`service`'s Prometheus metrics, from the port compose publishes for them: each sample
    line `name{labels}` → value."""
    metrics = port_of(stack.env[service]["RENDEZVOUS_METRICS_ADDR"])
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def check_metrics(stack: Stack) -> None:
    """Each process serves its own metrics where compose says: the RPCs it answered (members
    the signing keys its two peers fetched at start), and its outbox gauges."""
    wanted = {
        "members": ['rendezvous_rpc_requests_total{code="OK",'
                    'method="/rendezvous.members.v1.MemberInternalService/GetSigningKeys"}',
                    'rendezvous_outbox_dead_rows{outbox="members"}'],
        "events": ['rendezvous_rpc_requests_total{code="OK",'
                   'method="/grpc.health.v1.Health/Check"}',
                   'rendezvous_outbox_dead_rows{outbox="events"}'],
        "notifications": ['rendezvous_rpc_requests_total{code="OK",'
                          'method="/grpc.health.v1.Health/Check"}'],
    }
    for service, names in wanted.items():
        samples = scrape(stack, service)
        for name in names:
            if name not in samples:
                raise Failed(f"{service}'s metrics have no {name}")
        if "GetSigningKeys" in names[0] and samples[names[0]] < 2:
            raise Failed(f"members answered GetSigningKeys {samples[names[0]]} times, not ≥ 2")
        if any(samples[name] != 0 for name in names[1:]):
            raise Failed(f"{service} has dead letters: {names[1:]}")
    ok("each process serves its own Prometheus metrics on the port compose publishes")


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[-1])


def run_walkthrough(stack: Stack, grpcurl: str, python: str) -> None:
    env = {
        **os.environ,
        "WALKTHROUGH_EXTERNAL": "1",
        "MEMBERS": stack.addr("members"),
        "EVENTS": stack.addr("events"),
        "NOTIFICATIONS": stack.addr("notifications"),
        "GRPCURL": grpcurl,
        "PYTHON": python,
        "RENDEZVOUS_BIN": str(stack.bin_dir / "rendezvous"),
    }
    walk = subprocess.run(["bash", str(ROOT / "scripts/walkthrough.sh")], env=env,
                          capture_output=True, text=True)
    steps = re.search(r"walkthrough: (\d+) steps passed", walk.stdout)
    if walk.returncode != 0 or not steps:
        raise Failed(f"the walkthrough over three processes:\n{walk.stdout[-4000:]}"
                     f"\n{walk.stderr[-2000:]}")
    ok(f"the PRODUCT story with grpcurl over three processes on PostgreSQL "
       f"({steps.group(1)} steps)")


def postgres_control(stop: str, start: str, default_postgres: bool) -> tuple[list[str], list[str]]:
    """The commands that stop and start the stack's PostgreSQL: given, or, when the stack runs
    on the default PostgreSQL, pg_ctlcluster's on the cluster of /etc/postgresql (CI's); none
    otherwise, so that a stack on another server never stops this one."""
    if stop and start:
        return (["sh", "-c", stop], ["sh", "-c", start])
    if not default_postgres:
        return ([], [])
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*")) if Path(
        "/etc/postgresql").is_dir() else []
    if not versions:
        return ([], [])
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]
    return ([*cluster, "stop", "-m", "fast"], [*cluster, "start"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=str(ROOT / "target/debug"))
    parser.add_argument("--grpcurl", default="grpcurl")
    parser.add_argument("--buf", default=str(ROOT / "node_modules/.bin/buf"))
    parser.add_argument("--walkthrough", action="store_true")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--only", default="", help="run only the faults whose name has this")
    parser.add_argument("--postgres-stop", default=os.environ.get("RENDEZVOUS_STACK3_POSTGRES_STOP", ""),
                        help="shell command stopping the stack's PostgreSQL, for fault (f) "
                             "(env RENDEZVOUS_STACK3_POSTGRES_STOP); default, when the stack "
                             "runs on the default PostgreSQL: pg_ctlcluster on the cluster of "
                             "/etc/postgresql")
    parser.add_argument("--postgres-start", default=os.environ.get("RENDEZVOUS_STACK3_POSTGRES_START", ""),
                        help="the command starting it again (RENDEZVOUS_STACK3_POSTGRES_START)")
    parser.add_argument("--sigterm-rounds", type=int, default=30,
                        help="rounds of fault (e): SIGTERM with RPCs in flight")
    args = parser.parse_args()
    postgres = os.environ.get("RENDEZVOUS_STACK3_POSTGRES", DEFAULT_POSTGRES)
    stack = Stack(Path(args.bin_dir).resolve(), sys.executable, postgres)
    stack.sigterm_rounds = args.sigterm_rounds
    stack.postgres_control = postgres_control(args.postgres_stop, args.postgres_start,
                                              postgres == DEFAULT_POSTGRES)
    try:
        check_same_variables(stack)
        stack.up()
        ok("members, events and notifications SERVING as three processes, one database each")
        check_clients(stack, args.grpcurl, args.buf, sys.executable)
        check_metrics(stack)
        if args.walkthrough:
            run_walkthrough(stack, args.grpcurl, sys.executable)
        if args.faults:
            import faults

            for name, scenario in faults.SCENARIOS:
                if args.only not in name:
                    continue
                outcome = scenario(stack)
                ok(f"fault {name}: {outcome}")
    except Exception as e:  # noqa: BLE001 - any failure is reported with the logs
        print(f"stack3: FAIL: {e}", file=sys.stderr)
        stack.tail_logs()
        print(f"stack3: {passed} passed, 1 failed")
        return 1
    finally:
        stack.down()
    print(f"stack3: {passed} passed")
    return 0


if __name__ == "__main__":
    # Run as the module `stack3`, the one scripts/faults.py imports, so that both raise and
    # catch the same Failed.
    import stack3

    sys.exit(stack3.main())
