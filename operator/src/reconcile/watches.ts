// What the manager's watches keep and which of their updates reconcile a demo.
import { canonicalJson } from '../render/helm-template.js';
import type { KubeObject } from '../runtime/index.js';

/**
 * A workload reduced to what an owner lookup and the reconciler need between full comparisons: identity, version,
 * generation, labels and annotations (whether the rendered ones are still there), `spec.replicas` and the status
 * fields readiness is computed from.
 */
export function workloadSummary(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, generation, labels, annotations } = obj.metadata ?? {};
  const { spec, status } = obj as {
    spec?: { replicas?: number };
    status?: { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
  };
  return {
    ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
    ...(obj.kind ? { kind: obj.kind } : {}),
    metadata: { name, namespace, uid, resourceVersion, generation, labels, annotations },
    spec: { replicas: spec?.replicas },
    status: {
      readyReplicas: status?.readyReplicas,
      updatedReplicas: status?.updatedReplicas,
      observedGeneration: status?.observedGeneration,
    },
  } as KubeObject;
}

/**
 * Whether a demo's update asks for a reconcile: its spec (generation), labels, annotations or deletion changed, or
 * it is a resync or relist (the same resourceVersion). Its status alone is the operator's own write.
 */
export function demoChanged(a: KubeObject, b: KubeObject): boolean {
  const m = a.metadata ?? {};
  const n = b.metadata ?? {};
  return (
    m.resourceVersion === n.resourceVersion ||
    m.generation !== n.generation ||
    Boolean(m.deletionTimestamp) !== Boolean(n.deletionTimestamp) ||
    canonicalJson(m.labels ?? {}) !== canonicalJson(n.labels ?? {}) ||
    canonicalJson(m.annotations ?? {}) !== canonicalJson(n.annotations ?? {})
  );
}

/** Whether a workload's update changes what its summary holds (its resourceVersion aside): spec, readiness, labels. */
export function workloadChanged(a: KubeObject, b: KubeObject): boolean {
  const withoutVersion = (o: KubeObject) =>
    canonicalJson({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return withoutVersion(a) !== withoutVersion(b);
}
