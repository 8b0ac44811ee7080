// The reconciler on the real control plane, acting with the RBAC of the operator's chart (impersonating its
// ServiceAccount, not as admin), rendering the real charts with the real helm.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dump } from 'js-yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import type { ResourceClient, Unstructured } from '../../src/kube/resource-client.js';
import type { HelmRenderer } from '../../src/render/helm-template.js';
import { DemoReconciler, INSTANCE_LABEL } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { setUpOperatorEnv } from './operator-env.js';

let kc: KubeConfig;
let admin: ResourceClient;
let asOperator: ResourceClient;
let ns: string;
let reconciler: DemoReconciler;
let renderer: HelmRenderer;
const events: string[] = [];
const root = fileURLToPath(new URL('../../..', import.meta.url));
const OPERATOR_LABELS = { 'app.kubernetes.io/name': 'obsdemo-operator', 'app.kubernetes.io/instance': 'ops' };

interface NetworkPolicy extends Unstructured {
  spec: { policyTypes: string[]; ingress?: { from?: Record<string, unknown>[] }[] };
}
const networkPolicies = () =>
  admin.list<NetworkPolicy>(
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: ns },
    `${INSTANCE_LABEL}=shop`,
  );

const demoRef = (name: string) => ({ apiVersion: API_VERSION, kind: KIND, namespace: ns, name });

async function readDemo(name: string): Promise<DefaultedObservabilityDemo> {
  const demo = await admin.get<DefaultedObservabilityDemo>(demoRef(name));
  if (!demo) throw new Error(`${name} not found`);
  return demo;
}

/** Reconciles until `done` holds, as the controller's requeues would; kwok makes pods Ready meanwhile. */
async function reconcileUntil(name: string, what: string, done: (d: DefaultedObservabilityDemo) => boolean) {
  return eventually(
    what,
    async () => {
      await reconciler.reconcile(ns, name);
      const demo = await readDemo(name);
      return done(demo) ? demo : undefined;
    },
    90_000,
  );
}

const isReady = (d: DefaultedObservabilityDemo) =>
  d.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true &&
  d.status?.observedGeneration === d.metadata?.generation;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  const env = await setUpOperatorEnv(kc);
  admin = env.admin;
  asOperator = env.asOperator;
  renderer = env.renderer;

  ns = await createTestNamespace(kc, 'reconcile');
  reconciler = new DemoReconciler({
    client: asOperator,
    renderer,
    servicesValues,
    operatorLocation: { namespace: 'obsdemo-system', podLabels: OPERATOR_LABELS },
    recordEvent: (_d, type, reason) => events.push(`${type}/${reason}`),
  });
}, 120_000);

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

const sample = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: KIND,
  metadata: { name, namespace: ns },
  spec,
});

describe('DemoReconciler', () => {
  it('applies every component and reports Ready once kwok marks the pods ready', async () => {
    await admin.apply(sample('shop'), 'obsdemo-test');
    const demo = await reconcileUntil('shop', 'shop to become Ready', isReady);
    expect(demo.status?.phase).toBe('Ready');
    expect(demo.status?.servicesReady).toBe('5/5');
    const names = demo.status?.components?.map((c) => c.name).sort();
    expect(names).toEqual(expect.arrayContaining(['catalog', 'gateway', 'invoices', 'loadgen', 'processor']));
    expect(demo.status?.endpoints?.gateway).toBe(`http://shop-gateway.${ns}:8080`);
    const deployments = await admin.list<Unstructured>(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns },
      `${INSTANCE_LABEL}=shop`,
    );
    for (const d of deployments) {
      expect(d.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: KIND, name: 'shop', controller: true }),
      ]);
    }
    const statefulSets = await admin.list<Unstructured>(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: ns },
      `${INSTANCE_LABEL}=shop`,
    );
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual([
      'shop-loki',
      'shop-nats',
      'shop-postgres',
      'shop-prometheus',
      'shop-tempo',
    ]);
    expect(events).toContain('Normal/Ready');
  });

  it('puts every component behind a default-deny NetworkPolicy and lets the operator query Prometheus', async () => {
    const policies = await networkPolicies();
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(
      [
        'catalog',
        'gateway',
        'grafana',
        'invoices',
        'loadgen',
        'loki',
        'nats',
        'otel-collector',
        'postgres',
        'processor',
        'prometheus',
        'tempo',
      ].map((c) => `shop-${c}`),
    );
    for (const p of policies) expect(p.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    const prometheus = policies.find((p) => p.metadata.name === 'shop-prometheus');
    expect(prometheus?.spec.ingress?.flatMap((rule) => rule.from ?? [])).toContainEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'obsdemo-system' } },
      podSelector: { matchLabels: OPERATOR_LABELS },
    });
  });

  it("allows exactly the documented flows between the demo's pods, plus the operator's query to Prometheus", async () => {
    // The applied workloads and policies, evaluated by the same checker that proves the umbrella chart's table
    // (docs/security.md), with the operator's pod as one more endpoint.
    // Items of a list carry no apiVersion and kind; the checker needs them.
    const list = async (apiVersion: string, kind: string) =>
      (await admin.list<Unstructured>({ apiVersion, kind, namespace: ns }, `${INSTANCE_LABEL}=shop`)).map(
        (o) => ({ ...o, apiVersion, kind }),
      );
    const objects = [
      ...(await list('apps/v1', 'Deployment')),
      ...(await list('apps/v1', 'StatefulSet')),
      ...(await list('networking.k8s.io/v1', 'NetworkPolicy')),
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'obsdemo-np-')), 'demo.yaml');
    writeFileSync(file, objects.map((o) => dump(o)).join('---\n'));
    const labels = Object.entries(OPERATOR_LABELS)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const { stdout } = await promisify(execFile)('python3', [
      join(root, 'charts/observability-demo/tests/check_networkpolicies.py'),
      file,
      '--namespace',
      ns,
      '--no-test-pods',
      '--operator',
      `obsdemo-system:${labels}`,
    ]);
    expect(stdout).toMatch(/^12 NetworkPolicies allow exactly the \d+ documented flows/);
  });

  it('writes nothing when nothing changed', async () => {
    const before = asOperator.writes;
    const result = await reconciler.reconcile(ns, 'shop');
    expect(result).toEqual({ applied: 0, pruned: 0 });
    expect(asOperator.writes).toBe(before);
  });

  it('never regenerates the credentials it created', async () => {
    const secret = () =>
      admin.get<{ data: Record<string, string> }>({
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: ns,
        name: 'shop-postgres-auth',
      });
    const first = (await secret())?.data;
    expect(Object.keys(first ?? {}).sort()).toEqual([
      'catalog-password',
      'invoices-password',
      'postgres-password',
      'processor-password',
    ]);
    await reconciler.reconcile(ns, 'shop');
    expect((await secret())?.data).toEqual(first);
    // A restarted operator knows nothing: its create is answered 409 (it may not read Secrets) and it keeps them.
    const restarted = new DemoReconciler({
      client: asOperator,
      renderer,
      servicesValues,
      operatorLocation: { namespace: 'obsdemo-system', podLabels: OPERATOR_LABELS },
    });
    const posts = asOperator.requests.get('POST') ?? 0;
    await restarted.reconcile(ns, 'shop');
    expect((asOperator.requests.get('POST') ?? 0) - posts).toBe(2);
    expect((await secret())?.data).toEqual(first);
  });

  it('restores drift: a scaled Deployment and a deleted Service come back', async () => {
    await admin.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/shop-catalog/scale`, {
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    await admin.delete({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'shop-gateway' });
    const result = await reconciler.reconcile(ns, 'shop');
    expect(result.applied).toBe(2);
    const catalog = await admin.get<{ spec: { replicas: number } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'shop-catalog',
    });
    expect(catalog?.spec.replicas).toBe(1);
    expect(
      await admin.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'shop-gateway' }),
    ).toBeDefined();
  });

  it('rolls out a spec change and prunes a disabled component and the NetworkPolicies switched off', async () => {
    await admin.apply(
      sample('shop', {
        services: { catalog: { replicas: 2 } },
        observability: { grafana: { enabled: false } },
        networkPolicy: { enabled: false },
      }),
      'obsdemo-test',
    );
    const demo = await reconcileUntil(
      'shop',
      'the change to be rolled out',
      (d) => isReady(d) && d.metadata?.generation === d.status?.observedGeneration,
    );
    expect(demo.status?.components?.find((c) => c.name === 'catalog')).toMatchObject({
      ready: 2,
      desired: 2,
    });
    expect(
      await admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'shop-grafana' }),
    ).toBeUndefined();
    expect(demo.status?.inventory?.some((r) => r.name.startsWith('shop-grafana'))).toBe(false);
    expect(await networkPolicies()).toEqual([]);
    expect(events).toContain('Normal/Pruned');
  });

  it('writes nothing but status while paused', async () => {
    await admin.apply(
      sample('shop', { paused: true, services: { catalog: { replicas: 3 } } }),
      'obsdemo-test',
    );
    await reconciler.reconcile(ns, 'shop');
    const demo = await readDemo('shop');
    expect(demo.status?.phase).toBe('Paused');
    const catalog = await admin.get<{ spec: { replicas: number } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'shop-catalog',
    });
    expect(catalog?.spec.replicas).toBe(2);
  });

  it('leaves removal to the garbage collector when the demo is deleted', async () => {
    await admin.delete(demoRef('shop'));
    await eventually(
      'owned Deployments to be garbage-collected',
      async () => {
        const left = await admin.list(
          { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns },
          `${INSTANCE_LABEL}=shop`,
        );
        return left.length === 0 ? true : undefined;
      },
      60_000,
    );
  });
});
