import { describe, expect, it } from '@jest/globals';
import { demoChanged, workloadChanged, workloadSummary } from '../../../src/reconcile/watches.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'shop-catalog',
    namespace: 'demo',
    uid: 'u1',
    resourceVersion: '10',
    generation: 2,
    labels: { 'obsdemo.dev/instance': 'shop' },
    annotations: { 'deployment.kubernetes.io/revision': '2' },
    managedFields: [{ manager: 'obsdemo-operator' }],
  },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'catalog', image: 'catalog:1' }] } } },
  status: {
    observedGeneration: 2,
    replicas: 2,
    readyReplicas: 1,
    updatedReplicas: 2,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'False', lastUpdateTime: '2026-12-06T10:00:00Z' }],
  },
};

describe('workloadSummary', () => {
  it('keeps identity, generation, labels, annotations, spec.replicas and the readiness fields only', () => {
    expect(workloadSummary(deployment)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'shop-catalog',
        namespace: 'demo',
        uid: 'u1',
        resourceVersion: '10',
        generation: 2,
        labels: { 'obsdemo.dev/instance': 'shop' },
        annotations: { 'deployment.kubernetes.io/revision': '2' },
      },
      spec: { replicas: 2 },
      status: { readyReplicas: 1, updatedReplicas: 2, observedGeneration: 2 },
    });
  });
});

describe('workloadChanged', () => {
  const summary = workloadSummary(deployment);
  const next = (change: (d: typeof deployment) => void) => {
    const d = structuredClone(deployment);
    change(d);
    d.metadata.resourceVersion = '11';
    return workloadSummary(d);
  };

  it('ignores an update that only moves the resourceVersion or fields readiness does not read', () => {
    expect(
      workloadChanged(
        summary,
        next(() => undefined),
      ),
    ).toBe(false);
    expect(
      workloadChanged(
        summary,
        next((d) => {
          d.status.conditions[0]!.lastUpdateTime = '2026-12-06T10:00:05Z';
          d.status.availableReplicas = 2;
        }),
      ),
    ).toBe(false);
  });

  it('reports a pod becoming ready, a spec edit, a label and an annotation change', () => {
    expect(
      workloadChanged(
        summary,
        next((d) => (d.status.readyReplicas = 2)),
      ),
    ).toBe(true);
    expect(
      workloadChanged(
        summary,
        next((d) => (d.metadata.generation = 3)),
      ),
    ).toBe(true);
    expect(
      workloadChanged(
        summary,
        next((d) => (d.spec.replicas = 3)),
      ),
    ).toBe(true);
    expect(
      workloadChanged(
        summary,
        next((d) => (d.metadata.labels['obsdemo.dev/instance'] = 'x')),
      ),
    ).toBe(true);
  });
});

describe('demoChanged', () => {
  const demo = {
    metadata: { name: 'shop', resourceVersion: '5', generation: 1, labels: { a: '1' }, annotations: {} },
  };
  const next = (metadata: Record<string, unknown>) => ({
    metadata: { ...demo.metadata, resourceVersion: '6', ...metadata },
  });

  it("ignores the operator's own status writes (a new resourceVersion, nothing else)", () => {
    expect(demoChanged(demo, next({}))).toBe(false);
  });

  it('reconciles on a spec change, labels, annotations, deletion, and on a resync or relist', () => {
    expect(demoChanged(demo, next({ generation: 2 }))).toBe(true);
    expect(demoChanged(demo, next({ labels: { a: '2' } }))).toBe(true);
    expect(demoChanged(demo, next({ annotations: { note: 'x' } }))).toBe(true);
    expect(demoChanged(demo, next({ deletionTimestamp: '2026-12-06T10:00:00Z' }))).toBe(true);
    expect(demoChanged(demo, demo)).toBe(true);
  });
});
