// The ObservabilityDemo CRD on a real kube-apiserver: it installs, the samples are accepted with their defaults
// filled in, invalid resources are rejected with the schema's or the CEL rule's message, and the immutable fields
// stay immutable.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubeConfig, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import {
  createTestNamespace,
  defaultBinDir,
  deleteTestNamespace,
  ENV_KUBECONFIG,
  eventually,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';
import { CRD_NAME, GROUP, PLURAL, VERSION } from '../../src/api/index.js';
import type {
  DefaultedObservabilityDemo,
  ObservabilityDemo,
  ObservabilityDemoSpec,
  ObservabilityDemoStatus,
} from '../../src/api/index.js';

const CRD_FILE = new URL('../../../crds/obsdemo.dev_observabilitydemos.yaml', import.meta.url);
const SAMPLES = new URL('../../../manifests/samples/', import.meta.url);
const FIELD_MANAGER = 'obsdemo-crd-test';

let kc: KubeConfig;
let objects: CustomObjectsApi;
let namespace: string;
let kubectlCache: string;

const rawCrd = load(readFileSync(CRD_FILE, 'utf8')) as { spec: { versions: { schema: unknown }[] } };

function sample(file: string): ObservabilityDemo {
  return load(readFileSync(new URL(file, SAMPLES), 'utf8')) as ObservabilityDemo;
}

function demo(name: string, spec: unknown): ObservabilityDemo {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ObservabilityDemo',
    metadata: { name },
    spec: spec as ObservabilityDemoSpec,
  };
}

async function create(body: ObservabilityDemo): Promise<DefaultedObservabilityDemo> {
  return (await objects.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
  })) as DefaultedObservabilityDemo;
}

async function get(name: string): Promise<DefaultedObservabilityDemo> {
  return (await objects.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as DefaultedObservabilityDemo;
}

/** The apiserver's rejection of a call: HTTP code and the Status message a user sees. */
async function rejection(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    // Depending on the response's content type the client hands over the Status parsed or as JSON text.
    const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
      message?: unknown;
    };
    return { code: error.code, message: String(body.message) };
  }
  throw new Error('the apiserver accepted the object');
}

async function kubectl(...args: string[]): Promise<string> {
  // A private discovery cache: nothing written to the user's ~/.kube, nothing stale from another run.
  const { stdout } = await promisify(execFile)(`${defaultBinDir()}kubectl`, [
    '--kubeconfig',
    process.env[ENV_KUBECONFIG]!,
    '--cache-dir',
    kubectlCache,
    ...args,
  ]);
  return stdout;
}

beforeAll(async () => {
  kubectlCache = await mkdtemp(join(tmpdir(), 'obsdemo-crd-kubectl-'));
  kc = kubeConfigFromEnv();
  objects = kc.makeApiClient(CustomObjectsApi);
  const crds = kc.makeApiClient(ApiextensionsV1Api);
  // Server-side apply of the file as it is (JSON field names), like `kubectl apply --server-side`; other test files
  // may apply the same CRD, which is why this is an apply and why the CRD is not deleted afterwards.
  await crds.patchCustomResourceDefinition(
    { name: CRD_NAME, body: rawCrd, fieldManager: FIELD_MANAGER, force: true },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  await eventually('the CRD to be Established', async () => {
    const crd: V1CustomResourceDefinition = await crds.readCustomResourceDefinition({ name: CRD_NAME });
    const established = crd.status?.conditions?.find((c) => c.type === 'Established')?.status === 'True';
    return established ? true : undefined;
  });
  namespace = await createTestNamespace(kc, 'crd', { podSecurity: 'restricted' });
  // Discovery of a new resource reaches the apiserver's handlers shortly after Established.
  await eventually('the ObservabilityDemo resource to be served', async () => {
    await objects.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL });
    return true;
  });
});

afterAll(async () => {
  if (namespace !== undefined) await deleteTestNamespace(kc, namespace);
  if (kubectlCache !== undefined) await rm(kubectlCache, { recursive: true, force: true });
});

describe('the CRD on the apiserver', () => {
  it('is stored with exactly the schema in crds/ (nothing pruned or rewritten)', async () => {
    const stored = JSON.parse(await kubectl('get', 'crd', CRD_NAME, '-o', 'json')) as typeof rawCrd;
    expect(stored.spec.versions[0]?.schema).toEqual(rawCrd.spec.versions[0]?.schema);
  });

  it('documents fields for kubectl explain', async () => {
    // The apiserver publishes a new CRD's OpenAPI document a moment after the CRD is Established.
    const out = await eventually('kubectl explain to know ObservabilityDemo', () =>
      kubectl('explain', 'od.spec.faults.latencyMs'),
    );
    expect(out).toContain('Required for latency');
    expect(await kubectl('explain', 'observabilitydemo.status.servicesReady')).toContain('e.g. 5/5');
  });
});

describe('the samples', () => {
  it('minimal.yaml is accepted and every documented default is filled in', async () => {
    const created = await create({ ...sample('minimal.yaml'), metadata: { name: 'minimal' } });
    const image = { pullPolicy: 'IfNotPresent' };
    expect(created.spec).toEqual({
      paused: false,
      profile: 'small',
      services: {
        // catalog, processor and gateway leave replicas unset (one pod), so autoscaling can be added later.
        catalog: {
          enabled: true,
          image,
          cache: { enabled: true, maxEntries: 10000, ttlSeconds: 60 },
        },
        processor: { enabled: true, image },
        invoices: { enabled: true, replicas: 1, image },
        gateway: {
          enabled: true,
          image,
          rateLimit: { requestsPerSecond: 50, burst: 100 },
          auth: { mode: 'none' },
        },
        loadgen: {
          enabled: true,
          replicas: 1,
          image,
          requestsPerSecond: 5,
          mix: { browse: 60, order: 20, analytics: 15, enrich: 5, batch: 0 },
        },
      },
      messaging: { nats: { mode: 'managed', replicas: 1, jetstream: { storage: 'file', size: '1Gi' } } },
      database: { postgres: { mode: 'managed', storage: '1Gi', retainOnDelete: false } },
      observability: {
        tracing: { samplingRatio: 1, backend: 'tempo' },
        logs: { backend: 'loki', retention: '24h' },
        prometheus: { enabled: true, retention: '6h', alertsFor: '5m' },
        collector: { serviceGraphs: true, spanMetrics: true },
        grafana: { enabled: true },
        external: {},
      },
      networkPolicy: { enabled: true },
    });
  });

  it('full.yaml is accepted unchanged: it already sets every field', async () => {
    const full = sample('full.yaml');
    const created = await create({ ...full, metadata: { name: 'full' } });
    expect(created.spec).toEqual(full.spec);
  });

  it('external-backends.yaml is accepted and keeps its external settings', async () => {
    const created = await create({
      ...sample('external-backends.yaml'),
      metadata: { name: 'external-backends' },
    });
    expect(created.spec.messaging.nats).toEqual({
      mode: 'external',
      url: 'nats://nats.messaging.svc:4222',
      replicas: 1,
      jetstream: { storage: 'file', size: '1Gi' },
    });
    expect(created.spec.database.postgres).toMatchObject({
      mode: 'external',
      secretRef: { name: 'shop-postgres' },
    });
    expect(created.spec.services.gateway.auth.jwt?.secretRef).toEqual({
      name: 'shop-jwks',
      key: 'jwks.json',
    });
  });

  it('autoscaling.yaml is accepted with the autoscalers it sets and no replicas counts', async () => {
    const created = await create({ ...sample('autoscaling.yaml'), metadata: { name: 'autoscaling' } });
    const { catalog, processor, gateway } = created.spec.services;
    expect([catalog, processor, gateway].map((s) => [s.replicas, s.autoscaling])).toEqual([
      [undefined, { minReplicas: 2, maxReplicas: 6, targetCPUUtilization: 70 }],
      [undefined, { minReplicas: 1, maxReplicas: 4, targetCPUUtilization: 80 }],
      [undefined, { minReplicas: 2, maxReplicas: 4, targetCPUUtilization: 75 }],
    ]);
  });

  it('autoscaling fills in minReplicas 1 and a CPU target of 80 percent', async () => {
    const created = await create(
      demo('autoscaling-defaults', { services: { processor: { autoscaling: { maxReplicas: 3 } } } }),
    );
    expect(created.spec.services.processor.autoscaling).toEqual({
      minReplicas: 1,
      maxReplicas: 3,
      targetCPUUtilization: 80,
    });
  });

  it('fault-scenario.yaml is accepted; a partial traffic mix counts unset shares as 0', async () => {
    const created = await create({ ...sample('fault-scenario.yaml'), metadata: { name: 'fault-scenario' } });
    expect(created.spec.faults).toHaveLength(3);
    expect(created.spec.services.loadgen.mix).toEqual({
      browse: 50,
      order: 30,
      analytics: 10,
      enrich: 10,
    });
  });
});

describe('invalid ObservabilityDemos are rejected with a message a person can act on', () => {
  const invalid: [string, unknown, string][] = [
    [
      'external NATS without url',
      { messaging: { nats: { mode: 'external' } } },
      'messaging.nats.mode external requires messaging.nats.url',
    ],
    [
      'managed NATS with a url',
      { messaging: { nats: { url: 'nats://nats:4222' } } },
      'messaging.nats.url is only used with mode external',
    ],
    [
      'a NATS url that is not one',
      { messaging: { nats: { mode: 'external', url: 'http://nats:4222' } } },
      'spec.messaging.nats.url in body should match',
    ],
    [
      'a JetStream size of nothing',
      { messaging: { nats: { jetstream: { size: '0' } } } },
      'messaging.nats.jetstream.size must be a positive quantity of bytes',
    ],
    [
      'a negative Postgres volume',
      { database: { postgres: { storage: '-1Gi' } } },
      'database.postgres.storage must be a positive quantity of bytes',
    ],
    [
      'external Postgres without secretRef',
      { database: { postgres: { mode: 'external' } } },
      'database.postgres.mode external requires database.postgres.secretRef',
    ],
    [
      'managed Postgres with a secretRef',
      { database: { postgres: { secretRef: { name: 'pg' } } } },
      'database.postgres.secretRef is only used with mode external',
    ],
    [
      'a traffic mix that does not add up to 100',
      { services: { loadgen: { mix: { browse: 60, order: 30 } } } },
      'loadgen.mix shares must add up to 100',
    ],
    [
      'a latency fault without latencyMs',
      { faults: [{ service: 'catalog', type: 'latency', percent: 10 }] },
      'a latency fault needs latencyMs',
    ],
    [
      'a latency fault of 0 ms',
      { faults: [{ service: 'catalog', type: 'latency', latencyMs: 0, percent: 10 }] },
      'spec.faults[0].latencyMs in body should be greater than or equal to 1',
    ],
    [
      'an error fault with latencyMs',
      { faults: [{ service: 'invoices', type: 'error', latencyMs: 100, percent: 10 }] },
      'an error fault fails requests instead of delaying them: remove latencyMs',
    ],
    [
      'two faults of the same service and type',
      {
        faults: [
          { service: 'catalog', type: 'error', percent: 1 },
          { service: 'catalog', type: 'error', percent: 2 },
        ],
      },
      'Duplicate value',
    ],
    [
      'a fault percentage above 100',
      { faults: [{ service: 'gateway', type: 'error', percent: 150 }] },
      'spec.faults[0].percent in body should be less than or equal to 100',
    ],
    [
      'a fault on loadgen',
      { faults: [{ service: 'loadgen', type: 'error', percent: 5 }] },
      'Unsupported value: "loadgen"',
    ],
    [
      'jwt auth without jwt settings',
      { services: { gateway: { auth: { mode: 'jwt' } } } },
      'gateway.auth.mode jwt requires gateway.auth.jwt',
    ],
    [
      'jwt settings with two key sources',
      {
        services: {
          gateway: {
            auth: {
              mode: 'jwt',
              jwt: { jwksUrl: 'https://idp/jwks', secretRef: { name: 'k' }, issuer: 'i', audience: 'a' },
            },
          },
        },
      },
      'gateway.auth.jwt needs exactly one key source',
    ],
    [
      'a JWKS URL without scheme',
      {
        services: {
          gateway: {
            auth: { mode: 'jwt', jwt: { jwksUrl: 'idp.example.com/jwks', issuer: 'i', audience: 'a' } },
          },
        },
      },
      'gateway.auth.jwt.jwksUrl must be an absolute http:// or https:// URL',
    ],
    [
      'a burst below the rate',
      { services: { gateway: { rateLimit: { requestsPerSecond: 200 } } } },
      'gateway.rateLimit.burst must be at least requestsPerSecond',
    ],
    [
      'negative replicas',
      { services: { catalog: { replicas: -1 } } },
      'spec.services.catalog.replicas in body should be greater than or equal to 0',
    ],
    ...(['catalog', 'processor', 'gateway'] as const).map((service): [string, unknown, string] => [
      `both replicas and autoscaling on ${service}`,
      { services: { [service]: { replicas: 2, autoscaling: { minReplicas: 2, maxReplicas: 4 } } } },
      `services.${service} sets both replicas and autoscaling: remove replicas`,
    ]),
    [
      'autoscaling with minReplicas above maxReplicas',
      { services: { gateway: { autoscaling: { minReplicas: 5, maxReplicas: 3 } } } },
      'gateway.autoscaling.minReplicas must not exceed maxReplicas',
    ],
    [
      'autoscaling without maxReplicas',
      { services: { catalog: { autoscaling: { minReplicas: 2 } } } },
      'spec.services.catalog.autoscaling.maxReplicas: Required value',
    ],
    [
      'autoscaling that allows zero pods',
      { services: { processor: { autoscaling: { minReplicas: 0, maxReplicas: 2 } } } },
      'spec.services.processor.autoscaling.minReplicas in body should be greater than or equal to 1',
    ],
    [
      'a CPU utilization target above 100 percent',
      { services: { catalog: { autoscaling: { maxReplicas: 2, targetCPUUtilization: 150 } } } },
      'spec.services.catalog.autoscaling.targetCPUUtilization in body should be less than or equal to 100',
    ],
    [
      'a CPU request above its limit',
      { services: { processor: { resources: { requests: { cpu: '2' }, limits: { cpu: '500m' } } } } },
      'resources.requests.cpu must not exceed resources.limits.cpu',
    ],
    [
      'a memory quantity that is not one',
      { services: { processor: { resources: { limits: { memory: 'lots' } } } } },
      'spec.services.processor.resources.limits.memory in body should match',
    ],
    [
      'an env var name with a dash',
      { services: { invoices: { env: [{ name: 'LOG-LEVEL', value: 'x' }] } } },
      'spec.services.invoices.env[0].name in body should match',
    ],
    [
      'loadgen without the gateway',
      { services: { gateway: { enabled: false } } },
      'loadgen sends its traffic through the gateway',
    ],
    [
      'processor without catalog',
      { services: { catalog: { enabled: false } } },
      'processor reads products and orders from catalog',
    ],
    [
      'Grafana without Prometheus',
      {
        observability: {
          prometheus: { enabled: false },
          collector: { serviceGraphs: false, spanMetrics: false },
        },
      },
      "Grafana's dashboards read from the in-cluster Prometheus",
    ],
    [
      'Collector metrics with nowhere to write them',
      { observability: { prometheus: { enabled: false }, grafana: { enabled: false } } },
      'collector.serviceGraphs and collector.spanMetrics write metrics to Prometheus',
    ],
    [
      'an unknown trace backend',
      { observability: { tracing: { backend: 'zipkin' } } },
      'spec.observability.tracing.backend: Unsupported value: "zipkin"',
    ],
    [
      'an OTLP endpoint that is not a URL',
      { observability: { external: { otlpEndpoint: 'collector:4318' } } },
      'observability.external.otlpEndpoint must be an absolute http:// or https:// URL',
    ],
    [
      'a sampling ratio above 1',
      { observability: { tracing: { samplingRatio: 1.5 } } },
      'spec.observability.tracing.samplingRatio in body should be less than or equal to 1',
    ],
    [
      'an unknown log backend',
      { observability: { logs: { backend: 'elasticsearch' } } },
      'spec.observability.logs.backend: Unsupported value: "elasticsearch"',
    ],
    [
      'a log retention that is not a whole number of days',
      { observability: { logs: { retention: '36h' } } },
      'logs.retention must be a whole number of days in hours, such as 24h or 168h',
    ],
    [
      'a log retention in days rather than hours',
      { observability: { logs: { retention: '7d' } } },
      'spec.observability.logs.retention in body should match',
    ],
    [
      'a Prometheus retention that is not a duration',
      { observability: { prometheus: { retention: '6 hours' } } },
      'spec.observability.prometheus.retention in body should match',
    ],
    ['an unknown profile', { profile: 'huge' }, 'Unsupported value: "huge"'],
    [
      'two NATS servers (JetStream clusters need 1, 3 or 5)',
      { messaging: { nats: { replicas: 2 } } },
      'spec.messaging.nats.replicas: Unsupported value: 2',
    ],
    [
      'a gateway client that is both an address range and pods',
      { networkPolicy: { gatewayFrom: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] } },
      'a peer is either an ipBlock or a podSelector and/or namespaceSelector',
    ],
    [
      'an empty gateway client',
      { networkPolicy: { gatewayFrom: [{}] } },
      'a peer is either an ipBlock or a podSelector and/or namespaceSelector',
    ],
    [
      'an address range that is not a CIDR',
      { networkPolicy: { extraEgress: [{ to: [{ ipBlock: { cidr: '10.0.0.300/8' } }] }] } },
      'ipBlock.cidr must be a CIDR such as 10.0.0.0/8',
    ],
    [
      'an exception that is not a CIDR',
      { networkPolicy: { gatewayFrom: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0'] } }] } },
      'ipBlock.except entries must be CIDRs',
    ],
    [
      'an empty egress rule, which would allow everything',
      { networkPolicy: { extraEgress: [{}] } },
      'an egress rule needs to, ports or both',
    ],
    [
      'a port range that starts at a named port',
      { networkPolicy: { extraEgress: [{ ports: [{ port: 'https', endPort: 8443 }] }] } },
      'endPort needs a numeric port no greater than it',
    ],
    [
      'a port range that ends before it starts',
      { networkPolicy: { extraEgress: [{ ports: [{ port: 9000, endPort: 8000 }] }] } },
      'endPort needs a numeric port no greater than it',
    ],
    [
      'an egress port out of range',
      { networkPolicy: { extraEgress: [{ ports: [{ port: 70000 }] }] } },
      'spec.networkPolicy.extraEgress[0].ports[0].port',
    ],
  ];

  it.each(invalid.map((row, i) => [...row, `invalid-${i}`] as const))(
    '%s',
    async (_what, spec, message, name) => {
      const { code, message: actual } = await rejection(create(demo(name, spec)));
      expect(code).toBe(422);
      expect(actual).toContain(message);
    },
  );

  it('a name too long for the objects derived from it', async () => {
    const { code, message } = await rejection(create(demo('a'.repeat(41), {})));
    expect(code).toBe(422);
    expect(message).toContain('metadata.name must be at most 40 characters');
  });
});

describe('updates', () => {
  it('database.postgres.mode, messaging.nats.mode and messaging.nats.replicas cannot change after creation', async () => {
    await create(demo('immutable', {}));
    const current = await get('immutable');

    const postgres = structuredClone(current);
    postgres.spec.database.postgres = {
      ...postgres.spec.database.postgres,
      mode: 'external',
      secretRef: { name: 'pg' },
    };
    const pg = await rejection(
      objects.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name: 'immutable',
        body: postgres,
      }),
    );
    expect(pg.code).toBe(422);
    expect(pg.message).toContain('database.postgres.mode cannot be changed after creation');

    const nats = structuredClone(current);
    nats.spec.messaging.nats = { ...nats.spec.messaging.nats, mode: 'external', url: 'nats://nats:4222' };
    const ns = await rejection(
      objects.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name: 'immutable',
        body: nats,
      }),
    );
    expect(ns.message).toContain('messaging.nats.mode cannot be changed after creation');

    const clustered = structuredClone(current);
    clustered.spec.messaging.nats = { ...clustered.spec.messaging.nats, replicas: 3 };
    const cluster = await rejection(
      objects.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name: 'immutable',
        body: clustered,
      }),
    );
    expect(cluster.code).toBe(422);
    expect(cluster.message).toContain('messaging.nats.replicas cannot be changed after creation');

    // Every other field stays editable.
    const scaled = structuredClone(current);
    scaled.spec.services.catalog.replicas = 3;
    scaled.spec.paused = true;
    const updated = (await objects.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name: 'immutable',
      body: scaled,
    })) as DefaultedObservabilityDemo;
    expect(updated.spec.services.catalog.replicas).toBe(3);
    expect(updated.metadata?.generation).toBe(2);
  });

  it('a service switches from a replicas count to autoscaling only when the same change removes replicas', async () => {
    await create(demo('to-autoscaling', { services: { gateway: { replicas: 2 } } }));
    const current = await get('to-autoscaling');
    const replace = (body: DefaultedObservabilityDemo) =>
      objects.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name: 'to-autoscaling',
        body,
      }) as Promise<DefaultedObservabilityDemo>;

    const both = structuredClone(current);
    both.spec.services.gateway.autoscaling = { minReplicas: 2, maxReplicas: 5, targetCPUUtilization: 80 };
    const conflict = await rejection(replace(both));
    expect(conflict.code).toBe(422);
    expect(conflict.message).toContain(
      'services.gateway sets both replicas and autoscaling: remove replicas',
    );

    const { replicas: _removed, ...gateway } = both.spec.services.gateway;
    both.spec.services.gateway = gateway;
    const switched = await replace(both);
    expect(switched.spec.services.gateway.replicas).toBeUndefined();
    expect(switched.spec.services.gateway.autoscaling).toEqual({
      minReplicas: 2,
      maxReplicas: 5,
      targetCPUUtilization: 80,
    });
  });
});

describe('status', () => {
  const status: ObservabilityDemoStatus = {
    observedGeneration: 1,
    phase: 'Ready',
    servicesReady: '5/5',
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'AllComponentsReady',
        message: 'every enabled component is ready',
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
      {
        type: 'TelemetryVerified',
        status: 'False',
        reason: 'EdgesMissing',
        message: 'missing service-graph edges: catalog→invoices (messaging_system)',
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
    components: [{ name: 'catalog', kind: 'Deployment', ready: 1, desired: 1, version: '0.1.0' }],
    endpoints: { gateway: 'http://status-gateway.demo:8080' },
    inventory: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'status-catalog', namespace: 'demo' }],
  };

  it('is written through /status only, and feeds the printer columns', async () => {
    const created = await create({ ...demo('status', {}), status });
    expect(created.status).toBeUndefined();

    await objects.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'status', body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect((await get('status')).status).toEqual(status);

    const table = await kubectl('get', 'od', 'status', '-n', namespace);
    const [header, row] = table.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'PHASE', 'READY', 'SERVICES', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['status', 'Ready', 'True', '5/5']);
    const wide = await kubectl('get', 'od', 'status', '-n', namespace, '-o', 'wide');
    const [wideHeader, wideRow] = wide.trim().split('\n');
    expect(wideHeader?.split(/\s+/)).toEqual(['NAME', 'PHASE', 'READY', 'SERVICES', 'TELEMETRY', 'AGE']);
    expect(wideRow?.split(/\s+/).slice(0, 5)).toEqual(['status', 'Ready', 'True', '5/5', 'EdgesMissing']);
  });

  it('rejects a status the schema does not allow', async () => {
    const { code, message } = await rejection(
      objects.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name: 'status',
          body: { status: { phase: 'Fine', servicesReady: 'all' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(code).toBe(422);
    expect(message).toContain('Unsupported value: "Fine"');
    expect(message).toContain(
      'status.servicesReady: Invalid value: "all": servicesReady in body should match \'^[0-9]+/[0-9]+$\'',
    );
  });

  it('is listed under the all and observability categories', async () => {
    expect(await kubectl('get', 'observability', '-n', namespace, '-o', 'name')).toContain(
      'observabilitydemo.obsdemo.dev/status',
    );
  });
});
