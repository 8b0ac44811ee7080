import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  eventually,
  startPrometheus,
  startTempo,
  type PrometheusServer,
  type TempoServer,
  type VectorSample,
} from '@obsdemo/testenv';

// Tempo's metrics-generator pairs CLIENT/SERVER (and PRODUCER/CONSUMER) spans as they arrive, collects its
// registry every 15 s (registry.collection_interval) and remote-writes each collection. A new counter series is
// first written as 0 and carries the count from the next collection on, so an edge reaches Prometheus within
// about two intervals after both of its spans arrived; the waits below allow several times that.
const GENERATOR_WAIT_MS = 120_000;

let prometheus: PrometheusServer;
let tempo: TempoServer;

beforeAll(async () => {
  prometheus = await startPrometheus();
  tempo = await startTempo({ prometheusRemoteWriteUrl: prometheus.remoteWriteUrl });
}, 180_000);

afterAll(async () => {
  await tempo?.stop();
  await prometheus?.stop();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

interface SpanSpec {
  service: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Record<string, string>;
}

/** OTLP/HTTP JSON, as an OpenTelemetry SDK sends it: ids in hex, times in nanoseconds as strings. */
function otlpRequest(traceId: string, spans: readonly SpanSpec[]): unknown {
  // The generator drops spans that ended long before they arrive (metrics_ingestion_time_range_slack), so they
  // must be recent.
  const endNs = BigInt(Date.now()) * 1_000_000n;
  const startNs = endNs - 50_000_000n;
  const services = [...new Set(spans.map((s) => s.service))];
  return {
    resourceSpans: services.map((service) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'observability.test' },
          spans: spans
            .filter((s) => s.service === service)
            .map((s) => ({
              traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: startNs.toString(),
              endTimeUnixNano: endNs.toString(),
              attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({
                key,
                value: { stringValue: value },
              })),
              status: {},
            })),
        },
      ],
    })),
  };
}

async function sendTrace(traceId: string, spans: readonly SpanSpec[]): Promise<void> {
  const res = await fetch(`${tempo.otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpRequest(traceId, spans)),
  });
  expect(res.status).toBe(200);
}

/** The samples of `promql` once at least one has a value ≥ 1, else undefined (for `eventually`). */
async function counted(promql: string): Promise<VectorSample[] | undefined> {
  const samples = await prometheus.query(promql);
  return samples.some((s) => s.value >= 1) ? samples : undefined;
}

describe('local observability backends configured from the charts', () => {
  it('runs Tempo with the chart-rendered config, relocated to loopback and a temp dir', () => {
    const config = readFileSync(tempo.configFile, 'utf8');
    expect(config).toContain(prometheus.remoteWriteUrl);
    expect(config).not.toContain('/var/tempo');
    expect(config).not.toContain('0.0.0.0');
    expect(config).toMatch(/processors:\s*\n\s*- service-graphs\s*\n\s*- span-metrics/);
  });

  it('loads the chart alert rules into Prometheus', async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: { name: string; rules: { name: string }[] }[] } };
    const rules = body.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    expect(rules).toEqual(expect.arrayContaining(['HighErrorRate', 'HighLatencyP95', 'ServiceDown']));
  });

  it('rejects a malformed PromQL query with the error Prometheus gives', async () => {
    await expect(prometheus.query('sum(')).rejects.toThrow(/parse error/);
  });

  it('derives service-graph edges and span metrics from CLIENT→SERVER and PRODUCER→CONSUMER pairs', async () => {
    const traceId = hex(16);
    const client = hex(8);
    const server = hex(8);
    const producer = hex(8);
    const consumer = hex(8);
    const spans: SpanSpec[] = [
      { service: 'a', spanId: client, name: 'GET /orders', kind: CLIENT },
      { service: 'b', spanId: server, parentSpanId: client, name: 'GET /orders', kind: SERVER },
      {
        service: 'b',
        spanId: producer,
        parentSpanId: server,
        name: 'orders publish',
        kind: PRODUCER,
        attributes: { 'messaging.system': 'nats' },
      },
      {
        service: 'c',
        spanId: consumer,
        parentSpanId: producer,
        name: 'orders process',
        kind: CONSUMER,
        attributes: { 'messaging.system': 'nats' },
      },
    ];
    await sendTrace(traceId, spans);

    const http = await eventually(
      'the a→b edge in Prometheus',
      () => counted('traces_service_graph_request_total{client="a",server="b"}'),
      GENERATOR_WAIT_MS,
    );
    // The chart's external label marks what the generator wrote, as opposed to scraped series.
    expect(http[0]?.metric).toMatchObject({ client: 'a', server: 'b', source: 'tempo' });
    expect(http[0]?.metric.connection_type ?? '').toBe('');

    const messaging = await eventually(
      'the b→c messaging edge in Prometheus',
      () => counted('traces_service_graph_request_total{client="b",server="c"}'),
      GENERATOR_WAIT_MS,
    );
    expect(messaging[0]?.metric.connection_type).toBe('messaging_system');

    const calls = await eventually(
      'span metrics of service b',
      () => counted('sum by (service) (traces_spanmetrics_calls_total{service="b"})'),
      GENERATOR_WAIT_MS,
    );
    expect(calls[0]?.value).toBeGreaterThanOrEqual(1);

    const trace = await eventually('the trace in Tempo', async () => {
      const found = await tempo.trace(traceId);
      return found !== undefined && found.length === spans.length ? found : undefined;
    });
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    expect(byId.get(server)).toMatchObject({ serviceName: 'b', parentSpanId: client, kind: SERVER, traceId });
    expect(byId.get(client)).toMatchObject({ serviceName: 'a', parentSpanId: '', kind: CLIENT });
    expect(byId.get(consumer)).toMatchObject({
      serviceName: 'c',
      parentSpanId: producer,
      kind: CONSUMER,
      attributes: { 'messaging.system': 'nats' },
    });
  });

  it('scrapes given targets in place of the chart pod discovery, with the labels its relabelling sets', async () => {
    const scraper = await startPrometheus({
      chartValues: { scrapeInterval: '1s' },
      scrapeTargets: [
        { job: 'tempo', address: new URL(tempo.apiUrl).host, labels: { namespace: 'local', pod: 'tempo-0' } },
      ],
    });
    try {
      const up = await eventually('a scrape of Tempo', async () => {
        const samples = await scraper.query('up{job="tempo"}');
        return samples.length > 0 ? samples : undefined;
      });
      expect(up[0]?.metric).toMatchObject({ job: 'tempo', namespace: 'local', pod: 'tempo-0' });
      expect(up[0]?.value).toBe(1);
      const self = await eventually('a self-scrape', async () => {
        const samples = await scraper.query('up{job="prometheus"}');
        return samples.length > 0 ? samples : undefined;
      });
      expect(self[0]?.value).toBe(1);
    } finally {
      await scraper.stop();
    }
  });

  it('answers undefined for a trace it never received', async () => {
    expect(await tempo.trace(hex(16))).toBeUndefined();
  });
});
