#!/usr/bin/env python3
"""Runs the trace pipeline on the configurations the otel-collector and jaeger charts render, and checks its output.

Starts, on loopback ports of this machine: Prometheus with the remote-write receiver, Jaeger v2 (`bin/jaeger`) with
the jaeger chart's config.yaml, and the Collector (`bin/otelcol`) with the otel-collector chart's config.yaml, whose
trace backend and remote-write URL are pointed at those two (listen addresses and peers are the only rewrites; a
local run of the demo does the same). Then it sends one trace over OTLP/HTTP with the demo's shapes of edge: an HTTP
call (CLIENT→SERVER), a failed one, a NATS message (PRODUCER→CONSUMER) and a database call (a CLIENT span with
peer.service), and fails unless
- Prometheus holds exactly Tempo's series names (traces_service_graph_request_total, ..._failed_total,
  ..._request_server_seconds_*, ..._request_client_seconds_*, traces_spanmetrics_calls_total,
  traces_spanmetrics_latency_*) with Tempo's labels: client, server, connection_type (and the connector's failed);
  service, span_name, span_kind (SPAN_KIND_*), status_code; no resource labels;
- each edge is there with its connection type and the failed edge is counted as failed;
- Jaeger returns the trace by id (/api/v3/traces/{id} and /api/traces/{id}), draws the dependency graph
  (/api/dependencies) and, with Badger storage, finds the trace by service with the tag error=true (the search
  Grafana's Jaeger panels run);
- when the config has log exporters (otlphttp/logs-*, Loki's OTLP endpoint in the cluster), a log record sent to
  the Collector over OTLP reaches a local OTLP/HTTP sink standing in for Loki at the exporter's path, with its
  trace id (Loki keeps it as structured metadata, which Grafana's trace↔logs links query).

Usage: check_pipeline.py --collector-config FILE --jaeger-config FILE [--bin DIR] [--prometheus PATH]
The Collector's config must be rendered with a short metricsFlushInterval (e.g. 2s).
"""

import argparse
import gzip
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def wait_until(what, check, timeout=60, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - the last error is reported on timeout
            last = e
        time.sleep(interval)
    raise SystemExit(f"check_pipeline: timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


class LogSink(ThreadingHTTPServer):
    """An OTLP/HTTP logs endpoint on loopback that keeps every request's (decompressed) path and body."""

    def __init__(self):
        self.received = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                sink.received.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", self.headers.get("Content-Type") or "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def collector_config(path, ports, jaeger_grpc, prometheus, log_sink):
    """The chart's Collector config with loopback listeners and this run's Jaeger, Prometheus and log sink as its
    peers (an exporter's URL path is kept)."""
    cfg = yaml.safe_load(open(path))
    for name, exporter in cfg["exporters"].items():
        if name.startswith("otlphttp/logs-"):
            exporter["endpoint"] = urllib.parse.urlparse(exporter["endpoint"])._replace(
                scheme="http", netloc=f"127.0.0.1:{log_sink}").geturl()
    protocols = cfg["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{ports['otlp_grpc']}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{ports['otlp_http']}"
    cfg["extensions"]["health_check"]["endpoint"] = f"127.0.0.1:{ports['health']}"
    for reader in cfg["service"]["telemetry"]["metrics"].get("readers", []):
        reader["pull"]["exporter"]["prometheus"].update(host="127.0.0.1", port=ports["metrics"])
    backends = [name for name in cfg["exporters"] if name.startswith("otlp/")]
    if not backends:
        raise SystemExit("check_pipeline: the Collector config has no OTLP/gRPC trace exporter")
    for name in backends:
        cfg["exporters"][name]["endpoint"] = f"127.0.0.1:{jaeger_grpc}"
    if "prometheusremotewrite" not in cfg["exporters"]:
        raise SystemExit("check_pipeline: the Collector config has no prometheusremotewrite exporter")
    cfg["exporters"]["prometheusremotewrite"]["endpoint"] = f"http://127.0.0.1:{prometheus}/api/v1/write"
    return cfg


def jaeger_config(path, ports, work):
    cfg = yaml.safe_load(open(path))
    for backend in cfg["extensions"]["jaeger_storage"]["backends"].values():
        if "badger" in backend:
            backend["badger"]["directories"] = {"keys": f"{work}/badger/keys", "values": f"{work}/badger/values"}
    protocols = cfg["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{ports['otlp_grpc']}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{ports['otlp_http']}"
    query = cfg["extensions"]["jaeger_query"]
    query["http"]["endpoint"] = f"127.0.0.1:{ports['query']}"
    query["grpc"]["endpoint"] = f"127.0.0.1:{ports['query_grpc']}"
    cfg["extensions"]["healthcheckv2"]["http"]["endpoint"] = f"127.0.0.1:{ports['health']}"
    for reader in cfg["service"]["telemetry"]["metrics"].get("readers", []):
        reader["pull"]["exporter"]["prometheus"].update(host="127.0.0.1", port=ports["metrics"])
    return cfg


def span(trace_id, span_id, parent, name, kind, start, ms, attributes=(), error=False):
    s = {
        "traceId": trace_id, "spanId": span_id, "name": name, "kind": kind,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + ms * 1_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes],
    }
    if parent:
        s["parentSpanId"] = parent
    if error:
        s["status"] = {"code": 2, "message": "boom"}
    return s


def demo_trace(trace_id):
    """One order through the demo: gateway→catalog (HTTP), gateway→processor (HTTP, failed), catalog→postgres (db),
    catalog→invoices (NATS). Kinds: 1 internal, 2 server, 3 client, 4 producer, 5 consumer."""
    ids = {k: secrets.token_hex(8) for k in
           ["root", "gw_cat", "cat", "db", "prod", "cons", "gw_proc", "proc"]}
    t = time.time_ns() - 2_000_000_000
    by_service = {
        "gateway": [
            span(trace_id, ids["root"], None, "POST /api/v1/orders", 2, t, 50),
            span(trace_id, ids["gw_cat"], ids["root"], "POST", 3, t + 1_000_000, 30),
            span(trace_id, ids["gw_proc"], ids["root"], "GET", 3, t + 35_000_000, 10, error=True),
        ],
        "catalog": [
            span(trace_id, ids["cat"], ids["gw_cat"], "POST /orders", 2, t + 2_000_000, 25),
            span(trace_id, ids["db"], ids["cat"], "pg.query:INSERT catalog", 3, t + 3_000_000, 5,
                 [("peer.service", "postgres"), ("db.system", "postgresql")]),
            span(trace_id, ids["prod"], ids["cat"], "orders.created publish", 4, t + 10_000_000, 2,
                 [("messaging.system", "nats")]),
        ],
        "invoices": [
            span(trace_id, ids["cons"], ids["prod"], "orders.created process", 5, t + 15_000_000, 8,
                 [("messaging.system", "nats")]),
        ],
        "processor": [
            span(trace_id, ids["proc"], ids["gw_proc"], "GET /analytics", 2, t + 36_000_000, 8, error=True),
        ],
    }
    return {"resourceSpans": [
        {"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
            {"key": "host.name", "value": {"stringValue": f"{service}-pod"}},
        ]}, "scopeSpans": [{"scope": {"name": "check_pipeline"}, "spans": spans}]}
        for service, spans in by_service.items()
    ]}


EXPECTED_NAMES = {
    "traces_service_graph_request_total",
    "traces_service_graph_request_failed_total",
    *(f"traces_service_graph_request_{side}_seconds_{s}" for side in ("server", "client")
      for s in ("bucket", "sum", "count")),
    "traces_spanmetrics_calls_total",
    *(f"traces_spanmetrics_latency_{s}" for s in ("bucket", "sum", "count")),
}
GRAPH_LABELS = {"__name__", "client", "server", "connection_type", "failed"}
SPAN_LABELS = {"__name__", "service", "span_name", "span_kind", "status_code"}


def check_logs(collector, ccfg, exporters, sink, trace_id):
    """Sends one log record of the trace to the Collector and checks that each log exporter delivers it, trace id
    included, to the path the chart names (the OTLP protobuf carries the id as 16 raw bytes)."""
    nonce = secrets.token_hex(8)
    record = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "catalog"}}]},
        "scopeLogs": [{"scope": {"name": "check_pipeline"}, "logRecords": [{
            "timeUnixNano": str(time.time_ns()), "severityNumber": 9, "severityText": "info",
            "body": {"stringValue": f"order placed {nonce}"}, "traceId": trace_id, "spanId": secrets.token_hex(8)}]}]}]}
    status, body = http("POST", f"{collector}/v1/logs", record)
    if status != 200 or "rejected" in body:
        return [f"the Collector refused the log record: {status} {body}"]
    problems = []
    for name in exporters:
        path = urllib.parse.urlparse(ccfg["exporters"][name]["endpoint"]).path.rstrip("/") + "/v1/logs"

        def delivered(path=path):
            return any(p == path and nonce.encode() in b and bytes.fromhex(trace_id) in b for p, b in sink.received)

        try:
            wait_until(f"the log record at {path} ({name})", delivered, timeout=30)
        except SystemExit as e:
            problems.append(f"{e}; the sink got {[(p, len(b)) for p, b in sink.received]}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--collector-config", required=True)
    parser.add_argument("--jaeger-config", required=True)
    parser.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "../../../bin"))
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="check-pipeline-")
    procs = []
    log_sink = LogSink()
    ports = {k: free_port() for k in ["prom", "j_grpc", "j_http", "j_query", "j_query_grpc", "j_health", "j_metrics",
                                       "c_grpc", "c_http", "c_health", "c_metrics"]}

    def start(name, argv):
        log = open(os.path.join(work, f"{name}.log"), "w")
        procs.append((name, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True),
                      log.name))

    def logs():
        for name, _, path in procs:
            tail = open(path).read().splitlines()[-15:]
            print(f"--- {name} (last lines of {path})", *tail, sep="\n", file=sys.stderr)

    try:
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global: {scrape_interval: 1m}\n")
        start("prometheus", [args.prometheus, f"--config.file={work}/prometheus.yml",
                             f"--storage.tsdb.path={work}/tsdb", f"--web.listen-address=127.0.0.1:{ports['prom']}",
                             "--web.enable-remote-write-receiver", "--enable-feature=exemplar-storage"])
        jcfg = jaeger_config(args.jaeger_config, {"otlp_grpc": ports["j_grpc"], "otlp_http": ports["j_http"],
                                                  "query": ports["j_query"], "query_grpc": ports["j_query_grpc"],
                                                  "health": ports["j_health"], "metrics": ports["j_metrics"]},
                            work)
        badger = any("badger" in b for b in jcfg["extensions"]["jaeger_storage"]["backends"].values())
        yaml.safe_dump(jcfg, open(f"{work}/jaeger.yaml", "w"))
        start("jaeger", [os.path.join(args.bin, "jaeger"), f"--config={work}/jaeger.yaml"])
        ccfg = collector_config(args.collector_config, {"otlp_grpc": ports["c_grpc"], "otlp_http": ports["c_http"],
                                                        "health": ports["c_health"], "metrics": ports["c_metrics"]},
                                ports["j_grpc"], ports["prom"], log_sink.server_address[1])
        yaml.safe_dump(ccfg, open(f"{work}/otelcol.yaml", "w"))
        start("otelcol", [os.path.join(args.bin, "otelcol"), f"--config={work}/otelcol.yaml"])

        prom = f"http://127.0.0.1:{ports['prom']}"
        query = f"http://127.0.0.1:{ports['j_query']}"
        wait_until("Prometheus", lambda: http("GET", f"{prom}/-/ready")[0] == 200)
        wait_until("Jaeger", lambda: http("GET", f"http://127.0.0.1:{ports['j_health']}/status")[0] == 200)
        wait_until("the Collector", lambda: http("GET", f"http://127.0.0.1:{ports['c_health']}/")[0] == 200)

        trace_id = secrets.token_hex(16)
        status, body = http("POST", f"http://127.0.0.1:{ports['c_http']}/v1/traces", demo_trace(trace_id))
        if status != 200 or "rejected" in body:
            raise SystemExit(f"check_pipeline: the Collector refused the trace: {status} {body}")

        def series(match):
            _, body = http("GET", f"{prom}/api/v1/series?" + urllib.parse.urlencode({"match[]": match}))
            return json.loads(body)["data"]

        def all_names():
            names = {s["__name__"] for s in series('{__name__=~"traces_.*"}')}
            return names if names >= EXPECTED_NAMES else None

        names = wait_until("the Collector's remote-written series", all_names, timeout=90)
        problems = [f"unexpected series name {n}" for n in sorted(names - EXPECTED_NAMES)]
        for s in series('{__name__=~"traces_service_graph_.*"}'):
            extra = set(s) - GRAPH_LABELS - ({"le"} if s["__name__"].endswith("_bucket") else set())
            if extra:
                problems.append(f"{s['__name__']} has labels {sorted(extra)} beyond Tempo's")
        for s in series('{__name__=~"traces_spanmetrics_.*"}'):
            extra = set(s) - SPAN_LABELS - ({"le"} if s["__name__"].endswith("_bucket") else set())
            if extra:
                problems.append(f"{s['__name__']} has labels {sorted(extra)} beyond Tempo's")

        edges = {(s["client"], s["server"], s.get("connection_type", ""))
                 for s in series("traces_service_graph_request_total")}
        for edge in [("gateway", "catalog", ""), ("gateway", "processor", ""),
                     ("catalog", "invoices", "messaging_system"), ("catalog", "postgres", "database")]:
            if edge not in edges:
                problems.append(f"no service-graph edge {edge[0]}→{edge[1]} ({edge[2] or 'http'}); got {sorted(edges)}")
        failed = {(s["client"], s["server"]) for s in series("traces_service_graph_request_failed_total")}
        if failed != {("gateway", "processor")}:
            problems.append(f"failed edges are {sorted(failed)}, expected only gateway→processor")
        calls = {(s["service"], s["span_kind"], s["status_code"])
                 for s in series("traces_spanmetrics_calls_total")}
        for want in [("catalog", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET"),
                     ("invoices", "SPAN_KIND_CONSUMER", "STATUS_CODE_UNSET"),
                     ("catalog", "SPAN_KIND_PRODUCER", "STATUS_CODE_UNSET"),
                     ("processor", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR")]:
            if want not in calls:
                problems.append(f"no traces_spanmetrics_calls_total{{service={want[0]}, span_kind={want[1]}, "
                                f"status_code={want[2]}}}; got {sorted(calls)}")
        if not series('traces_spanmetrics_latency_bucket{service="catalog",span_kind="SPAN_KIND_SERVER",le="+Inf"}'):
            problems.append("no traces_spanmetrics_latency_bucket for catalog's SERVER spans")

        # Jaeger: the trace by id in both APIs, the error search and the dependency graph Grafana's panels use.
        _, v3 = wait_until("the trace in Jaeger", lambda: http("GET", f"{query}/api/v3/traces/{trace_id}"), timeout=30)
        spans_v3 = sum(len(ss["spans"]) for rs in json.loads(v3)["result"]["resourceSpans"] for ss in rs["scopeSpans"])
        if spans_v3 != 8:
            problems.append(f"/api/v3/traces/{trace_id} returned {spans_v3} spans, expected 8")
        _, v1 = http("GET", f"{query}/api/traces/{trace_id}")
        if len(json.loads(v1)["data"][0]["spans"]) != 8:
            problems.append(f"/api/traces/{trace_id} did not return the 8 spans")
        search = f"{query}/api/traces?" + urllib.parse.urlencode(
            {"service": "processor", "tags": json.dumps({"error": "true"}), "lookback": "1h", "limit": 20})
        found = [t["traceID"] for t in json.loads(http("GET", search)[1])["data"]]
        # Jaeger 2.12's memory store reads the tag error=true, which the HTTP API hands over as a string, as a
        # boolean (false), so only Badger (and the other storages) find failed traces that way.
        if badger and trace_id not in found:
            problems.append(f"Jaeger's search for processor with error=true did not find the trace ({found})")
        now_ms = int(time.time() * 1000)
        deps = json.loads(http("GET", f"{query}/api/dependencies?endTs={now_ms}&lookback=3600000")[1])["data"] or []
        links = {(d["parent"], d["child"]) for d in deps}
        for link in [("gateway", "catalog"), ("catalog", "invoices")]:
            if link not in links:
                problems.append(f"Jaeger's dependency graph lacks {link[0]}→{link[1]}; got {sorted(links)}")

        log_exporters = sorted(n for n in ccfg["exporters"] if n.startswith("otlphttp/logs-"))
        if log_exporters:
            problems += check_logs(f"http://127.0.0.1:{ports['c_http']}", ccfg, log_exporters, log_sink, trace_id)

        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            sys.exit(1)
        print(f"trace pipeline: {len(names)} Tempo-named series in Prometheus, {len(edges)} edges; trace {trace_id} "
              f"in Jaeger ({'badger' if badger else 'memory'}, {spans_v3} spans), dependency graph"
              + (", error search" if badger else "")
              + (f"; a log record with its trace id through {', '.join(log_exporters)}" if log_exporters else ""))
    except SystemExit:
        if sys.exc_info()[1].code not in (0, None):
            logs()
        raise
    finally:
        for _, proc, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log_sink.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
