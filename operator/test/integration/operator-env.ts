// Shared setup of the reconciler's integration tests: the CRD from crds/ and the operator's own RBAC, exactly as its
// chart renders it, on the integration control plane; the reconciler acts as the operator's ServiceAccount.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { defaultBinDir, eventually, impersonate } from '@obsdemo/testenv';
import { ResourceClient, type Unstructured } from '../../src/kube/resource-client.js';
import { HelmRenderer } from '../../src/render/helm-template.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const OPERATOR_NS = 'obsdemo-system';

export interface OperatorEnv {
  admin: ResourceClient;
  /** Impersonates the operator chart's ServiceAccount. */
  asOperator: ResourceClient;
  /** The real helm over the repository's charts. */
  renderer: HelmRenderer;
}

export async function setUpOperatorEnv(kc: KubeConfig): Promise<OperatorEnv> {
  const admin = await ResourceClient.fromKubeConfig(kc);
  const crd = load(
    readFileSync(join(root, 'crds', 'obsdemo.dev_observabilitydemos.yaml'), 'utf8'),
  ) as Unstructured;
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

  await admin
    .request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NS } },
    })
    .catch(() => undefined);
  const renderer = new HelmRenderer({
    helmBinary: join(defaultBinDir(), 'helm'),
    chartsDir: join(root, 'charts'),
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
  const asOperator = await ResourceClient.fromKubeConfig(
    impersonate(kc, `system:serviceaccount:${OPERATOR_NS}:${sa.metadata.name}`),
  );
  return { admin, asOperator, renderer };
}
