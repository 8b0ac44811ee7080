// spec.messaging.nats.replicas: 3 through the reconciler on the real control plane, with the operator chart's RBAC
// and the real helm: three NATS pods that route to each other, a PodDisruptionBudget, the route port open only
// between them, and catalog and invoices told to keep the ORDERS stream on all three. That such a cluster carries
// orders through a server's crash is services/invoices/test/integration/nats-cluster.test.ts (real nats-server
// processes); here kwok stands in for the pods.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import type { ResourceClient, Unstructured } from '../../src/kube/resource-client.js';
import { DemoReconciler } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { setUpOperatorEnv } from './operator-env.js';

let kc: KubeConfig;
let admin: ResourceClient;
let ns: string;
let reconciler: DemoReconciler;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  const env = await setUpOperatorEnv(kc);
  admin = env.admin;
  ns = await createTestNamespace(kc, 'nats-cluster');
  reconciler = new DemoReconciler({
    client: env.asOperator,
    renderer: env.renderer,
    servicesValues,
    operatorLocation: { namespace: 'obsdemo-system', podLabels: {} },
    recordEvent: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

const get = async <T extends Unstructured>(apiVersion: string, kind: string, name: string): Promise<T> => {
  const object = await admin.get<T>({ apiVersion, kind, namespace: ns, name });
  if (!object) throw new Error(`${kind} ${name} was not applied`);
  return object;
};

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number }[];
}
interface PodTemplate {
  spec: { containers: Container[]; affinity?: Record<string, unknown> };
}
interface Workload extends Unstructured {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
}
interface NetworkPolicy extends Unstructured {
  spec: {
    ingress?: { ports?: { port: string | number }[]; from?: Record<string, unknown>[] }[];
    egress?: { ports?: { port: string | number }[]; to?: Record<string, unknown>[] }[];
  };
}

describe('a demo with messaging.nats.replicas: 3', () => {
  it('runs three NATS servers as one JetStream cluster and keeps the ORDERS stream on all of them', async () => {
    const trio = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: 'trio', namespace: ns },
      spec: { messaging: { nats: { replicas: 3 } } },
    };
    await admin.apply(trio, 'obsdemo-test');
    const demo = await eventually(
      'trio Ready with three NATS pods',
      async () => {
        await reconciler.reconcile(ns, 'trio');
        const d = await admin.get<DefaultedObservabilityDemo>({
          apiVersion: API_VERSION,
          kind: KIND,
          namespace: ns,
          name: 'trio',
        });
        const ready = d?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return ready && d?.status?.observedGeneration === d?.metadata?.generation ? d : undefined;
      },
      120_000,
    );
    expect(demo.status?.components?.find((c) => c.name === 'nats')).toMatchObject({ ready: 3 });

    const nats = await get<Workload>('apps/v1', 'StatefulSet', 'trio-nats');
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.template.spec.containers[0]?.ports).toContainEqual(
      expect.objectContaining({ name: 'cluster', containerPort: 6222 }),
    );
    expect(nats.spec.template.spec.affinity).toHaveProperty('podAntiAffinity');

    const config = await get<Unstructured & { data: Record<string, string> }>(
      'v1',
      'ConfigMap',
      'trio-nats-config',
    );
    for (const i of [0, 1, 2])
      expect(config.data['nats.conf']).toContain(`nats://trio-nats-${i}.trio-nats-headless:6222`);

    const pdb = await get<Unstructured & { spec: { maxUnavailable: number } }>(
      'policy/v1',
      'PodDisruptionBudget',
      'trio-nats',
    );
    expect(pdb.spec.maxUnavailable).toBe(1);

    const policy = await get<NetworkPolicy>('networking.k8s.io/v1', 'NetworkPolicy', 'trio-nats');
    // Only the NATS pods, on the route port, both ways.
    const natsPods = { podSelector: { matchLabels: nats.spec.selector.matchLabels } };
    expect(policy.spec.ingress).toContainEqual({
      ports: [{ port: 'cluster', protocol: 'TCP' }],
      from: [natsPods],
    });
    expect(policy.spec.egress).toContainEqual({ ports: [{ port: 6222, protocol: 'TCP' }], to: [natsPods] });

    for (const service of ['catalog', 'invoices']) {
      const deployment = await get<Workload>('apps/v1', 'Deployment', `trio-${service}`);
      expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({
        name: 'NATS_STREAM_REPLICAS',
        value: '3',
      });
    }
  });
});
