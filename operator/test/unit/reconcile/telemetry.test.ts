import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DefaultedObservabilityDemo } from '../../../src/api/index.js';
import {
  edgesCondition,
  expectedEdges,
  formatEdge,
  inClusterPrometheusUrl,
  missingEdges,
  serviceGraphQueryFor,
  TelemetryVerifier,
  unverifiableReason,
  type EdgeSample,
} from '../../../src/reconcile/telemetry.js';

type Services = 'catalog' | 'processor' | 'invoices' | 'gateway' | 'loadgen';

function demo(
  opts: {
    disabled?: Services[];
    observability?: Record<string, unknown>;
    generation?: number;
  } = {},
): DefaultedObservabilityDemo {
  const service = (name: Services) => ({ enabled: !(opts.disabled ?? []).includes(name), replicas: 1 });
  return {
    apiVersion: 'obsdemo.dev/v1alpha1',
    kind: 'ObservabilityDemo',
    metadata: { name: 'shop', namespace: 'demo', uid: 'u1', generation: opts.generation ?? 1 },
    spec: {
      services: {
        catalog: service('catalog'),
        processor: service('processor'),
        invoices: service('invoices'),
        gateway: service('gateway'),
        loadgen: service('loadgen'),
      },
      messaging: { nats: { mode: 'managed' } },
      database: { postgres: { mode: 'managed' } },
      observability: {
        prometheus: { enabled: true, retention: '6h' },
        tracing: { samplingRatio: 1, backend: 'tempo' },
        logs: { backend: 'loki', retention: '24h' },
        collector: { serviceGraphs: true, spanMetrics: true },
        grafana: { enabled: true },
        external: {},
        ...opts.observability,
      },
    },
  } as unknown as DefaultedObservabilityDemo;
}

const sample = (client: string, server: string, connection_type = '', value = 3): EdgeSample => ({
  metric: { client, server, connection_type },
  value,
});

const allSamples = [
  sample('gateway', 'catalog'),
  sample('gateway', 'processor'),
  sample('processor', 'catalog'),
  sample('catalog', 'invoices', 'messaging_system'),
  sample('catalog', 'postgres', 'database'),
];

describe('expectedEdges', () => {
  it('expects the five edges of the full demo', () => {
    expect(expectedEdges(demo()).map(formatEdge)).toEqual([
      'gateway→catalog',
      'gateway→processor',
      'processor→catalog',
      'catalog→invoices (messaging_system)',
      'catalog→postgres (database)',
    ]);
  });

  it('expects only edges whose two ends are enabled', () => {
    expect(expectedEdges(demo({ disabled: ['processor', 'invoices'] })).map(formatEdge)).toEqual([
      'gateway→catalog',
      'catalog→postgres (database)',
    ]);
    expect(expectedEdges(demo({ disabled: ['catalog'] })).map(formatEdge)).toEqual(['gateway→processor']);
  });
});

describe('edge comparison', () => {
  it('is True with EdgesObserved when every expected edge has requests', () => {
    expect(edgesCondition(expectedEdges(demo()), allSamples)).toMatchObject({
      type: 'TelemetryVerified',
      status: 'True',
      reason: 'EdgesObserved',
    });
  });

  it('names each missing edge, with its connection type', () => {
    const samples = allSamples.filter(
      (s) => !(s.metric.server === 'processor' || s.metric.server === 'invoices'),
    );
    expect(edgesCondition(expectedEdges(demo()), samples)).toEqual({
      type: 'TelemetryVerified',
      status: 'False',
      reason: 'EdgesMissing',
      message:
        'missing service-graph edges (no requests in the last 5m): gateway→processor, catalog→invoices (messaging_system)',
    });
  });

  it('says NoTraffic when loadgen is off and no edge had requests, and names the edges otherwise', () => {
    const expected = expectedEdges(demo({ disabled: ['loadgen'] }));
    expect(edgesCondition(expected, [], { loadgenEnabled: false })).toMatchObject({
      status: 'False',
      reason: 'NoTraffic',
      message: expect.stringContaining('spec.services.loadgen.enabled is false'),
    });
    expect(edgesCondition(expected, [], { loadgenEnabled: true }).reason).toBe('EdgesMissing');
    // Some traffic (requests sent by hand) but an edge missing is a telemetry finding again.
    expect(edgesCondition(expected, [sample('gateway', 'catalog')], { loadgenEnabled: false }).reason).toBe(
      'EdgesMissing',
    );
  });

  it('tells edges apart by connection type and ignores series without requests', () => {
    const expected = expectedEdges(demo());
    const samples = [
      ...allSamples.filter((s) => s.metric.server !== 'invoices' && s.metric.server !== 'postgres'),
      sample('catalog', 'invoices'),
      sample('catalog', 'postgres', 'database', 0),
    ];
    expect(missingEdges(expected, samples).map(formatEdge)).toEqual([
      'catalog→invoices (messaging_system)',
      'catalog→postgres (database)',
    ]);
  });

  it('does not let unexpected edges stand in for expected ones', () => {
    const expected = expectedEdges(demo({ disabled: ['processor'] }));
    expect(missingEdges(expected, [sample('loadgen', 'gateway'), sample('catalog', 'catalog')])).toEqual(
      expected,
    );
  });
});

describe('unverifiableReason', () => {
  it('is Unknown without Prometheus, saying why', () => {
    expect(
      unverifiableReason(demo({ observability: { prometheus: { enabled: false, retention: '6h' } } })),
    ).toMatchObject({
      status: 'Unknown',
      reason: 'PrometheusDisabled',
      message: expect.stringContaining('without Prometheus'),
    });
  });

  it('is Unknown without the Collector’s service graphs or with metrics written elsewhere', () => {
    expect(
      unverifiableReason(demo({ observability: { collector: { serviceGraphs: false, spanMetrics: true } } }))
        ?.reason,
    ).toBe('ServiceGraphsDisabled');
    expect(
      unverifiableReason(
        demo({ observability: { external: { prometheusRemoteWriteUrl: 'http://prom:9090/api/v1/write' } } }),
      )?.reason,
    ).toBe('ExternalBackends');
    // Traces also forwarded elsewhere still feed the demo's own service graph.
    expect(
      unverifiableReason(demo({ observability: { external: { otlpEndpoint: 'http://collector:4318' } } })),
    ).toBeUndefined();
    expect(unverifiableReason(demo())).toBeUndefined();
  });

  it('addresses the demo’s own Prometheus Service by default', () => {
    expect(inClusterPrometheusUrl(demo())).toBe('http://shop-prometheus.demo.svc:9090');
  });
});

describe('TelemetryVerifier', () => {
  let server: Server;
  let url: string;
  const received: { query: string; authorization?: string }[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  const vector = (samples: EdgeSample[]) => ({
    status: 200,
    body: {
      status: 'success',
      data: {
        resultType: 'vector',
        result: samples.map((s) => ({ metric: s.metric, value: [1, String(s.value)] })),
      },
    },
  });

  const readBody = async (req: IncomingMessage) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    return body;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      void readBody(req).then((body) => {
        received.push({
          query: new URLSearchParams(body).get('query') ?? '',
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('queries the service graph and reuses the result within the interval and generation', async () => {
    received.length = 0;
    answer = vector(allSamples.slice(0, 2));
    let now = 1_000_000;
    const verifier = new TelemetryVerifier({ prometheusUrl: url, minIntervalMs: 30_000, now: () => now });
    const first = await verifier.check(demo());
    expect(first.condition.reason).toBe('EdgesMissing');
    expect(first.recheckAfterMs).toBe(30_000);
    expect(received).toEqual([
      {
        query:
          'sum by (client, server, connection_type) (increase(traces_service_graph_request_total{namespace="demo",obsdemo_instance="shop"}[5m]))',
      },
    ]);
    expect(received[0]?.query).toBe(serviceGraphQueryFor(demo()));

    now += 10_000;
    answer = vector(allSamples);
    const cached = await verifier.check(demo());
    expect(cached.condition.reason).toBe('EdgesMissing');
    expect(cached.recheckAfterMs).toBe(20_000);
    expect(received).toHaveLength(1);

    // A new generation is checked at once; so is the same one after the interval.
    const changed = await verifier.check(demo({ generation: 2 }));
    // Verified telemetry is looked at again later, so that it turns False when traffic stops.
    expect(changed).toEqual({
      condition: expect.objectContaining({ status: 'True' }),
      recheckAfterMs: 300_000,
    });
    expect(received).toHaveLength(2);
    now += 30_000;
    await verifier.check(demo({ generation: 2 }));
    expect(received).toHaveLength(3);
  });

  it('does not query a Prometheus that is not ready yet, so the failure backoff does not grow', async () => {
    received.length = 0;
    answer = vector(allSamples);
    const verifier = new TelemetryVerifier({ prometheusUrl: url, minIntervalMs: 30_000 });
    const waiting = await verifier.check(demo(), { prometheusReady: false });
    expect(waiting).toEqual({
      condition: expect.objectContaining({ status: 'Unknown', reason: 'PrometheusNotReady' }),
    });
    expect(received).toHaveLength(0);
    const ready = await verifier.check(demo(), { prometheusReady: true });
    expect(ready.condition.reason).toBe('EdgesObserved');
    expect(received).toHaveLength(1);
  });

  it('is Unknown with PrometheusUnreachable on an error answer, a refused connection or a timeout', async () => {
    answer = { status: 400, body: { status: 'error', error: 'parse error' } };
    const bad = await new TelemetryVerifier({ prometheusUrl: url }).check(demo());
    expect(bad.condition).toMatchObject({ status: 'Unknown', reason: 'PrometheusUnreachable' });
    expect(bad.condition.message).toContain('parse error (HTTP 400)');

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await new TelemetryVerifier({ prometheusUrl: `http://127.0.0.1:${port}` }).check(demo());
    expect(refused.condition).toMatchObject({ status: 'Unknown', reason: 'PrometheusUnreachable' });
    expect(refused.condition.message).toContain('ECONNREFUSED');
    expect(refused.recheckAfterMs).toBeGreaterThan(0);

    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const timedOut = await new TelemetryVerifier({
        prometheusUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        timeoutMs: 200,
      }).check(demo());
      expect(timedOut.condition.message).toContain('no answer within the timeout');
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('asks an unreachable Prometheus less and less often, and at once again after an answer', async () => {
    received.length = 0;
    answer = { status: 503, body: 'unavailable' };
    let now = 0;
    const verifier = new TelemetryVerifier({ prometheusUrl: url, minIntervalMs: 30_000, now: () => now });
    const waits: (number | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      const result = await verifier.check(demo());
      waits.push(result.recheckAfterMs);
      now += result.recheckAfterMs ?? 0;
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    expect(received).toHaveLength(6);
    answer = vector(allSamples.slice(0, 1));
    expect((await verifier.check(demo())).recheckAfterMs).toBe(30_000);
  });

  it('sends URL credentials as a header and never shows them', async () => {
    received.length = 0;
    answer = { status: 503, body: 'unavailable' };
    const withCredentials = url.replace('http://', 'http://reader:s3cr%40t@');
    const result = await new TelemetryVerifier({ prometheusUrl: `${withCredentials}/` }).check(demo());
    expect(received[0]?.authorization).toBe(`Basic ${Buffer.from('reader:s3cr@t').toString('base64')}`);
    expect(result.condition.message).toBe(`cannot query Prometheus at ${url}: HTTP 503`);
    expect(result.condition.message).not.toMatch(/reader|s3cr/);
  });

  it('does not query when the demo cannot show a service graph', async () => {
    received.length = 0;
    const result = await new TelemetryVerifier({ prometheusUrl: url }).check(
      demo({ observability: { prometheus: { enabled: false, retention: '6h' } } }),
    );
    expect(result.condition.reason).toBe('PrometheusDisabled');
    expect(received).toHaveLength(0);
  });
});
