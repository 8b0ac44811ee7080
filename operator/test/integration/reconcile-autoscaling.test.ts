// spec.services.<name>.autoscaling on the real control plane: the reconciler, acting with the operator chart's RBAC,
// renders a HorizontalPodAutoscaler, leaves the Deployment's replicas to it across resyncs, and goes back to a fixed
// count when autoscaling is removed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, kubeConfigFromEnv } from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import type { ResourceClient } from '../../src/kube/resource-client.js';
import { DemoReconciler, FIELD_MANAGER, INSTANCE_LABEL } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { setUpOperatorEnv } from './operator-env.js';

let kc: KubeConfig;
let admin: ResourceClient;
let asOperator: ResourceClient;
let ns: string;
let reconciler: DemoReconciler;

/** What the autoscaler does to its target: it writes the scale subresource under its own field manager. */
const AUTOSCALER_MANAGER = 'horizontal-pod-autoscaler-stand-in';

interface Deployment {
  metadata: {
    managedFields?: { manager?: string; operation?: string; fieldsV1?: Record<string, unknown> }[];
  };
  spec: { replicas: number };
}

interface HorizontalPodAutoscaler {
  metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  spec: Record<string, unknown>;
}

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  const env = await setUpOperatorEnv(kc);
  admin = env.admin;
  asOperator = env.asOperator;
  ns = await createTestNamespace(kc, 'autoscaling');
  reconciler = new DemoReconciler({
    client: asOperator,
    renderer: env.renderer,
    servicesValues,
    operatorLocation: { namespace: 'obsdemo-system', podLabels: {} },
  });
}, 120_000);

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

const demoRef = { apiVersion: API_VERSION, kind: KIND, name: 'shop' };

async function setServices(services: Record<string, unknown>): Promise<void> {
  // A replace, not an apply: switching a service between replicas and autoscaling must drop the other field.
  const current = await admin.get<DefaultedObservabilityDemo>({ ...demoRef, namespace: ns });
  if (!current) throw new Error('shop not found');
  current.spec.services = { ...current.spec.services, ...services } as typeof current.spec.services;
  await admin.request('PUT', `/apis/${API_VERSION}/namespaces/${ns}/observabilitydemos/shop`, {
    body: current,
  });
}

const deployment = async (name: string) => {
  const d = await admin.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name });
  if (!d) throw new Error(`Deployment ${name} not found`);
  return d;
};

const autoscalers = () =>
  admin.list<HorizontalPodAutoscaler & { metadata: { name: string } }>(
    { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: ns },
    `${INSTANCE_LABEL}=shop`,
  );

/** Whether the operator's applies own Deployment.spec.replicas. */
const operatorOwnsReplicas = (d: Deployment) =>
  (d.metadata.managedFields ?? []).some(
    (f) =>
      f.manager === FIELD_MANAGER &&
      (f.fieldsV1?.['f:spec'] as Record<string, unknown> | undefined)?.['f:replicas'] !== undefined,
  );

async function scaleAsAutoscaler(name: string, replicas: number): Promise<void> {
  await admin.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/${name}/scale`, {
    body: { spec: { replicas } },
    contentType: 'application/merge-patch+json',
    query: { fieldManager: AUTOSCALER_MANAGER },
  });
}

describe('autoscaling', () => {
  it('renders a HorizontalPodAutoscaler owned by the demo and a Deployment without replicas', async () => {
    const shop = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: 'shop', namespace: ns },
      spec: {
        services: {
          catalog: { autoscaling: { minReplicas: 2, maxReplicas: 5, targetCPUUtilization: 60 } },
          gateway: { replicas: 2 },
        },
      },
    };
    await admin.apply(shop, 'obsdemo-test');
    await reconciler.reconcile(ns, 'shop');

    const hpas = await autoscalers();
    expect(hpas.map((h) => h.metadata.name)).toEqual(['shop-catalog']);
    expect(hpas[0]?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: KIND, name: 'shop', controller: true }),
    ]);
    expect(hpas[0]?.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-catalog' },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
        },
      ],
    });
    expect(operatorOwnsReplicas(await deployment('shop-catalog'))).toBe(false);
    // A service without autoscaling keeps its fixed count, owned by the operator.
    const gateway = await deployment('shop-gateway');
    expect(gateway.spec.replicas).toBe(2);
    expect(operatorOwnsReplicas(gateway)).toBe(true);
  });

  it("keeps the count the autoscaler set through resyncs, while still restoring a fixed service's count", async () => {
    await scaleAsAutoscaler('shop-catalog', 4);
    await scaleAsAutoscaler('shop-gateway', 3);
    const first = await reconciler.reconcile(ns, 'shop');
    // Only the gateway drifted from what the operator renders.
    expect(first.applied).toBe(1);
    expect((await deployment('shop-gateway')).spec.replicas).toBe(2);
    expect((await deployment('shop-catalog')).spec.replicas).toBe(4);

    // Status may still change while kwok starts pods, so count object applies, not every write.
    // A requeue may come with it while kwok's pods are not all ready yet; what matters is that nothing is applied.
    const second = await reconciler.reconcile(ns, 'shop');
    expect(second).toMatchObject({ applied: 0, pruned: 0 });
    expect(operatorOwnsReplicas(await deployment('shop-catalog'))).toBe(false);
    expect((await deployment('shop-catalog')).spec.replicas).toBe(4);
  });

  it('rolls out a new autoscaling range to the HorizontalPodAutoscaler', async () => {
    await setServices({
      catalog: {
        ...(await currentService('catalog')),
        autoscaling: { minReplicas: 3, maxReplicas: 8, targetCPUUtilization: 50 },
      },
    });
    await reconciler.reconcile(ns, 'shop');
    const [hpa] = await autoscalers();
    expect(hpa?.spec).toMatchObject({ minReplicas: 3, maxReplicas: 8 });
    expect((hpa?.spec['metrics'] as { resource: { target: unknown } }[])[0]?.resource.target).toEqual({
      type: 'Utilization',
      averageUtilization: 50,
    });
  });

  it('keeps the pods of a running service that moves from a fixed count to autoscaling', async () => {
    const deploymentsBefore = await deployment('shop-gateway');
    expect(deploymentsBefore.spec.replicas).toBe(2);
    const { replicas: _fixed, ...gateway } = await currentService('gateway');
    await setServices({ gateway: { ...gateway, autoscaling: { minReplicas: 1, maxReplicas: 4 } } });
    await reconciler.reconcile(ns, 'shop');
    expect((await autoscalers()).map((h) => h.metadata.name).sort()).toEqual([
      'shop-catalog',
      'shop-gateway',
    ]);
    // Not reset to 1 when the operator stopped rendering replicas: the count was handed over first.
    const d = await deployment('shop-gateway');
    expect(d.spec.replicas).toBe(2);
    expect(operatorOwnsReplicas(d)).toBe(false);
    // And from then on it is the autoscaler's.
    await scaleAsAutoscaler('shop-gateway', 3);
    expect(await reconciler.reconcile(ns, 'shop')).toMatchObject({ applied: 0, pruned: 0 });
    expect((await deployment('shop-gateway')).spec.replicas).toBe(3);
  });

  it('removes the autoscaler and runs the fixed count again when autoscaling gives way to replicas', async () => {
    const { autoscaling: _dropped, ...catalog } = await currentService('catalog');
    await setServices({ catalog: { ...catalog, replicas: 2 } });
    const result = await reconciler.reconcile(ns, 'shop');
    expect(result.pruned).toBe(1);
    expect((await autoscalers()).map((h) => h.metadata.name)).toEqual(['shop-gateway']);
    const d = await deployment('shop-catalog');
    expect(d.spec.replicas).toBe(2);
    expect(operatorOwnsReplicas(d)).toBe(true);
  });
});

async function currentService(name: string): Promise<Record<string, unknown>> {
  const current = await admin.get<DefaultedObservabilityDemo>({ ...demoRef, namespace: ns });
  return (current?.spec.services as unknown as Record<string, Record<string, unknown>>)[name] ?? {};
}
