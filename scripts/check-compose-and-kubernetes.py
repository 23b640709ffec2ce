#!/usr/bin/env python3
"""Checks the deployment files that nothing here can run (no container engine, no cluster).

docker-compose.yml
  * parsed against the compose-spec schema, the one `docker compose` validates against
    (check-jsonschema's vendored copy: `--builtin-schema vendor.compose-spec`);
  * every variable given to a Rendezvous service is one its binary reads (the `[env: …]` lines
    of the built binary's `--help`), so a renamed variable fails here; the database URL and the
    service secret are given, the secret only through a required `${…:?…}` interpolation (no
    default), development mode is off;
  * every published port is bound to 127.0.0.1, every service has a restart policy, health
    checks probe the port the service listens on, peer URLs name a service and its port.

.dockerignore
  * keeps `.git`, `target/`, `.rendezvous/`, `node_modules/`, keys (`*.pem`) and `.env` out of
    the build context, and lets in every tracked file the image build reads (its patterns are
    matched the way Docker matches them).

deploy/kubernetes/base
  * kustomization.yaml lists every manifest in the folder, and only those;
  * each manifest validates strictly against the Kubernetes schemas of 1.27 (the first with
    gRPC probes) and of the newest version kubernetes-validate knows; an unknown kind or
    apiVersion is an error;
  * when `kubectl` is on PATH, `kubectl kustomize` renders the base to the same resources;
  * per Deployment: variables its binary reads, secrets only from the Secret `rendezvous`
    (keys the README's `kubectl create secret` command creates), gRPC startup, readiness and
    liveness probes on the listen port, a non-root, read-only, capability-less container with
    resources, and a Service and a PodDisruptionBudget that select its pods.

Before checking the real files, it checks itself: each rule must catch a broken copy of them.

Usage: scripts/check-compose-and-kubernetes.py [--bin-dir target/debug]
(requirements: scripts/requirements-deploy.txt)
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
KUBERNETES = ROOT / "deploy" / "kubernetes" / "base"
README = ROOT / "README.md"

SERVICE_BINARIES = ("rendezvous-members", "rendezvous-events", "rendezvous-notifications")
# The one-shot compose service that generates the service keys (`rendezvous keys generate`).
KEYGEN = "service-keys"
# The Secret the operator creates (README, "Kubernetes").
SECRET_NAME = "rendezvous"
# Kubernetes versions the manifests must be valid for: the first with GA gRPC probes, the newest.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
# What must never enter the image's build context, as paths in the repository.
NOT_IN_CONTEXT = (
    ".git/HEAD",
    "target/debug/rendezvous",
    ".rendezvous/members.db",
    "node_modules/@bufbuild/buf/package.json",
    "token-signing-key.pem",
    "deploy/keys/token-signing-key.pem",
    ".env",
)
# What the image build reads from the context: every tracked file of these.
BUILD_INPUTS = ("Cargo.toml", "Cargo.lock", "crates", "services", "proto")
# Variables whose value is a secret: given only through a required interpolation (compose) or
# a secretKeyRef (Kubernetes).
SECRET_VARIABLES = re.compile(r"^RENDEZVOUS_.*(SECRET|PASSWORD|_KEY$)")
# URLs that carry credentials: from the Secret on Kubernetes. (In compose the database URLs name
# the PostgreSQL of the compose network, which is not published.)
CREDENTIAL_URLS = ("RENDEZVOUS_DATABASE_URL", "RENDEZVOUS_SMTP_URL")
# The variables that name an address a service listens on (gRPC, feeds, unsubscribe).
LISTEN_VARIABLES = (
    "RENDEZVOUS_LISTEN_ADDR",
    "RENDEZVOUS_FEED_ADDR",
    "RENDEZVOUS_HTTP_ADDR",
    "RENDEZVOUS_METRICS_ADDR",
)
PEER_VARIABLES = ("RENDEZVOUS_MEMBERS_URL", "RENDEZVOUS_EVENTS_URL", "RENDEZVOUS_NOTIFICATIONS_URL")


class Binaries:
    """The variables each built binary reads, from its `--help`."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self._env: dict[str, set[str]] = {}

    def env(self, binary: str) -> set[str]:
        if binary not in self._env:
            path = self.bin_dir / binary
            if not path.is_file():
                raise SystemExit(f"no {path}: build it first (cargo build --locked --bins)")
            help_text = subprocess.run(
                [str(path), "--help"], capture_output=True, text=True, check=True
            ).stdout
            names = set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", help_text))
            if not names:
                raise SystemExit(f"{path} --help lists no [env: …] variable")
            self._env[binary] = names
        return self._env[binary]

    def has_health_probe(self) -> bool:
        path = self.bin_dir / "rendezvous"
        return (
            path.is_file()
            and subprocess.run([str(path), "health", "--help"], capture_output=True).returncode == 0
        )


# --- docker compose ---------------------------------------------------------------------------

INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>))"
)


def interpolations(value: str) -> list[tuple[str, str | None]]:
    """The variables compose would substitute in `value`, each with its operator (`:?`, `:-`,
    … or None); a `$` that starts nothing compose knows is an error."""
    found = []
    for match in INTERPOLATION.finditer(value):
        if match["invalid"] is not None:
            raise ValueError(f"invalid interpolation in {value!r}")
        if match["escaped"]:
            continue
        found.append((match["braced"] or match["bare"], match["op"]))
    return found


def port_of(address: str) -> int | None:
    match = re.fullmatch(r".*:(\d+)", address)
    return int(match[1]) if match else None


def service_environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def check_compose(compose: dict, binaries: Binaries) -> list[str]:
    problems = []
    services = compose.get("services") or {}
    listen_ports = {}
    for name, service in services.items():
        env = service_environment(service)
        listen_ports[name] = port_of(env.get("RENDEZVOUS_LISTEN_ADDR", "")) or 0
    for name, service in services.items():
        where = f"docker-compose.yml: {name}"
        restart = str(service.get("restart", ""))
        if restart not in ("always", "unless-stopped") and not restart.startswith("on-failure"):
            problems.append(f"{where}: no restart policy (restart: unless-stopped)")
        if service.get("network_mode") == "host":
            problems.append(f"{where}: network_mode host publishes every port on every interface")
        for port in service.get("ports") or []:
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            if host_ip != "127.0.0.1" or (not isinstance(port, dict) and str(port).count(":") != 2):
                problems.append(f"{where}: port {port!r} is not bound to 127.0.0.1")
        env = service_environment(service)
        for variable, value in env.items():
            try:
                used = interpolations(value)
            except ValueError as error:
                problems.append(f"{where}: {variable}: {error}")
                continue
            if SECRET_VARIABLES.search(variable):
                if not used or any(op != ":?" for _, op in used):
                    problems.append(
                        f"{where}: {variable} must come from a required ${{…:?…}} "
                        "interpolation: a default or a literal is a published secret"
                    )
        if "build" not in service or name == KEYGEN:
            continue
        command = service.get("command") or []
        binary = command[0] if isinstance(command, list) and command else None
        if binary not in SERVICE_BINARIES:
            problems.append(f"{where}: command {command!r} names no service binary")
            continue
        read = binaries.env(binary)
        for variable in env:
            if variable not in read:
                problems.append(f"{where}: {binary} does not read {variable}")
        for required in (
            "RENDEZVOUS_SERVICE_SECRET",
            "RENDEZVOUS_DATABASE_URL",
            "RENDEZVOUS_METRICS_ADDR",
            "RENDEZVOUS_SERVICE_KEY_FILE",
            "RENDEZVOUS_PEER_KEYS_DIR",
        ):
            if required not in env:
                problems.append(f"{where}: {required} is not given")
        problems += check_compose_service_key(compose, name, service, env)
        if not env.get("RENDEZVOUS_DATABASE_URL", "").startswith("postgres://"):
            problems.append(f"{where}: RENDEZVOUS_DATABASE_URL is not a PostgreSQL URL")
        if env.get("RENDEZVOUS_DEVELOPMENT", "0").lower() not in ("0", "false", "no", "off", ""):
            problems.append(f"{where}: runs in development mode")
        published = set()
        for port in service.get("ports") or []:
            target = port.get("target") if isinstance(port, dict) else str(port).rsplit(":", 1)[-1]
            published.add(int(str(target).split("/")[0]))
        for variable in LISTEN_VARIABLES:
            port = port_of(env.get(variable, ""))
            if port is not None and port not in published:
                problems.append(f"{where}: {variable} port {port} is not published")
        test = (service.get("healthcheck") or {}).get("test") or []
        expected = ["CMD", "rendezvous", "health", f"127.0.0.1:{listen_ports[name]}"]
        if test != expected:
            problems.append(f"{where}: healthcheck {test!r}, expected {expected!r}")
        for variable in PEER_VARIABLES:
            if variable in env:
                match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", env[variable])
                if not match or listen_ports.get(match[1]) != int(match[2]):
                    problems.append(
                        f"{where}: {variable}={env[variable]} names no service on that port"
                    )
    if not binaries.has_health_probe():
        problems.append("docker-compose.yml: health checks need `rendezvous health`")
    return problems


def volume_at(service: dict, path: str) -> str | None:
    """The named volume `service` mounts at the folder holding `path`."""
    folder = path.rsplit("/", 1)[0]
    for volume in service.get("volumes") or []:
        source, _, target = str(volume).partition(":")
        if target.split(":")[0] == folder:
            return source
    return None


def check_compose_service_key(compose: dict, name: str, service: dict, env: dict) -> list[str]:
    """A service's private key lies in a volume of its own (only the key generator shares it),
    and the service starts once the generator has finished."""
    where = f"docker-compose.yml: {name}"
    problems = []
    key_file = env.get("RENDEZVOUS_SERVICE_KEY_FILE", "")
    volume = volume_at(service, key_file)
    if volume is None:
        problems.append(f"{where}: RENDEZVOUS_SERVICE_KEY_FILE={key_file} is in no volume")
    else:
        for other, spec in compose.get("services", {}).items():
            if other in (name, KEYGEN):
                continue
            if any(str(v).partition(":")[0] == volume for v in spec.get("volumes") or []):
                problems.append(f"{where}: its private key volume {volume} is mounted by {other} too")
    if volume_at(service, env.get("RENDEZVOUS_PEER_KEYS_DIR", "") + "/x") is None:
        problems.append(f"{where}: RENDEZVOUS_PEER_KEYS_DIR is in no volume")
    condition = ((service.get("depends_on") or {}).get(KEYGEN) or {}).get("condition")
    if condition != "service_completed_successfully":
        problems.append(f"{where}: does not wait for {KEYGEN} to complete")
    return problems


def check_compose_schema(path: Path) -> list[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return [f"{path.name} against the compose-spec schema:\n{result.stdout}{result.stderr}"]
    return []


# --- .dockerignore ----------------------------------------------------------------------------


def dockerignore_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker reads it (Go's filepath.Match plus `**`), anchored at
    the context root; it also excludes everything below a matching folder."""
    pattern = pattern.strip().lstrip("/").rstrip("/")
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        else:
            char = pattern[i]
            regex += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
            i += 1
    return re.compile(f"{regex}(?:/.*)?")


def excluded(path: str, lines: list[str]) -> bool:
    result = False
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if dockerignore_regex(line.lstrip("!")).fullmatch(path):
            result = not negate
    return result


def check_dockerignore(lines: list[str]) -> list[str]:
    problems = [
        f".dockerignore: {path} would be in the build context"
        for path in NOT_IN_CONTEXT
        if not excluded(path, lines)
    ]
    problems += [
        f".dockerignore: {path} is needed by the build but excluded"
        for path in build_inputs()
        if excluded(path, lines)
    ]
    return problems


def build_inputs() -> list[str]:
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--", *BUILD_INPUTS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if "Cargo.lock" not in tracked:
        raise SystemExit("git ls-files lists no Cargo.lock: not a checkout of this repository?")
    return tracked


# --- Kubernetes -------------------------------------------------------------------------------


def load_manifests(folder: Path) -> tuple[dict, dict[str, list[dict]]]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    manifests = {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for path in sorted(folder.glob("*.yaml"))
        if path.name != "kustomization.yaml"
    }
    return kustomization, manifests


def readme_secret_keys(readme: str) -> set[str]:
    """The keys the README's `kubectl create secret generic rendezvous` command creates."""
    match = re.search(r"kubectl create secret generic rendezvous\s(.*?)\n```", readme, re.S)
    if not match:
        return set()
    return set(re.findall(r"--from-(?:literal|file)=([A-Za-z0-9.-]+)=", match[1]))


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_kubernetes(
    kustomization: dict, manifests: dict[str, list[dict]], binaries: Binaries, secret_keys: set[str]
) -> list[str]:
    problems = []
    listed = kustomization.get("resources") or []
    if sorted(listed) != sorted(manifests):
        problems.append(
            f"kustomization.yaml lists {sorted(listed)}, the folder holds {sorted(manifests)}"
        )
    for generator in kustomization.get("secretGenerator") or []:
        if generator.get("literals") or generator.get("files") or generator.get("envs"):
            problems.append("kustomization.yaml: a secretGenerator commits secret values")
    docs = [(file, doc) for file, file_docs in manifests.items() for doc in file_docs]
    for file, doc in docs:
        kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                problems.append(f"{file}: {kind}/{name} on {version}: {path}: {error.message}")
            except (
                kubernetes_validate.SchemaNotFoundError,
                kubernetes_validate.InvalidSchemaError,
            ) as error:
                problems.append(f"{file}: {kind}/{name} on {version}: {error.message}")
        if kind == "Secret" and (doc.get("data") or doc.get("stringData")):
            problems.append(f"{file}: Secret/{name} commits secret values")

    by_kind: dict[str, dict[str, dict]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    config_keys = {
        name: set((doc.get("data") or {}).keys())
        for name, doc in by_kind.get("ConfigMap", {}).items()
    }
    service_ports = {
        name: {port["port"] for port in doc["spec"].get("ports", [])}
        for name, doc in by_kind.get("Service", {}).items()
    }
    for name, deployment in by_kind.get("Deployment", {}).items():
        where = f"Deployment/{name}"
        template = deployment["spec"]["template"]
        labels = template["metadata"].get("labels") or {}
        if not selects(deployment["spec"]["selector"].get("matchLabels"), labels):
            problems.append(f"{where}: its selector does not select its own pods")
        pod = template["spec"]
        pod_security = pod.get("securityContext") or {}
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pods may run as root (runAsNonRoot)")
        for container in pod["containers"]:
            where = f"Deployment/{name} container {container['name']}"
            command = container.get("command") or []
            binary = command[0] if command else None
            if binary not in SERVICE_BINARIES:
                problems.append(f"{where}: command {command!r} names no service binary")
                continue
            read = binaries.env(binary)
            env = {item["name"]: item for item in container.get("env") or []}
            for variable, item in env.items():
                if variable not in read:
                    problems.append(f"{where}: {binary} does not read {variable}")
                source = item.get("valueFrom") or {}
                if SECRET_VARIABLES.search(variable) or variable in CREDENTIAL_URLS:
                    secret_ref = source.get("secretKeyRef") or {}
                    if secret_ref.get("name") != SECRET_NAME:
                        problems.append(
                            f"{where}: {variable} is not read from the Secret {SECRET_NAME}"
                        )
                    elif secret_ref.get("key") not in secret_keys:
                        problems.append(
                            f"{where}: {variable} reads key {secret_ref.get('key')!r}, which the "
                            "README's `kubectl create secret` command does not create"
                        )
                config_ref = source.get("configMapKeyRef")
                if config_ref and config_ref.get("key") not in config_keys.get(
                    config_ref.get("name"), set()
                ):
                    problems.append(f"{where}: {variable} reads a ConfigMap key nobody defines")
            for required in (
                "RENDEZVOUS_SERVICE_SECRET",
                "RENDEZVOUS_DATABASE_URL",
                "RENDEZVOUS_LISTEN_ADDR",
                "RENDEZVOUS_METRICS_ADDR",
                "RENDEZVOUS_SERVICE_KEY_FILE",
                "RENDEZVOUS_PEER_KEYS_DIR",
            ):
                if required not in env:
                    problems.append(f"{where}: {required} is not given")
            if env.get("RENDEZVOUS_DEVELOPMENT"):
                problems.append(f"{where}: runs in development mode")
            for variable in PEER_VARIABLES:
                value = (env.get(variable) or {}).get("value")
                if value is not None:
                    match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", value)
                    if not match or int(match[2]) not in service_ports.get(match[1], set()):
                        problems.append(f"{where}: {variable}={value} names no Service port")
            container_ports = {
                port["containerPort"]: port.get("name") for port in container.get("ports") or []
            }
            for variable in LISTEN_VARIABLES:
                port = port_of((env.get(variable) or {}).get("value", ""))
                if port is not None and port not in container_ports:
                    problems.append(f"{where}: {variable} port {port} is not a container port")
            metrics = port_of((env.get("RENDEZVOUS_METRICS_ADDR") or {}).get("value", ""))
            annotations = template["metadata"].get("annotations") or {}
            wanted = {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(metrics),
                "prometheus.io/path": "/metrics",
            }
            if metrics is not None and any(annotations.get(k) != v for k, v in wanted.items()):
                problems.append(
                    f"{where}: the pod's scrape annotations "
                    f"{ {k: annotations.get(k) for k in wanted} } do not name its metrics port "
                    f"({wanted})"
                )
            listen = port_of((env.get("RENDEZVOUS_LISTEN_ADDR") or {}).get("value", ""))
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                grpc = (container.get(probe) or {}).get("grpc") or {}
                if grpc.get("port") != listen:
                    problems.append(f"{where}: {probe} is not a gRPC health probe on port {listen}")
            security = container.get("securityContext") or {}
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: the root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation is allowed")
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where}: capabilities are not dropped")
            resources = container.get("resources") or {}
            for field in ("requests.cpu", "requests.memory", "limits.memory"):
                section, key = field.split(".")
                if key not in (resources.get(section) or {}):
                    problems.append(f"{where}: no resources.{field}")
            service = by_kind.get("Service", {}).get(name)
            if service is None or not selects(service["spec"].get("selector"), labels):
                problems.append(f"Deployment/{name}: no Service {name} selects its pods")
            else:
                for port in service["spec"].get("ports", []):
                    target = port.get("targetPort", port["port"])
                    if target not in container_ports and target not in container_ports.values():
                        problems.append(f"Service/{name}: targetPort {target} is no container port")
        for volume in pod.get("volumes") or []:
            if "secret" not in volume:
                continue
            secret = volume["secret"]
            keys = {item["key"] for item in secret.get("items") or []}
            own_key = re.fullmatch(r"rendezvous-([a-z]+)-key", secret.get("secretName") or "")
            if own_key:
                if own_key[1] != name or keys != {f"{name}.key.pem"}:
                    problems.append(
                        f"Deployment/{name}: volume {volume['name']} mounts the private key of "
                        f"{own_key[1]} ({sorted(keys)}), not its own"
                    )
                continue
            if secret.get("secretName") != SECRET_NAME or not keys or not keys <= secret_keys:
                problems.append(
                    f"Deployment/{name}: volume {volume['name']} mounts keys {sorted(keys)} of "
                    f"{secret.get('secretName')}, not keys the README's command creates"
                )
        budget = by_kind.get("PodDisruptionBudget", {}).get(name)
        if budget is None or not selects(budget["spec"]["selector"].get("matchLabels"), labels):
            problems.append(f"Deployment/{name}: no PodDisruptionBudget {name} selects its pods")
    if not by_kind.get("Deployment"):
        problems.append("deploy/kubernetes/base has no Deployment")
    return problems


def check_kustomize_render(folder: Path, manifests: dict[str, list[dict]]) -> tuple[list[str], str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return [], "kubectl not on PATH: the kustomize render was not checked"
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        return [f"kubectl kustomize {folder}: {result.stderr}"], ""
    rendered = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(result.stdout) if d}
    expected = {(d["kind"], d["metadata"]["name"]) for docs in manifests.values() for d in docs}
    if rendered != expected:
        return [
            f"kubectl kustomize renders {sorted(rendered)}, the files hold {sorted(expected)}"
        ], ""
    return [], f"kubectl kustomize renders the {len(rendered)} resources of the files"


# --- the checker checks itself ----------------------------------------------------------------

DELETE = object()


def edit(document, path: str, value) -> None:
    """Sets (or with DELETE removes) the value at a dotted `path`: keys, list indexes, and
    `[name]` for the list item of that name (containers, env)."""

    def slot(parent, part: str):
        if part.startswith("["):
            return next(i for i, item in enumerate(parent) if item.get("name") == part[1:-1])
        return int(part) if isinstance(parent, list) else part

    *parents, last = path.split(".")
    for part in parents:
        document = document[slot(document, part)]
    if value is DELETE:
        del document[slot(document, last)]
    else:
        document[slot(document, last)] = value


# (what is broken, where, the new value, what the report must say)
COMPOSE_BREAKAGES = [
    (
        "a renamed variable",
        "services.events.environment.RENDEZVOUS_DATABASE_URL",
        DELETE,
        "RENDEZVOUS_DATABASE_URL is not given",
    ),
    (
        "a variable no binary reads",
        "services.events.environment.RENDEZVOUS_DATABASE_URI",
        "postgres://postgres:postgres@postgres:5432/events",
        "does not read RENDEZVOUS_DATABASE_URI",
    ),
    (
        "a port on every interface",
        "services.members.ports",
        ["50051:50051"],
        "port '50051:50051' is not bound to 127.0.0.1",
    ),
    ("a missing restart policy", "services.mailpit.restart", DELETE, "mailpit: no restart policy"),
    (
        "a default service secret",
        "services.notifications.environment.RENDEZVOUS_SERVICE_SECRET",
        "${RENDEZVOUS_SERVICE_SECRET:-change-me}",
        "must come from a required",
    ),
    (
        "development mode",
        "services.members.environment.RENDEZVOUS_DEVELOPMENT",
        "1",
        "members: runs in development mode",
    ),
    (
        "a peer URL on the wrong port",
        "services.events.environment.RENDEZVOUS_MEMBERS_URL",
        "http://members:50052",
        "names no service on that port",
    ),
    (
        "no metrics address",
        "services.notifications.environment.RENDEZVOUS_METRICS_ADDR",
        DELETE,
        "notifications: RENDEZVOUS_METRICS_ADDR is not given",
    ),
    (
        "an unpublished metrics port",
        "services.members.ports",
        ["127.0.0.1:50051:50051"],
        "RENDEZVOUS_METRICS_ADDR port 50071 is not published",
    ),
    (
        "no service key",
        "services.events.environment.RENDEZVOUS_SERVICE_KEY_FILE",
        DELETE,
        "events: RENDEZVOUS_SERVICE_KEY_FILE is not given",
    ),
    (
        "a private key volume shared with another service",
        "services.notifications.volumes",
        ["members-service-key:/var/lib/rendezvous/service-key:ro",
         "service-public-keys:/var/lib/rendezvous/peer-keys:ro"],
        "members-service-key is mounted by notifications too",
    ),
    (
        "a service that starts before its key exists",
        "services.members.depends_on.service-keys",
        DELETE,
        "members: does not wait for service-keys to complete",
    ),
    (
        "a health check on another port",
        "services.events.healthcheck.test",
        ["CMD", "rendezvous", "health", "127.0.0.1:50051"],
        "events: healthcheck",
    ),
]

# (what is broken, file, kind/name, where, the new value, what the report must say)
MEMBERS = "spec.template.spec.containers.[members]"
KUBERNETES_BREAKAGES = [
    (
        "a renamed variable",
        "notifications.yaml",
        "Deployment/notifications",
        "spec.template.spec.containers.[notifications].env.[RENDEZVOUS_SMTP_URL].name",
        "RENDEZVOUS_SMTP",
        "does not read RENDEZVOUS_SMTP",
    ),
    (
        "a readiness probe that is not gRPC",
        "events.yaml",
        "Deployment/events",
        "spec.template.spec.containers.[events].readinessProbe",
        {"tcpSocket": {"port": 50052}},
        "readinessProbe is not a gRPC health probe",
    ),
    (
        "a misspelt field",
        "members.yaml",
        "Deployment/members",
        f"{MEMBERS}.readinesProbe",
        {},
        "'readinesProbe' was unexpected",
    ),
    (
        "an unknown apiVersion",
        "members.yaml",
        "Deployment/members",
        "apiVersion",
        "apps/v2",
        "Couldn't find schema for kind Deployment with api version apps/v2",
    ),
    (
        "a literal database URL",
        "members.yaml",
        "Deployment/members",
        f"{MEMBERS}.env.[RENDEZVOUS_DATABASE_URL]",
        {"name": "RENDEZVOUS_DATABASE_URL", "value": "postgres://postgres:postgres@db/members"},
        "RENDEZVOUS_DATABASE_URL is not read from the Secret",
    ),
    (
        "a secret key the README does not create",
        "members.yaml",
        "Deployment/members",
        f"{MEMBERS}.env.[RENDEZVOUS_SERVICE_SECRET].valueFrom.secretKeyRef.key",
        "other-secret",
        "does not create",
    ),
    (
        "another service's private key",
        "events.yaml",
        "Deployment/events",
        "spec.template.spec.volumes.[service-key].secret.secretName",
        "rendezvous-members-key",
        "mounts the private key of members",
    ),
    (
        "no peer keys",
        "notifications.yaml",
        "Deployment/notifications",
        "spec.template.spec.containers.[notifications].env.[RENDEZVOUS_PEER_KEYS_DIR]",
        DELETE,
        "notifications: RENDEZVOUS_PEER_KEYS_DIR is not given",
    ),
    (
        "a writable root filesystem",
        "members.yaml",
        "Deployment/members",
        f"{MEMBERS}.securityContext.readOnlyRootFilesystem",
        DELETE,
        "the root filesystem is writable",
    ),
    (
        "a container without limits",
        "events.yaml",
        "Deployment/events",
        "spec.template.spec.containers.[events].resources.limits",
        DELETE,
        "no resources.limits.memory",
    ),
    (
        "a scrape annotation on the gRPC port",
        "events.yaml",
        "Deployment/events",
        "spec.template.metadata.annotations",
        {"prometheus.io/scrape": "true", "prometheus.io/port": "50052", "prometheus.io/path": "/metrics"},
        "scrape annotations",
    ),
    (
        "a budget that selects nothing",
        "events.yaml",
        "PodDisruptionBudget/events",
        "spec.selector.matchLabels",
        {"app": "nothing"},
        "no PodDisruptionBudget events selects its pods",
    ),
    (
        "a Service aimed at no port",
        "notifications.yaml",
        "Service/notifications",
        "spec.ports.0.targetPort",
        "grcp",
        "targetPort grcp is no container port",
    ),
]


def self_test(compose, ignore_lines, kustomization, manifests, binaries, secret_keys) -> list[str]:
    """Each rule must catch a broken copy of the real files; a rule that catches nothing fails."""
    failures = []

    def expect(what: str, problems: list[str], needle: str) -> None:
        if not any(needle in problem for problem in problems):
            failures.append(f"self-test: {what} went unnoticed (wanted {needle!r} in {problems})")

    for what, path, value, needle in COMPOSE_BREAKAGES:
        broken = copy.deepcopy(compose)
        edit(broken, path, value)
        expect(f"docker-compose.yml with {what}", check_compose(broken, binaries), needle)

    for what, file, resource, path, value, needle in KUBERNETES_BREAKAGES:
        broken = copy.deepcopy(manifests)
        kind, name = resource.split("/")
        edit(
            next(d for d in broken[file] if d["kind"] == kind and d["metadata"]["name"] == name),
            path,
            value,
        )
        problems = check_kubernetes(kustomization, broken, binaries, secret_keys)
        expect(f"{file} with {what}", problems, needle)

    short_list = copy.deepcopy(kustomization)
    short_list["resources"].pop()
    expect(
        "a manifest left out of kustomization.yaml",
        check_kubernetes(short_list, manifests, binaries, secret_keys),
        "kustomization.yaml lists",
    )
    expect(
        "a .dockerignore that keeps the sources out",
        check_dockerignore(ignore_lines + ["**/*.rs"]),
        "crates/proto/build.rs is needed by the build but excluded",
    )
    expect(
        "a .dockerignore that lets keys in",
        check_dockerignore([line for line in ignore_lines if "pem" not in line]),
        "token-signing-key.pem would be in the build context",
    )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bin-dir",
        type=Path,
        default=ROOT / "target" / "debug",
        help="folder of the built binaries (default: target/debug)",
    )
    args = parser.parse_args()
    binaries = Binaries(args.bin_dir.resolve())

    compose = yaml.safe_load(COMPOSE.read_text())
    ignore_lines = DOCKERIGNORE.read_text().splitlines()
    kustomization, manifests = load_manifests(KUBERNETES)
    secret_keys = readme_secret_keys(README.read_text())

    problems = self_test(compose, ignore_lines, kustomization, manifests, binaries, secret_keys)
    problems += check_compose_schema(COMPOSE)
    problems += check_compose(compose, binaries)
    problems += check_dockerignore(ignore_lines)
    if not secret_keys:
        problems.append("README.md: no `kubectl create secret generic rendezvous` command")
    problems += check_kubernetes(kustomization, manifests, binaries, secret_keys)
    render_problems, render_note = check_kustomize_render(KUBERNETES, manifests)
    problems += render_problems

    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"check-compose-and-kubernetes: {len(problems)} problems")
        return 1
    services = [n for n, s in compose["services"].items() if "build" in s]
    variables = sum(len(service_environment(compose["services"][n])) for n in services)
    resources = sum(len(docs) for docs in manifests.values())
    print(
        f"ok   docker-compose.yml: compose-spec schema; {variables} variables of {len(services)} "
        "services read by their binaries; ports on 127.0.0.1; restart policies; health checks"
    )
    print(
        f"ok   .dockerignore keeps {len(NOT_IN_CONTEXT)} kinds of path out of the build context "
        f"and lets the {len(build_inputs())} tracked build inputs in"
    )
    print(
        f"ok   deploy/kubernetes/base: {resources} resources valid on Kubernetes "
        f"{' and '.join(KUBERNETES_VERSIONS)} (strict); probes, secrets, security, budgets"
    )
    if render_note:
        print(f"     {render_note}")
    print("ok   the checker catches each broken copy of these files it tried")
    return 0


if __name__ == "__main__":
    sys.exit(main())
