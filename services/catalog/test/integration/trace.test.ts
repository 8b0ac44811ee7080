import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  freePort,
  ManagedProcess,
  SPAN_KIND,
  startOtlpReceiver,
  waitUntilReady,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@obsdemo/testenv';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  catalogEnv,
  eventually,
  placeBehindALock,
  request,
  startDataplane,
  streamMessages,
  type Dataplane,
} from './harness.js';

const catalogDir = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(catalogDir, '..', '..');

let dp: Dataplane;
let receiver: OtlpReceiver;
let proc: ManagedProcess;
let base: string;
let logDir: string;

beforeAll(async () => {
  // The test runs the compiled service exactly as the container does, so make sure dist/ is current.
  execFileSync(
    process.execPath,
    [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', join(catalogDir, 'tsconfig.json')],
    {
      stdio: 'inherit',
    },
  );
  dp = await startDataplane();
  await dp.pg.createDatabase('catalog_trace');
  receiver = await startOtlpReceiver();
  logDir = mkdtempSync(join(tmpdir(), 'obsdemo-catalog-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = ManagedProcess.start({
    name: 'catalog',
    command: process.execPath,
    args: ['--import', '@obsdemo/telemetry/register', 'dist/main.js'],
    cwd: catalogDir,
    logFile: join(logDir, 'catalog.log'),
    env: {
      PATH: process.env['PATH'],
      ...catalogEnv(dp, 'catalog_trace', { CATALOG_PORT: String(port) }),
      OTEL_SERVICE_NAME: 'catalog',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER_ARG: '1',
      // As the chart sets it with a log store: every line also goes out as an OTLP log record.
      OTEL_LOGS_EXPORTER: 'otlp',
    },
  });
  await waitUntilReady(proc, 'serving /ready', async () => (await fetch(`${base}/ready`)).ok);
});

afterAll(async () => {
  const exit = await proc?.stop();
  await receiver?.close();
  await dp?.stop();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
  // Graceful shutdown is part of the contract: SIGTERM must end in exit code 0.
  expect(exit).toEqual({ code: 0, signal: null });
});

function ancestors(span: ReceivedSpan, all: ReceivedSpan[]): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  let current: ReceivedSpan | undefined = span;
  while (current?.parentSpanId) {
    const parentId: string = current.parentSpanId;
    current = all.find((s) => s.spanId === parentId && s.traceId === span.traceId);
    if (current) chain.push(current);
  }
  return chain;
}

describe('tracing of the real catalog process', () => {
  it('marks product reads with cache.hit: a miss first, then a hit', async () => {
    const seen = async () => receiver.spans.filter((s) => s.attributes['cache.hit'] !== undefined);
    const before = (await seen()).length;
    for (let i = 0; i < 2; i++) expect((await request(base, 'GET', '/products/9')).status).toBe(200);
    const marked = await eventually(
      'two spans with cache.hit exported',
      async () => (await seen()).slice(before),
      (spans) => spans.length >= 2,
    );
    const byTrace = marked.map((span) => ({
      hit: span.attributes['cache.hit'],
      route: receiver.spans.find((s) => s.traceId === span.traceId && s.kind === SPAN_KIND.SERVER)
        ?.attributes['http.route'],
    }));
    expect(byTrace).toEqual([
      { hit: false, route: '/products/:id' },
      { hit: true, route: '/products/:id' },
    ]);
  });

  it('links POST /orders → pg spans → relay PRODUCER span, carries it in NATS headers, logs and exemplars', async () => {
    const res = await request(base, 'POST', '/orders', {
      customer: 'trace@example.com',
      items: [{ productId: 1, quantity: 1 }],
    });
    expect(res.status).toBe(201);
    const orderId = String(res.body['id']);

    const spans = await eventually(
      'server, pg and producer spans exported',
      async () => receiver.spans,
      (all) =>
        all.some((s) => s.kind === SPAN_KIND.PRODUCER && s.attributes['messaging.message.id'] === orderId),
    );
    const producer = spans.find(
      (s) => s.kind === SPAN_KIND.PRODUCER && s.attributes['messaging.message.id'] === orderId,
    )!;
    const trace = spans.filter((s) => s.traceId === producer.traceId);

    const server = trace.find((s) => s.kind === SPAN_KIND.SERVER);
    expect(server).toBeDefined();
    expect(server!.service).toBe('catalog');
    expect(server!.attributes['http.route']).toBe('/orders');

    // One SERVER span per request, named after the route template (what spanmetrics and the RED panels group by).
    expect(server!.name).toBe('POST /orders');
    expect(server!.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/orders',
      'http.response.status_code': 201,
    });
    expect(trace.filter((s) => s.kind === SPAN_KIND.SERVER)).toHaveLength(1);

    const pg = trace.filter(
      (s) => s.kind === SPAN_KIND.CLIENT && s.attributes['db.system.name'] === 'postgresql',
    );
    const statements = pg.map((s) => String(s.attributes['db.query.text']));
    // The order and its outbox event are written by one statement, in the request's trace.
    expect(statements.some((q) => q.includes('INSERT INTO orders') && q.includes('INSERT INTO outbox'))).toBe(
      true,
    );
    for (const span of pg) expect(ancestors(span, trace)).toContainEqual(server);
    // What Tempo's service graph needs to draw catalog→postgres as a database edge.
    for (const span of pg) {
      expect(span.attributes).toMatchObject({ 'peer.service': 'postgres', 'db.system': 'postgresql' });
    }

    expect(producer.name).toBe('send orders.created');
    expect(producer.attributes['messaging.destination.name']).toBe('orders.created');
    expect(ancestors(producer, trace)).toContainEqual(server);

    const [message] = (await streamMessages(dp.nats.url)).filter(
      (m) => m.header.get('Nats-Msg-Id') === orderId,
    );
    expect(message?.header.get('traceparent')).toBe(`00-${producer.traceId}-${producer.spanId}-01`);

    // The same trace id reaches the JSON log line and the latency exemplar, which is what Grafana links on.
    const logLine = readFileSync(join(logDir, 'catalog.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['message'] === 'order created' && String(l['orderId']) === orderId);
    expect(logLine).toMatchObject({ service: 'catalog', level: 'info', trace_id: producer.traceId });
    // The same line as an OTLP log record, in the same trace: what Loki stores and Grafana's trace → logs link finds.
    const record = await eventually(
      'the "order created" log record over OTLP',
      async () =>
        receiver.logs.find((r) => r.body === 'order created' && String(r.attributes['orderId']) === orderId),
      (r) => r !== undefined,
    );
    expect(record).toMatchObject({ service: 'catalog', severityText: 'info', traceId: producer.traceId });
    expect(record?.spanId).toBe(logLine?.['span_id']);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(
      `http_requests_total{method="POST",route="/orders",status="201",service="catalog"} 1 # {trace_id="${producer.traceId}"}`,
    );
  });

  it('keeps each order of a batch in its own trace: its span, its outbox event and its log line', async () => {
    const place = (customer: string) => () =>
      request(base, 'POST', '/orders', { customer, items: [{ productId: 2, quantity: 1 }] });
    const { first, next } = await placeBehindALock(
      { dp, database: 'catalog_trace', catalogUrl: base },
      2,
      place('batch-first'),
      ['batch-1', 'batch-2', 'batch-3'].map(place),
    );
    const answers = [first, ...next];
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    const orderIds = answers.map((a) => String(a.body['id']));

    const spans = await eventually(
      "every order's PRODUCER span exported",
      async () => receiver.spans,
      (all) =>
        orderIds.every((id) =>
          all.some((s) => s.kind === SPAN_KIND.PRODUCER && s.attributes['messaging.message.id'] === id),
        ),
    );
    const logLines = readFileSync(join(logDir, 'catalog.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const traces = orderIds.map((id, index) => {
      const producer = spans.find(
        (s) => s.kind === SPAN_KIND.PRODUCER && s.attributes['messaging.message.id'] === id,
      )!;
      const inTrace = spans.filter((s) => s.traceId === producer.traceId);
      // The event was published from the order's own request: its trace has that one request's SERVER span.
      const servers = inTrace.filter((s) => s.kind === SPAN_KIND.SERVER);
      expect(servers).toHaveLength(1);
      expect(ancestors(producer, inTrace)).toContainEqual(servers[0]);
      expect(servers[0]!.attributes['catalog.orders.write_batch_size']).toBe(index === 0 ? 1 : 3);
      const logLine = logLines.find((l) => l['message'] === 'order created' && String(l['orderId']) === id);
      expect(logLine?.['trace_id']).toBe(producer.traceId);
      const writes = inTrace.filter(
        (s) =>
          s.kind === SPAN_KIND.CLIENT && String(s.attributes['db.query.text']).includes('INSERT INTO orders'),
      );
      return { traceId: producer.traceId, writes: writes.length };
    });
    expect(new Set(traces.map((t) => t.traceId)).size).toBe(4);
    // The first order was written alone; the three that waited by one statement, whose span is in one of their traces.
    expect(traces.map((t) => t.writes)).toEqual([
      1,
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(traces.slice(1).reduce((sum, t) => sum + t.writes, 0)).toBe(1);
  });
});
