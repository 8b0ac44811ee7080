// Fields the charts stop rendering, against the real control plane: the reconciler applies with one field manager,
// so the API server's field ownership tells what it rendered before. A chart change is a renderer that adds fields
// to what the real charts render and then stops adding them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import type { ResourceClient, Unstructured } from '../../src/kube/resource-client.js';
import type { HelmRenderer, RenderRequest, RenderSetRequest } from '../../src/render/helm-template.js';
import { DemoReconciler } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { setUpOperatorEnv } from './operator-env.js';

let kc: KubeConfig;
let admin: ResourceClient;
let asOperator: ResourceClient;
let ns: string;
let reconciler: DemoReconciler;

const DEMO = 'drift';
const CONFIG_MAP = `${DEMO}-nats-config`;
const DEPLOYMENT = `${DEMO}-catalog`;
const EXTRA = 'obsdemo.dev/chart-extra';
/** What the "old chart" renders on top of the real one; the "new chart" renders none of it. */
let oldChart = true;

interface Live extends Unstructured {
  data?: Record<string, string>;
  spec?: { replicas?: number };
}

function withOldChartFields(objects: Unstructured[]): Unstructured[] {
  return objects.map((o) => {
    const copy = structuredClone(o) as Live;
    if (copy.kind === 'ConfigMap' && copy.metadata.name === CONFIG_MAP) {
      copy.data = { ...copy.data, 'extra.conf': 'rendered by the old chart' };
      copy.metadata.labels = { ...copy.metadata.labels, [EXTRA]: 'yes' };
      copy.metadata.annotations = { ...copy.metadata.annotations, [EXTRA]: 'yes' };
    }
    if (copy.kind === 'Deployment' && copy.metadata.name === DEPLOYMENT) {
      copy.metadata.annotations = { ...copy.metadata.annotations, [EXTRA]: 'yes' };
    }
    return copy;
  });
}

/** The new chart also leaves replicas to an autoscaler, as a chart with autoscaling on does. */
function withoutReplicas(objects: Unstructured[]): Unstructured[] {
  return objects.map((o) => {
    if (o.kind !== 'Deployment' || o.metadata.name !== DEPLOYMENT) return o;
    const copy = structuredClone(o) as Live;
    delete copy.spec?.replicas;
    return copy;
  });
}

const get = <T>(kind: string, name: string) =>
  admin.get<T>({ apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1', kind, namespace: ns, name });

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  const env = await setUpOperatorEnv(kc);
  admin = env.admin;
  asOperator = env.asOperator;
  const real = env.renderer;
  const change = (objects: Unstructured[]) =>
    oldChart ? withOldChartFields(objects) : withoutReplicas(objects);
  const renderer = {
    render: async (req: RenderRequest) => change(await real.render(req)),
    renderSet: async (req: RenderSetRequest) => (await real.renderSet(req)).map(change),
  } as HelmRenderer;
  ns = await createTestNamespace(kc, 'drift');
  reconciler = new DemoReconciler({ client: asOperator, renderer, servicesValues });
  await admin.apply(newDemo(DEMO), 'obsdemo-test');
}, 120_000);

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('DemoReconciler and fields the charts stop rendering', () => {
  it('applies what the old chart renders', async () => {
    await reconciler.reconcile(ns, DEMO);
    const cm = await get<Live>('ConfigMap', CONFIG_MAP);
    expect(cm?.data?.['extra.conf']).toBe('rendered by the old chart');
    expect(cm?.metadata.labels?.[EXTRA]).toBe('yes');
    expect(cm?.metadata.annotations?.[EXTRA]).toBe('yes');
    expect((await get<Live>('Deployment', DEPLOYMENT))?.metadata.annotations?.[EXTRA]).toBe('yes');
  });

  it('removes a ConfigMap key, label and annotation the new chart no longer renders, and leaves fields other managers own', async () => {
    // A user labels the ConfigMap with kubectl; an autoscaler scales the Deployment through /scale.
    await admin.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/${CONFIG_MAP}`, {
      body: { metadata: { labels: { team: 'observability' } } },
      contentType: 'application/merge-patch+json',
      query: { fieldManager: 'kubectl-label' },
    });
    await admin.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/${DEPLOYMENT}/scale`, {
      body: { spec: { replicas: 3 } },
      contentType: 'application/merge-patch+json',
      query: { fieldManager: 'horizontal-pod-autoscaler' },
    });
    oldChart = false;
    const result = await reconciler.reconcile(ns, DEMO);
    expect(result.applied).toBe(2);

    const cm = await get<Live>('ConfigMap', CONFIG_MAP);
    expect(cm?.data).toBeDefined();
    expect(cm?.data?.['extra.conf']).toBeUndefined();
    expect(cm?.metadata.labels?.[EXTRA]).toBeUndefined();
    expect(cm?.metadata.annotations?.[EXTRA]).toBeUndefined();
    expect(cm?.metadata.labels?.['team']).toBe('observability');
    const deployment = await get<Live>('Deployment', DEPLOYMENT);
    expect(deployment?.metadata.annotations?.[EXTRA]).toBeUndefined();
    expect(deployment?.spec?.replicas).toBe(3);
  });

  it('writes nothing on the next resync, with the user label and the scaled replicas still there', async () => {
    // Once the demo is Ready (kwok runs the three replicas) its status stops changing too.
    await eventually(
      'the demo to be Ready',
      async () => {
        await reconciler.reconcile(ns, DEMO);
        const demo = await admin.get<DefaultedObservabilityDemo>({
          apiVersion: API_VERSION,
          kind: KIND,
          namespace: ns,
          name: DEMO,
        });
        return demo?.status?.phase === 'Ready' ? true : undefined;
      },
      90_000,
    );
    const before = asOperator.writes;
    const result = await reconciler.reconcile(ns, DEMO);
    expect(result).toMatchObject({ applied: 0, pruned: 0 });
    expect(asOperator.writes).toBe(before);
    expect((await get<Live>('ConfigMap', CONFIG_MAP))?.metadata.labels?.['team']).toBe('observability');
    expect((await get<Live>('Deployment', DEPLOYMENT))?.spec?.replicas).toBe(3);
  });
});

/** A demo with the default spec (a plain object, as the API takes it). */
function newDemo(name: string) {
  const demo = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: ns }, spec: {} };
  return demo;
}
