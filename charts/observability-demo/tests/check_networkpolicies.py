#!/usr/bin/env python3
"""Checks that the umbrella's NetworkPolicies allow exactly the documented flows.

Reads `helm template` output of the umbrella with every component's networkPolicy.enabled (stdin or a file),
evaluates the policies the way Kubernetes does (a pod selected by a policy of a type is denied everything that no
rule of such a policy allows; ingress needs the destination's policies, egress the source's) for every pair of
endpoints and every port the destination declares, and fails on any allowed flow missing from the table below and
on any documented flow that is denied. The endpoints are the rendered workloads and `helm test` pods, plus a pod
in another namespace ("outsider"), the cluster DNS pods in kube-system ("kube-dns") and an address outside the
cluster ("outside", e.g. the API server: Prometheus reaches any address on the API server ports). Flows between
two of these three are none of the charts' business and are not checked. The table is docs/security.md's.

Usage: helm template demo charts/observability-demo --namespace ct -f ci/networkpolicy-values.yaml |
       tests/check_networkpolicies.py --namespace ct
       (and with -f values-jaeger.yaml added: the same table with Jaeger in Tempo's place)

The operator's render of a demo (no `helm test` pods) is checked with --no-test-pods, and with
--operator NAMESPACE:LABELS (e.g. obsdemo-system:app.kubernetes.io/name=obsdemo-operator) the operator's pod joins
the endpoints and its TelemetryVerified query to Prometheus becomes a documented flow.
"""

import argparse
import ipaddress
import sys

import yaml

SERVICES = ["catalog", "processor", "invoices", "gateway", "loadgen"]
SYNTHETIC = {"outsider", "kube-dns", "outside"}
# The trace backends (a render has Tempo or Jaeger, or neither) and the log store (Loki, or none): the table's flows
# to and from one a render lacks are left out. Any other component the table names must be in the render.
OPTIONAL = {"tempo", "jaeger", "loki"}

# Destination -> {port/protocol: sources}. "*" is every endpoint no egress policy restricts: the `helm test` pods
# (short-lived clients no policy selects), a pod of another namespace, an address outside the cluster. A destination
# the render does not have (Tempo or Jaeger, see OPTIONAL) is left out together with its flows.
EXPECTED = {
    "gateway": {"8080/TCP": ["loadgen", "prometheus", "*"]},
    "catalog": {"8000/TCP": ["gateway", "processor", "prometheus", "demo-services-test"]},
    "processor": {"8001/TCP": ["gateway", "prometheus", "demo-services-test"]},
    "invoices": {"8002/TCP": ["gateway", "prometheus", "demo-services-test"]},
    "loadgen": {"8089/TCP": ["prometheus", "demo-services-test"]},
    "postgres": {"5432/TCP": ["catalog", "processor", "invoices", "postgres-test"]},
    "nats": {
        "4222/TCP": ["catalog", "invoices", "nats-test"],
        "8222/TCP": ["prometheus"],
        "7777/TCP": ["prometheus"],
    },
    # The services send their spans to the Collector only; it forwards them to the trace backend.
    "otel-collector": {
        "4317/TCP": [*SERVICES, "otel-collector-test"],
        "4318/TCP": [*SERVICES, "otel-collector-test"],
        "13133/TCP": ["otel-collector-test"],
        "8888/TCP": ["prometheus"],
    },
    "tempo": {
        "4317/TCP": ["otel-collector", "tempo-test"],
        "4318/TCP": ["otel-collector", "tempo-test"],
        "3200/TCP": ["grafana", "prometheus", "tempo-test"],
    },
    "jaeger": {
        "4317/TCP": ["otel-collector", "jaeger-test"],
        "4318/TCP": ["otel-collector", "jaeger-test"],
        "16686/TCP": ["grafana", "jaeger-test"],
        "8888/TCP": ["prometheus"],
    },
    # The services' logs arrive through the Collector (OTLP); Grafana queries them.
    "loki": {"3100/TCP": ["otel-collector", "grafana", "prometheus", "loki-test"]},
    # Remote writes come from the Collector (service graphs, span metrics).
    "prometheus": {"9090/TCP": ["otel-collector", "grafana", "prometheus-test"]},
    # Open to anyone by default (ingressFrom), so also to Prometheus, which may scrape any pod of the release.
    "grafana": {"3000/TCP": ["prometheus", "*"]},
    "kube-dns": {
        "53/UDP": ["nats", "otel-collector", "tempo", "jaeger", "loki", "prometheus", "grafana", *SERVICES, "*"],
        "53/TCP": ["nats", "otel-collector", "tempo", "jaeger", "loki", "prometheus", "grafana", *SERVICES, "*"],
    },
    "outside": {"443/TCP": ["prometheus", "*"], "6443/TCP": ["prometheus", "*"]},
}

class Endpoint:
    def __init__(self, name, namespace, labels, ports, ip=None):
        self.name, self.namespace, self.labels, self.ports, self.ip = name, namespace, labels, ports, ip

    @property
    def is_pod(self):
        return self.ip is None


def matches(selector, labels):
    """A meta/v1 LabelSelector against a label map; {} selects everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(peer, policy_ns, ep):
    if "ipBlock" in peer:
        if ep.is_pod:
            return False
        block = peer["ipBlock"]
        addr = ipaddress.ip_address(ep.ip)
        return addr in ipaddress.ip_network(block["cidr"]) and not any(
            addr in ipaddress.ip_network(c) for c in block.get("except") or []
        )
    if not ep.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ep.namespace}):
            return False
    elif ep.namespace != policy_ns:
        return False
    return matches(peer.get("podSelector") or {}, ep.labels)


def port_matches(rule, dst, port, protocol):
    """Whether a rule's ports admit the destination's port; named ports resolve against the destination pod."""
    if not rule.get("ports"):
        return True
    for p in rule["ports"]:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None or want == port or (isinstance(want, str) and dst.ports.get(want) == (port, protocol)):
            return True
    return False


def selecting(policies, ep, direction):
    """The policies of a type that select an endpoint; an address outside the cluster has none."""
    if not ep.is_pod:
        return []
    return [
        p for p in policies
        if p["namespace"] == ep.namespace and direction in p["types"] and matches(p["podSelector"], ep.labels)
    ]


def allowed(policies, src, dst, port, protocol):
    def side(pod, direction, peer_key, other):
        selected = selecting(policies, pod, direction)
        if not selected:
            return True
        for p in selected:
            for rule in p[direction.lower()]:
                peers = rule.get(peer_key)
                if port_matches(rule, dst, port, protocol) and (
                    not peers or any(peer_matches(peer, p["namespace"], other) for peer in peers)
                ):
                    return True
        return False

    return side(src, "Egress", "to", dst) and side(dst, "Ingress", "from", src)


def load(text, namespace, operator=None):
    endpoints, policies = [], []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        kind, meta = doc["kind"], doc["metadata"]
        if kind == "NetworkPolicy":
            spec = doc["spec"]
            types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
            policies.append({
                "namespace": meta.get("namespace", namespace),
                "podSelector": spec.get("podSelector") or {},
                "types": types,
                "ingress": spec.get("ingress") or [],
                "egress": spec.get("egress") or [],
            })
        elif kind in ("Deployment", "StatefulSet", "Pod"):
            template = doc if kind == "Pod" else doc["spec"]["template"]
            labels = template["metadata"].get("labels") or {}
            ports = {}
            for c in template["spec"].get("containers", []):
                for p in c.get("ports") or []:
                    ports[p.get("name", str(p["containerPort"]))] = (p["containerPort"], p.get("protocol", "TCP"))
            name = labels.get("app.kubernetes.io/name", meta["name"])
            endpoints.append(Endpoint(name, meta.get("namespace", namespace), labels, ports))
    endpoints += [
        Endpoint("outsider", "elsewhere", {"app.kubernetes.io/name": "outsider"}, {}),
        Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": (53, "UDP"), "dns-tcp": (53, "TCP")}),
        Endpoint("outside", "", {}, {"https": (443, "TCP"), "https-alt": (6443, "TCP")}, ip="192.0.2.1"),
    ]
    if operator:
        op_namespace, _, text_labels = operator.partition(":")
        labels = dict(part.split("=", 1) for part in text_labels.split(",") if part)
        endpoints.append(Endpoint("operator", op_namespace, labels, {}))
    return endpoints, policies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", default="-")
    parser.add_argument("--namespace", default="default", help="the namespace helm template rendered for")
    parser.add_argument("--operator", help="NAMESPACE:name=value,... of the operator's pods (adds its flow)")
    parser.add_argument("--no-test-pods", action="store_true", help="the render has no `helm test` pods")
    args = parser.parse_args()
    text = sys.stdin.read() if args.file == "-" else open(args.file).read()
    endpoints, policies = load(text, args.namespace, args.operator)
    if not policies:
        sys.exit("check_networkpolicies: the render has no NetworkPolicy; enable every component's networkPolicy")

    names = {e.name for e in endpoints}
    unrestricted = [e for e in endpoints if not selecting(policies, e, "Egress")]
    expected = set()
    absent = OPTIONAL - names
    for dst, ports in EXPECTED.items():
        if dst in absent:
            continue
        for port, sources in ports.items():
            for src in sources:
                if src.removesuffix("-test") in absent:
                    continue
                if src == "*":
                    expected |= {f"{e.name} -> {dst}:{port}" for e in unrestricted
                                 if e.name != dst and not (e.name in SYNTHETIC and dst in SYNTHETIC)}
                elif not (args.no_test_pods and src.endswith("-test")):
                    expected.add(f"{src} -> {dst}:{port}")
    if args.operator:
        expected.add("operator -> prometheus:9090/TCP")
    actual = set()
    for src in endpoints:
        for dst in endpoints:
            if src is dst or (src.name in SYNTHETIC and dst.name in SYNTHETIC):
                continue
            for port, protocol in dst.ports.values():
                if allowed(policies, src, dst, port, protocol):
                    actual.add(f"{src.name} -> {dst.name}:{port}/{protocol}")

    problems = [f"allowed but not documented: {f}" for f in sorted(actual - expected)]
    problems += [f"documented but denied: {f}" for f in sorted(expected - actual)]
    unknown = {f.split(" -> ")[0] for f in expected} - names
    problems += [f"the table names an endpoint the render lacks: {n}" for n in sorted(unknown)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{len(policies)} NetworkPolicies allow exactly the {len(actual)} documented flows "
          f"between {len(endpoints)} endpoints")


if __name__ == "__main__":
    main()
