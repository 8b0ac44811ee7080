import { randomBytes } from 'node:crypto';
import type {
  ComponentStatus,
  DefaultedObservabilityDemo,
  InventoryReference,
  ObservabilityDemoStatus,
} from '../api/index.js';
import { API_VERSION, KIND, SERVICE_NAMES } from '../api/index.js';
import { isKubeApiError, type KubeClient, type ObjectRef } from '../kube/client.js';
import { canonicalJson, type HelmRenderer, type KubeObject } from '../render/helm-template.js';
import { setConditions, type ObservedCondition } from './conditions.js';
import { isSubset } from './drift.js';
import { componentNames, DATABASE_USERS, generatedSecretNames, planComponents } from './plan.js';

export const FIELD_MANAGER = 'obsdemo-operator';
export const INSTANCE_LABEL = 'obsdemo.dev/instance';
export const COMPONENT_LABEL = 'obsdemo.dev/component';

export interface ReconcilerDeps {
  client: KubeClient;
  renderer: HelmRenderer;
  /** Application services values for the demo-services chart. */
  servicesValues: (demo: DefaultedObservabilityDemo) => Record<string, unknown>;
  now?: () => Date;
  /** Kubernetes Events for significant transitions. */
  recordEvent?: (
    demo: DefaultedObservabilityDemo,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ) => void;
}

export interface ReconcileResult {
  /** Requeue to observe rollouts that are still in progress. */
  requeueAfter?: number;
  /** Objects written by server-side apply this round (0 when nothing drifted). */
  applied: number;
  pruned: number;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
/** Apply order: what workloads depend on first. */
const KIND_ORDER = [
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Role',
  'RoleBinding',
  'Service',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'StatefulSet',
  'Deployment',
];

const refOf = (o: KubeObject): InventoryReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name,
  ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
});
const refKey = (r: InventoryReference) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * One reconcile of one ObservabilityDemo: re-reads everything, is idempotent, and writes only what differs.
 * CR → per-component values → helm template (cached) → server-side apply with owner references and inventory
 * labels → prune what is no longer rendered → workload readiness → status through /status.
 */
export class DemoReconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { client } = this.deps;
    const demo = await client.get<DefaultedObservabilityDemo>({
      apiVersion: API_VERSION,
      kind: KIND,
      namespace,
      name,
    });
    // Deleted: owner references let the garbage collector remove everything we created.
    if (demo === undefined || demo.metadata?.deletionTimestamp) return { applied: 0, pruned: 0 };
    const generation = demo.metadata?.generation ?? 0;

    if (demo.spec.paused) {
      await this.writeStatus(demo, {
        ...demo.status,
        phase: 'Paused',
        conditions: setConditions(
          demo.status?.conditions ?? [],
          [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'Paused',
              message: 'spec.paused is true: nothing is applied',
            },
          ],
          generation,
          this.now(),
        ),
      });
      return { applied: 0, pruned: 0 };
    }

    let desired: KubeObject[];
    try {
      await this.ensureSecrets(demo);
      desired = await this.render(demo);
    } catch (error) {
      await this.reportFailure(demo, 'RenderFailed', error);
      throw error;
    }

    let applied: number;
    let pruned: number;
    try {
      applied = await this.applyAll(desired);
      pruned = await this.prune(demo, desired);
    } catch (error) {
      await this.reportFailure(demo, 'ApplyFailed', error);
      throw error;
    }
    if (applied > 0) this.deps.recordEvent?.(demo, 'Normal', 'Applied', `applied ${applied} object(s)`);
    if (pruned > 0)
      this.deps.recordEvent?.(demo, 'Normal', 'Pruned', `deleted ${pruned} object(s) no longer rendered`);

    const components = await this.readComponents(desired);
    const allReady = components.every((c) => c.ready >= c.desired);
    const notReady = components
      .filter((c) => c.ready < c.desired)
      .map((c) => `${c.name} ${c.ready}/${c.desired}`);
    const services = components.filter((c) => (SERVICE_NAMES as readonly string[]).includes(c.name));
    const observed: ObservedCondition[] = [
      allReady
        ? {
            type: 'Ready',
            status: 'True',
            reason: 'AllComponentsReady',
            message: `${components.length} components ready`,
          }
        : {
            type: 'Ready',
            status: 'False',
            reason: 'ComponentsNotReady',
            message: `waiting for ${notReady.join(', ')}`,
          },
      allReady
        ? {
            type: 'Progressing',
            status: 'False',
            reason: 'RolloutComplete',
            message: 'every component is up to date',
          }
        : {
            type: 'Progressing',
            status: 'True',
            reason: 'RollingOut',
            message: `waiting for ${notReady.join(', ')}`,
          },
      {
        type: 'Degraded',
        status: 'False',
        reason: 'AsExpected',
        message: 'rendered and applied without errors',
      },
    ];
    const previousReady = demo.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const status: ObservabilityDemoStatus = {
      ...demo.status,
      observedGeneration: generation,
      phase: allReady ? 'Ready' : 'Progressing',
      servicesReady: `${services.filter((c) => c.ready >= c.desired).length}/${services.length}`,
      conditions: setConditions(demo.status?.conditions ?? [], observed, generation, this.now()),
      components,
      endpoints: componentNames(demo).endpoints(new Set(components.map((c) => c.name))),
      inventory: desired.map(refOf),
    };
    await this.writeStatus(demo, status);
    if (allReady && previousReady !== 'True') {
      this.deps.recordEvent?.(demo, 'Normal', 'Ready', 'every component is ready');
    }
    return { applied, pruned, ...(allReady ? {} : { requeueAfter: 5_000 }) };
  }

  /** Generated credentials: created once, never overwritten, never logged. */
  private async ensureSecrets(demo: DefaultedObservabilityDemo): Promise<void> {
    const { name, namespace } = id(demo);
    const names = generatedSecretNames(name);
    const wanted: { name: string; data: Record<string, string>; needed: boolean }[] = [
      {
        name: names.postgres,
        needed: demo.spec.database.postgres.mode === 'managed',
        data: Object.fromEntries([
          ['postgres-password', randomPassword()],
          ...DATABASE_USERS.map((u) => [`${u}-password`, randomPassword()]),
        ]),
      },
      {
        name: names.grafana,
        needed: demo.spec.observability.grafana.enabled,
        data: { 'admin-user': 'admin', 'admin-password': randomPassword() },
      },
    ];
    for (const s of wanted.filter((w) => w.needed)) {
      const ref = { apiVersion: 'v1', kind: 'Secret', namespace, name: s.name };
      if ((await this.deps.client.get(ref)) !== undefined) continue;
      try {
        await this.deps.client.request('POST', await this.deps.client.path({ ...ref, name: undefined }), {
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: {
              name: s.name,
              namespace: ref.namespace,
              labels: this.labels(demo, 'credentials'),
              ownerReferences: [ownerRef(demo)],
            },
            stringData: s.data,
          },
        });
      } catch (error) {
        // Another reconcile created it first: keep theirs.
        if (!isKubeApiError(error, 409)) throw error;
      }
    }
  }

  private labels(demo: DefaultedObservabilityDemo, component: string): Record<string, string> {
    return {
      [INSTANCE_LABEL]: id(demo).name,
      [COMPONENT_LABEL]: component,
      'app.kubernetes.io/managed-by': FIELD_MANAGER,
      'app.kubernetes.io/part-of': 'observability-demo',
    };
  }

  private async render(demo: DefaultedObservabilityDemo): Promise<KubeObject[]> {
    const plans = planComponents(demo, this.deps.servicesValues);
    const { name, namespace } = id(demo);
    const rendered = await Promise.all(
      plans.map(async (plan) => {
        const objects = await this.deps.renderer.render({
          chart: plan.chart,
          release: name,
          namespace,
          values: plan.values,
        });
        return objects.map((o) => ({
          ...o,
          metadata: {
            ...o.metadata,
            namespace,
            labels: { ...o.metadata.labels, ...this.labels(demo, plan.component) },
            ownerReferences: [ownerRef(demo)],
          },
        }));
      }),
    );
    const all = rendered.flat();
    const rank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);
    return all.sort((a, b) => rank(a.kind) - rank(b.kind));
  }

  /** Server-side apply of each object whose rendered fields differ from the live object. */
  private async applyAll(desired: KubeObject[]): Promise<number> {
    let applied = 0;
    for (const obj of desired) {
      const live = await this.deps.client.get<KubeObject>(toRef(obj));
      if (live !== undefined && isSubset(stripForCompare(obj), live)) continue;
      await this.deps.client.apply(obj, FIELD_MANAGER);
      applied++;
    }
    return applied;
  }

  private async prune(demo: DefaultedObservabilityDemo, desired: KubeObject[]): Promise<number> {
    const keep = new Set(desired.map((o) => refKey(refOf(o))));
    let pruned = 0;
    for (const ref of demo.status?.inventory ?? []) {
      if (keep.has(refKey(ref))) continue;
      if (await this.deps.client.delete({ ...ref, namespace: ref.namespace ?? id(demo).namespace })) pruned++;
    }
    return pruned;
  }

  private async readComponents(desired: KubeObject[]): Promise<ComponentStatus[]> {
    const workloads = desired.filter((o) => WORKLOAD_KINDS.has(o.kind));
    return Promise.all(
      workloads.map(async (w) => {
        const live = await this.deps.client.get<{
          metadata?: { generation?: number };
          spec?: { replicas?: number };
          status?: { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
        }>(toRef(w));
        const desiredReplicas = live?.spec?.replicas ?? 1;
        const current = live?.status?.observedGeneration === live?.metadata?.generation;
        const ready = current
          ? Math.min(live?.status?.readyReplicas ?? 0, live?.status?.updatedReplicas ?? 0)
          : 0;
        const labels = w.metadata.labels ?? {};
        return {
          name: labels['app.kubernetes.io/name'] ?? w.metadata.name,
          kind: w.kind as 'Deployment' | 'StatefulSet',
          ready,
          desired: desiredReplicas,
          ...(labels['app.kubernetes.io/version'] ? { version: labels['app.kubernetes.io/version'] } : {}),
        };
      }),
    );
  }

  private async reportFailure(
    demo: DefaultedObservabilityDemo,
    reason: string,
    error: unknown,
  ): Promise<void> {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    this.deps.recordEvent?.(demo, 'Warning', reason, message);
    const conditions = setConditions(
      demo.status?.conditions ?? [],
      [{ type: 'Degraded', status: 'True', reason, message }],
      demo.metadata?.generation ?? 0,
      this.now(),
    );
    await this.writeStatus(demo, { ...demo.status, phase: 'Degraded', conditions });
  }

  /** Writes status only when it changed, so a resync of an unchanged demo writes nothing. */
  private async writeStatus(
    demo: DefaultedObservabilityDemo,
    status: ObservabilityDemoStatus,
  ): Promise<void> {
    if (canonicalJson(status) === canonicalJson(demo.status ?? {})) return;
    await this.deps.client.apply(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: id(demo).name, namespace: id(demo).namespace },
        status,
      } as KubeObject,
      FIELD_MANAGER,
      { subresource: 'status' },
    );
  }
}

/** Name, namespace and uid of a demo read from the API server, where they are always set. */
function id(demo: DefaultedObservabilityDemo): { name: string; namespace: string; uid: string } {
  const { name, namespace, uid } = demo.metadata ?? {};
  if (!name || !namespace || !uid)
    throw new Error('an ObservabilityDemo from the API server lacks name, namespace or uid');
  return { name, namespace, uid };
}

function ownerRef(demo: DefaultedObservabilityDemo) {
  const { name, uid } = id(demo);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function toRef(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
}

/** Fields that the API server rewrites or that are ours only in intent, left out of the drift comparison. */
function stripForCompare(o: KubeObject): KubeObject {
  const { ownerReferences: _owners, ...metadata } = o.metadata;
  return { ...o, metadata } as KubeObject;
}
