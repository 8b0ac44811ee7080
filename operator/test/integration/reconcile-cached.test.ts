// The reconciler as the manager runs it: readiness between full comparisons from real workload informers (the
// manager's trimmed cache), on the real control plane with the operator's RBAC and the real helm. What is compared
// with the API server, and when, is read from the client's request counters.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import type { ResourceClient, Unstructured } from '../../src/kube/resource-client.js';
import { DemoReconciler, INSTANCE_LABEL } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { workloadSummary } from '../../src/reconcile/watches.js';
import { Informer } from '../../src/runtime/informer.js';
import { KubeHttpClient, collectionPath, type KubeObject } from '../../src/runtime/kube-http-client.js';
import { setUpOperatorEnv } from './operator-env.js';

const INTERVAL_MS = 60_000;
let kc: KubeConfig;
let admin: ResourceClient;
let asOperator: ResourceClient;
let ns: string;
let reconciler: DemoReconciler;
let informers: Informer<KubeObject>[];
/** The reconciler's clock: moved forward to pass the full-comparison interval without waiting for it. */
let clock = Date.now();

const shop = (spec: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: KIND,
  metadata: { name: 'shop', namespace: ns },
  spec,
});
const gets = () => asOperator.requests.get('GET') ?? 0;
const cacheKey = (name: string) => `${ns}/${name}`;
const deploymentRef = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name });

async function readDemo(): Promise<DefaultedObservabilityDemo> {
  const demo = await admin.get<DefaultedObservabilityDemo>({
    apiVersion: API_VERSION,
    kind: KIND,
    namespace: ns,
    name: 'shop',
  });
  if (!demo) throw new Error('shop not found');
  return demo;
}

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  const env = await setUpOperatorEnv(kc);
  admin = env.admin;
  asOperator = env.asOperator;
  ns = await createTestNamespace(kc, 'reconcile-cached');
  const http = new KubeHttpClient(kc);
  informers = ['deployments', 'statefulsets'].map(
    (plural) =>
      new Informer(http, {
        path: collectionPath('apps/v1', plural, ns),
        labelSelector: INSTANCE_LABEL,
        transform: workloadSummary,
      }),
  );
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((i) => i.waitForSync()));
  reconciler = new DemoReconciler({
    client: asOperator,
    renderer: env.renderer,
    servicesValues,
    now: () => new Date(clock),
    cachedWorkload: (ref) =>
      informers[ref.kind === 'StatefulSet' ? 1 : 0]?.store.get(`${ref.namespace}/${ref.name}`) as
        Unstructured | undefined,
    fullCompareIntervalMs: INTERVAL_MS,
  });
}, 120_000);

afterAll(async () => {
  await Promise.all((informers ?? []).map((i) => i.stop()));
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('DemoReconciler with the workload cache', () => {
  it('reaches Ready, with readiness read from the cache between full comparisons', async () => {
    await admin.apply(shop({}), 'obsdemo-test');
    const first = await reconciler.reconcile(ns, 'shop');
    expect(first.applied).toBeGreaterThan(30);
    const demo = await eventually(
      'shop to become Ready',
      async () => {
        await reconciler.reconcile(ns, 'shop');
        const d = await readDemo();
        return d.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? d : undefined;
      },
      90_000,
    );
    expect(demo.status?.servicesReady).toBe('5/5');
  });

  it('reads only the demo itself when nothing changed since the last full comparison', async () => {
    const before = gets();
    const writes = asOperator.writes;
    expect(await reconciler.reconcile(ns, 'shop')).toEqual({ applied: 0, pruned: 0 });
    expect(gets() - before).toBe(1);
    expect(asOperator.writes).toBe(writes);
  });

  it('restores a deleted Deployment at once, without waiting for the interval', async () => {
    await admin.delete(deploymentRef('shop-gateway'));
    await eventually('the cache to lose the Deployment', async () =>
      informers[0]?.store.get(cacheKey('shop-gateway')) === undefined ? true : undefined,
    );
    const result = await reconciler.reconcile(ns, 'shop');
    expect(result.applied).toBe(1);
    expect(await admin.get(deploymentRef('shop-gateway'))).toBeDefined();
  });

  it('compares at once when a workload was edited (its generation moved)', async () => {
    const before = informers[0]?.store.get(cacheKey('shop-catalog'))?.metadata?.generation ?? 0;
    await admin.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/shop-catalog/scale`, {
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    await eventually('the cache to see the new generation', async () =>
      (informers[0]?.store.get(cacheKey('shop-catalog'))?.metadata?.generation ?? 0) > before
        ? true
        : undefined,
    );
    const result = await reconciler.reconcile(ns, 'shop');
    expect(result.applied).toBe(1);
    const catalog = await admin.get<{ spec: { replicas: number } }>(deploymentRef('shop-catalog'));
    expect(catalog?.spec.replicas).toBe(1);
  });

  it('repairs an object no informer watches at the next full comparison, once the interval has passed', async () => {
    // Settle: a comparison that leaves everything as the cache will see it.
    await eventually('a reconcile that reads from the cache', async () => {
      const before = gets();
      await reconciler.reconcile(ns, 'shop');
      return gets() - before === 1 ? true : undefined;
    });
    await admin.delete({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'shop-catalog' });
    // Within the interval the Service is not looked at: nothing watches Services.
    expect((await reconciler.reconcile(ns, 'shop')).applied).toBe(0);
    clock += INTERVAL_MS;
    expect((await reconciler.reconcile(ns, 'shop')).applied).toBe(1);
    expect(
      await admin.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'shop-catalog' }),
    ).toBeDefined();
  });

  it('restores a rendered label removed from a workload, which moves no generation', async () => {
    await admin.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/shop-processor`, {
      body: { metadata: { labels: { 'obsdemo.dev/component': null } } },
      contentType: 'application/merge-patch+json',
    });
    await eventually('the cache to see the label gone', async () =>
      informers[0]?.store.get(cacheKey('shop-processor'))?.metadata?.labels?.['obsdemo.dev/component'] ===
      undefined
        ? true
        : undefined,
    );
    expect((await reconciler.reconcile(ns, 'shop')).applied).toBe(1);
    const processor = await admin.get<Unstructured>(deploymentRef('shop-processor'));
    expect(processor?.metadata.labels?.['obsdemo.dev/component']).toBe('services');
  });

  it('compares in full when a resync asks for it, and when the status does not list the render', async () => {
    const quiet = async () => {
      const before = gets();
      await reconciler.reconcile(ns, 'shop');
      return gets() - before;
    };
    await eventually('a reconcile that reads from the cache', async () =>
      (await quiet()) === 1 ? true : undefined,
    );
    reconciler.requestFullComparison(ns, 'shop');
    clock += 1;
    expect(await quiet()).toBeGreaterThan(30);
    expect(await quiet()).toBe(1);
    // As after a status write that failed, or another replica's term: the inventory is not this render's.
    const inventory = (await readDemo()).status?.inventory ?? [];
    await admin.request('PATCH', `/apis/${API_VERSION}/namespaces/${ns}/observabilitydemos/shop/status`, {
      body: { status: { inventory: inventory.slice(1) } },
      contentType: 'application/merge-patch+json',
    });
    const writes = asOperator.writes;
    expect(await quiet()).toBeGreaterThan(30);
    expect((await readDemo()).status?.inventory).toEqual(inventory);
    expect(asOperator.writes - writes).toBe(1); // the status only
    expect(await quiet()).toBe(1);
  });

  it('compares in full when the spec changes', async () => {
    await admin.apply(shop({ services: { catalog: { replicas: 2 } } }), 'obsdemo-test');
    const result = await reconciler.reconcile(ns, 'shop');
    expect(result.applied).toBeGreaterThanOrEqual(1);
    const catalog = await admin.get<{ spec: { replicas: number } }>(deploymentRef('shop-catalog'));
    expect(catalog?.spec.replicas).toBe(2);
  });
});
