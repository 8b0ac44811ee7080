import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import {
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  impersonate,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';

// Real Kubernetes semantics that the operator and the charts rely on, proven on this run's control plane.

const restrictedContainer = {
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 10001,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

function messageOf(error: unknown): string {
  if (!(error instanceof ApiException)) throw error;
  const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
  return (body as { message?: string }).message ?? '';
}

let kc: KubeConfig;
let ns: string;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  ns = await createTestNamespace(kc, 'control-plane');
});

afterAll(async () => {
  await deleteTestNamespace(kc, ns);
});

describe('local control plane', () => {
  it('runs a Deployment to Available with pods Running and Ready on a kwok node', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1', ...restrictedContainer }] },
          },
        },
      },
    });
    const available = await eventually('Deployment web to become Available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      const cond = d.status?.conditions?.find((c) => c.type === 'Available');
      return cond?.status === 'True' && d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(available.status?.availableReplicas).toBe(2);

    const pods = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('garbage-collects owned objects when their owner is deleted', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns });
    await eventually('the owned ConfigMap to be garbage-collected', async () => {
      try {
        await core.readNamespacedConfigMap({ name: 'owned', namespace: ns });
        return undefined;
      } catch (error) {
        return statusOf(error) === 404 ? true : undefined;
      }
    });
  });

  it('enforces PodSecurity restricted: a privileged pod is rejected with the violations named', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const attempt = core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'privileged' },
        spec: {
          containers: [{ name: 'c', image: 'registry.invalid/c:1', securityContext: { privileged: true } }],
        },
      },
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(error)).toBe(403);
    expect(messageOf(error)).toContain('violates PodSecurity "restricted:latest"');
    expect(messageOf(error)).toContain('privileged');

    // The same pod made compliant is admitted, so the rejection above is the policy and not something else.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'compliant' },
        spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1', ...restrictedContainer }] },
      },
    });
  });

  it('denies a ServiceAccount without RBAC and allows it after a Role and RoleBinding', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
    const asReader = impersonate(kc, `system:serviceaccount:${ns}:reader`).makeApiClient(CoreV1Api);

    const denied = await asReader.listNamespacedConfigMap({ namespace: ns }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(denied)).toBe(403);
    expect(messageOf(denied)).toContain(`system:serviceaccount:${ns}:reader`);

    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'configmap-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    const list = await eventually('the RoleBinding to take effect', async () => {
      try {
        return await asReader.listNamespacedConfigMap({ namespace: ns });
      } catch {
        return undefined;
      }
    });
    expect(list.items.length).toBeGreaterThan(0);
    // Only what the Role grants: writing is still forbidden.
    const write = await asReader
      .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'nope' } } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(statusOf(write)).toBe(403);
  });

  it('rejects a custom resource that breaks a CEL rule, with the rule message', async () => {
    const group = 'widgets.test.obsdemo.dev';
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                      // client-node serializes its typed models by attribute name: x-kubernetes-validations is x_kubernetes_validations.
                      x_kubernetes_validations: [
                        { rule: 'self.min <= self.max', message: 'min must not exceed max' },
                      ],
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await eventually('the CRD to be Established', async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
        ? true
        : undefined;
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const create = (name: string, min: number, max: number) =>
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns,
        plural: 'widgets',
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, spec: { min, max } },
      });
    // Right after Established the apiserver may briefly answer 404 for the new resource.
    await eventually('a valid Widget to be accepted', async () =>
      (await create('ok', 1, 2)) ? true : undefined,
    );
    const error = await create('bad', 3, 2).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(error)).toBe(422);
    expect(messageOf(error)).toContain('min must not exceed max');
  });
});
