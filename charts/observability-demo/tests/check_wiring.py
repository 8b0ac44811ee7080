#!/usr/bin/env python3
"""Checks that the umbrella's components find each other.

Reads `helm template` output of the umbrella (stdin or a file) and fails unless every in-cluster address one component
gives another resolves to an object of the same render:
- every http(s)/nats URL in container env values, args and ConfigMap data whose host is a cluster name
  (<name>, <name>.<namespace>, <name>.<namespace>.svc[.cluster.local]) names a Service that exposes the URL's port;
- every scheme-less `endpoint: <host>:<port>` in a YAML ConfigMap entry (the Collector's OTLP/gRPC exporters) does
  too, listen addresses (0.0.0.0, localhost) aside;
- every DB_HOST names a Service with the DB_PORT port;
- every secretKeyRef names a Secret of the render that has the key (Secrets the user must create are listed with
  --external).

Usage: helm template demo charts/observability-demo | tests/check_wiring.py [--external NAME ...]
"""

import argparse
import re
import sys

import yaml

URL = re.compile(r"\b(https?|nats)://([a-z0-9][a-z0-9.-]*)(?::(\d+))?")
DEFAULT_PORTS = {"http": 80, "https": 443, "nats": 4222}


LISTEN = {"0.0.0.0", "localhost", "127.0.0.1", "", "[::]"}


def endpoints(node):
    """Every scheme-less `endpoint` value in a parsed YAML document (URLs are found by the URL scan)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "endpoint" and isinstance(value, str) and "://" not in value:
                yield value
            else:
                yield from endpoints(value)
    elif isinstance(node, list):
        for item in node:
            yield from endpoints(item)


def pod_spec(doc):
    spec = (doc.get("spec") or {})
    if doc.get("kind") == "Pod":
        return spec
    return ((spec.get("template") or {}).get("spec")) or {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", default="-")
    parser.add_argument("--namespace", default="default", help="the namespace helm template rendered for")
    parser.add_argument("--external", action="append", default=[], help="a Secret the user creates beforehand")
    args = parser.parse_args()
    text = sys.stdin.read() if args.file == "-" else open(args.file).read()
    docs = [d for d in yaml.safe_load_all(text) if d]

    services = {}
    secrets = {}
    for doc in docs:
        name = doc["metadata"]["name"]
        if doc["kind"] == "Service":
            services[name] = {p["port"] for p in doc["spec"].get("ports", [])}
        elif doc["kind"] == "Secret":
            secrets[name] = set((doc.get("data") or {}).keys()) | set((doc.get("stringData") or {}).keys())

    problems = []
    checked = 0

    def resolve(where, host, port):
        nonlocal checked
        parts = host.split(".")
        # Only cluster names are ours to check; anything with a public-looking domain is the user's business.
        if len(parts) > 1 and not (parts[1] == args.namespace and (len(parts) == 2 or parts[2] == "svc")):
            return
        checked += 1
        if parts[0] not in services:
            problems.append(f"{where}: {host}:{port} names no Service of the render")
        elif port not in services[parts[0]]:
            problems.append(f"{where}: Service {parts[0]} has no port {port} (it has {sorted(services[parts[0]])})")

    def scan(where, value):
        for scheme, host, port in URL.findall(value):
            if host in ("localhost", "127.0.0.1"):
                continue
            resolve(where, host, int(port) if port else DEFAULT_PORTS[scheme])

    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                scan(f"ConfigMap {name} {key}", str(value))
                if key.endswith((".yaml", ".yml")):
                    for endpoint in endpoints(yaml.safe_load(value)):
                        host, _, port = endpoint.rpartition(":")
                        if host not in LISTEN and port.isdigit():
                            resolve(f"ConfigMap {name} {key} endpoint", host, int(port))
            continue
        spec = pod_spec(doc)
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            where = f"{kind} {name} container {container['name']}"
            env = {e["name"]: e for e in container.get("env", [])}
            for entry in env.values():
                if "value" in entry:
                    scan(f"{where} env {entry['name']}", str(entry["value"]))
                ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    checked += 1
                    if ref["name"] in args.external:
                        continue
                    if ref["name"] not in secrets:
                        problems.append(f"{where} env {entry['name']}: Secret {ref['name']} is not in the render")
                    elif ref["key"] not in secrets[ref["name"]]:
                        problems.append(f"{where} env {entry['name']}: Secret {ref['name']} has no key {ref['key']}")
            if "DB_HOST" in env:
                port = int(env.get("DB_PORT", {}).get("value", 5432))
                resolve(f"{where} env DB_HOST", env["DB_HOST"]["value"], port)
            for arg in container.get("args", []) + container.get("command", []):
                scan(f"{where} args", str(arg))

    if checked == 0:
        problems.append("no addresses found: is this the umbrella's render?")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{checked} addresses and secret references checked, {len(problems)} unresolved")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
