// The reconciler on the real control plane, acting with the RBAC of the operator's chart (impersonating its
// ServiceAccount, not as admin), rendering the real charts with the real helm.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import {
  createTestNamespace,
  defaultBinDir,
  deleteTestNamespace,
  eventually,
  impersonate,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import { KubeClient } from '../../src/kube/client.js';
import { HelmRenderer, type KubeObject } from '../../src/render/helm-template.js';
import { DemoReconciler, INSTANCE_LABEL } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chartsDir = join(root, 'charts');
const OPERATOR_NS = 'obsdemo-system';

let kc: KubeConfig;
let admin: KubeClient;
let asOperator: KubeClient;
let ns: string;
let reconciler: DemoReconciler;
const events: string[] = [];

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
  admin = await KubeClient.fromKubeConfig(kc);
  const crd = load(
    readFileSync(join(root, 'crds', 'obsdemo.dev_observabilitydemos.yaml'), 'utf8'),
  ) as KubeObject;
  await admin.apply(crd, 'obsdemo-test');
  await eventually('the CRD to be Established', async () => {
    const live = await admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'observabilitydemos.obsdemo.dev',
    });
    return live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : undefined;
  });

  // The operator's own RBAC, exactly as its chart renders it.
  await admin
    .request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NS } },
    })
    .catch(() => undefined);
  const renderer = new HelmRenderer({
    helmBinary: join(defaultBinDir(), 'helm'),
    chartsDir,
    kubeVersion: 'v1.36.3',
  });
  const operatorChart = await renderer.render({
    chart: 'obsdemo-operator',
    release: 'obsdemo',
    namespace: OPERATOR_NS,
    values: {},
  });
  const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  for (const obj of operatorChart.filter((o) => rbacKinds.has(o.kind)))
    await admin.apply(obj, 'obsdemo-test');
  const sa = operatorChart.find((o) => o.kind === 'ServiceAccount');
  if (!sa) throw new Error('the operator chart renders no ServiceAccount');
  asOperator = await KubeClient.fromKubeConfig(
    impersonate(kc, `system:serviceaccount:${OPERATOR_NS}:${sa.metadata.name}`),
  );

  ns = await createTestNamespace(kc, 'reconcile');
  reconciler = new DemoReconciler({
    client: asOperator,
    renderer,
    servicesValues,
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
    const deployments = await admin.list<KubeObject>(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns },
      `${INSTANCE_LABEL}=shop`,
    );
    for (const d of deployments) {
      expect(d.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: KIND, name: 'shop', controller: true }),
      ]);
    }
    const statefulSets = await admin.list<KubeObject>(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: ns },
      `${INSTANCE_LABEL}=shop`,
    );
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual([
      'shop-nats',
      'shop-postgres',
      'shop-prometheus',
      'shop-tempo',
    ]);
    expect(events).toContain('Normal/Ready');
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

  it('rolls out a spec change and prunes a disabled component', async () => {
    await admin.apply(
      sample('shop', {
        services: { catalog: { replicas: 2 } },
        observability: { grafana: { enabled: false } },
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
