// The OpenTelemetry Collector between the services and the trace store (charts/otel-collector's configuration,
// run as bin/otelcol with Jaeger v2 behind it and Prometheus receiving its remote write): its CPU per 1,000 spans
// at a steady rate, and the time it adds before a finished span can be read back, measured side by side with the
// same Jaeger reached directly.
// Usage: node bench/collector.ts [--spans 60000] [--rate 3000] [--samples 30] [--out .tmp/bench/collector.json]
import { context, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startCollector,
  startJaeger,
  startPrometheus,
  type CollectorServer,
  type JaegerServer,
} from '@obsdemo/testenv';
import { describeLoad, loadBefore } from './machine.ts';
import { processCpuSeconds } from './proc-stat.ts';

const { values: args } = parseArgs({
  options: {
    spans: { type: 'string', default: '60000' },
    rate: { type: 'string', default: '3000' },
    samples: { type: 'string', default: '30' },
    out: { type: 'string', default: '.tmp/bench/collector.json' },
  },
});
const SPANS = Number(args.spans);
const RATE = Number(args.rate);
const SAMPLES = Number(args.samples);

// What the operator renders for a demo with backend jaeger, in-cluster names as the chart gets them.
const CLUSTER_JAEGER = 'shop-jaeger:4317';
const CLUSTER_REMOTE_WRITE = 'http://shop-prometheus:9090/api/v1/write';

function provider(service: string, endpoint: string, batch: boolean): TracerProvider {
  const exporter = new OTLPTraceExporter({ url: `${endpoint}/v1/traces` });
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      batch
        ? new BatchSpanProcessor({
            exporter,
            maxQueueSize: 16_384,
            maxExportBatchSize: 512,
            scheduledDelayMillis: 200,
          })
        : new SimpleSpanProcessor({ exporter }),
    ],
  });
}

/**
 * One request of the demo's shape: gateway SERVER → CLIENT → catalog SERVER → a database CLIENT span and, on every
 * other request, catalog PRODUCER → invoices CONSUMER; so the servicegraph and spanmetrics connectors do their
 * real work. Returns the number of spans.
 */
function request(tracers: Record<'gateway' | 'catalog' | 'invoices', Tracer>, i: number): number {
  const child = (tracer: Tracer, name: string, kind: SpanKind, parent: ReturnType<Tracer['startSpan']>) =>
    tracer.startSpan(name, { kind }, trace.setSpan(context.active(), parent));
  const root = tracers.gateway.startSpan('GET /api/v1/catalog/products', { kind: SpanKind.SERVER });
  const out = child(tracers.gateway, 'GET', SpanKind.CLIENT, root);
  const server = child(tracers.catalog, 'GET /products', SpanKind.SERVER, out);
  const db = tracers.catalog.startSpan(
    'SELECT catalog',
    { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'peer.service': 'postgres' } },
    trace.setSpan(context.active(), server),
  );
  db.end();
  let spans = 4;
  if (i % 2 === 0) {
    const producer = child(tracers.catalog, 'orders.created publish', SpanKind.PRODUCER, server);
    const consumer = child(tracers.invoices, 'orders.created process', SpanKind.CONSUMER, producer);
    consumer.end();
    producer.end();
    spans += 2;
  }
  server.end();
  out.end();
  root.end();
  return spans;
}

/** A counter of the Collector's own metrics (Prometheus text), summed over its series. */
async function collectorCounter(collector: CollectorServer, name: string): Promise<number> {
  const text = await (await fetch(collector.metricsUrl)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function throughput(collector: CollectorServer, jaeger: JaegerServer) {
  const providers = {
    gateway: provider('gateway', collector.otlpHttpUrl, true),
    catalog: provider('catalog', collector.otlpHttpUrl, true),
    invoices: provider('invoices', collector.otlpHttpUrl, true),
  };
  const tracers = {
    gateway: providers.gateway.getTracer('bench'),
    catalog: providers.catalog.getTracer('bench'),
    invoices: providers.invoices.getTracer('bench'),
  };
  const acceptedBefore = await collectorCounter(collector, 'otelcol_receiver_accepted_spans_total');
  const cpuBefore = { collector: processCpuSeconds(collector.pid!), jaeger: processCpuSeconds(jaeger.pid!) };
  const started = performance.now();
  let sent = 0;
  let i = 0;
  // Paced in 50 ms ticks, so the Collector sees a steady stream rather than one burst.
  while (sent < SPANS) {
    const due = Math.min(SPANS, Math.floor(((performance.now() - started) / 1000) * RATE));
    while (sent < due) sent += request(tracers, i++);
    await sleep(50);
  }
  await Promise.all(Object.values(providers).map((p) => p.forceFlush()));
  const sendSeconds = (performance.now() - started) / 1000;
  // Wait until the Collector has taken every span and its exporters have had a batch timeout to send them on.
  for (let waited = 0; waited < 60_000; waited += 250) {
    if ((await collectorCounter(collector, 'otelcol_receiver_accepted_spans_total')) - acceptedBefore >= sent)
      break;
    await sleep(250);
  }
  await sleep(2_000);
  const accepted =
    (await collectorCounter(collector, 'otelcol_receiver_accepted_spans_total')) - acceptedBefore;
  const exported = await collectorCounter(collector, 'otelcol_exporter_sent_spans_total');
  const cpu = {
    collector: processCpuSeconds(collector.pid!) - cpuBefore.collector,
    jaeger: processCpuSeconds(jaeger.pid!) - cpuBefore.jaeger,
  };
  await Promise.all(Object.values(providers).map((p) => p.shutdown()));
  return {
    spans: sent,
    accepted,
    exportedToJaeger: exported,
    sendSeconds,
    spansPerS: sent / sendSeconds,
    collectorCpuMsPer1000Spans: (cpu.collector * 1000 * 1000) / sent,
    jaegerCpuMsPer1000Spans: (cpu.jaeger * 1000 * 1000) / sent,
    collectorRssMB: rssMB(collector.pid!),
  };
}

function rssMB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Milliseconds from a span's end until Jaeger's API returns its trace, polling every 10 ms. */
async function timeToVisible(jaeger: JaegerServer, endpoint: string, service: string): Promise<number> {
  const p = provider(service, endpoint, false);
  const span = p.getTracer('bench').startSpan('probe', { kind: SpanKind.SERVER });
  const traceId = span.spanContext().traceId;
  const ended = performance.now();
  span.end();
  try {
    for (;;) {
      const found = await jaeger.trace(traceId);
      if (found !== undefined && found.length > 0) return performance.now() - ended;
      if (performance.now() - ended > 30_000) throw new Error(`trace ${traceId} never became visible`);
      await sleep(10);
    }
  } finally {
    await p.shutdown();
  }
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
};

async function latency(collector: CollectorServer, jaeger: JaegerServer) {
  const direct: number[] = [];
  const via: number[] = [];
  // Alternating, so drift in the machine's load touches both paths alike.
  for (let i = 0; i < SAMPLES; i++) {
    direct.push(await timeToVisible(jaeger, jaeger.otlpHttpUrl, 'probe-direct'));
    via.push(await timeToVisible(jaeger, collector.otlpHttpUrl, 'probe-via-collector'));
  }
  const summary = (v: number[]) => ({ p50: quantile(v, 0.5), p95: quantile(v, 0.95), max: Math.max(...v) });
  return {
    samples: SAMPLES,
    directMs: summary(direct),
    viaCollectorMs: summary(via),
    addedP50Ms: quantile(via, 0.5) - quantile(direct, 0.5),
  };
}

const machine = loadBefore();
console.log(describeLoad(machine));
const prometheus = await startPrometheus();
const jaeger = await startJaeger();
const collector = await startCollector({
  chartValues: {
    remoteWrite: { url: CLUSTER_REMOTE_WRITE },
    traces: { backends: [{ name: 'jaeger', endpoint: CLUSTER_JAEGER, protocol: 'grpc' }] },
    // The chart sends logs to the release's Loki by default; there is no Loki here (AGPL, never built).
    logs: { backends: [] },
  },
  resolve: (endpoint) => {
    if (endpoint === CLUSTER_JAEGER) return jaeger.otlpGrpcAddress;
    if (endpoint === CLUSTER_REMOTE_WRITE) return prometheus.remoteWriteUrl;
    throw new Error(`no local stand-in for ${endpoint}`);
  },
});
try {
  const result = {
    settings: { spans: SPANS, rate: RATE, samples: SAMPLES },
    loadBefore: machine,
    throughput: await throughput(collector, jaeger),
    latency: await latency(collector, jaeger),
  };
  console.log(JSON.stringify(result, null, 2));
  const out = resolve(args.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await collector.stop();
  await jaeger.stop();
  await prometheus.stop();
}
