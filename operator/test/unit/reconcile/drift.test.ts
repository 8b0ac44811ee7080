import { describe, expect, it } from '@jest/globals';
import {
  isSubset,
  ownsRemovedFields,
  replicasToHandOver,
  type ManagedFieldsEntry,
} from '../../../src/reconcile/drift.js';

const desired = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    template: { spec: { containers: [{ name: 'web', ports: [{ containerPort: 8080 }] }] } },
  },
};

describe('isSubset (drift detection)', () => {
  it('accepts a live object that adds defaults and status to what we rendered', () => {
    const live = structuredClone(desired) as Record<string, unknown> & typeof desired;
    Object.assign(live.metadata, { uid: 'u', resourceVersion: '7', labels: { app: 'web', extra: 'x' } });
    Object.assign(live.spec, { revisionHistoryLimit: 10 });
    Object.assign(live.spec.template.spec.containers[0]!, { imagePullPolicy: 'IfNotPresent' });
    live.status = { readyReplicas: 2 };
    expect(isSubset(desired, live)).toBe(true);
  });

  it('sees a scaled Deployment as drift', () => {
    const live = structuredClone(desired);
    live.spec.replicas = 5;
    expect(isSubset(desired, live)).toBe(false);
  });

  it('sees a removed list element or a removed field as drift', () => {
    const live = structuredClone(desired);
    live.spec.template.spec.containers = [];
    expect(isSubset(desired, live)).toBe(false);
    const noLabels = structuredClone(desired) as { metadata: { labels?: unknown } };
    delete noLabels.metadata.labels;
    expect(isSubset(desired, noLabels)).toBe(false);
  });

  it('treats rendered empty objects, lists and nulls as satisfied by a missing field', () => {
    expect(isSubset({ a: {}, b: [], c: null }, {})).toBe(true);
  });

  it('compares numbers the API server echoes as strings by their text', () => {
    expect(isSubset({ port: 8080 }, { port: '8080' })).toBe(true);
    expect(isSubset({ port: 8080 }, { port: '8081' })).toBe(false);
  });
});

/** The live object with managedFields as the API server records them after an apply of `desired`. */
const withManagedFields = (entries: ManagedFieldsEntry[]) => ({
  ...structuredClone(desired),
  metadata: { ...desired.metadata, managedFields: entries },
});
const ours = (fieldsV1: Record<string, unknown>): ManagedFieldsEntry => ({
  manager: 'obsdemo-operator',
  operation: 'Apply',
  fieldsType: 'FieldsV1',
  fieldsV1,
});
interface Fields {
  [key: string]: Fields;
}
/** The nested set at `path`, created where missing. */
function at(set: Fields, ...path: string[]): Fields {
  let node = set;
  for (const key of path) node = node[key] ??= {};
  return node;
}
const appliedSet: Fields = {
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"web"}': {
            '.': {},
            'f:name': {},
            // The API server defaults protocol before it records the key.
            'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
        },
      },
    },
  },
};

describe('ownsRemovedFields (fields the charts stopped rendering)', () => {
  it('finds nothing when every field we applied is still rendered', () => {
    expect(ownsRemovedFields(desired, withManagedFields([ours(appliedSet)]), 'obsdemo-operator')).toBe(false);
  });

  it('finds a label, a map key or a list entry we applied and no longer render', () => {
    const label = structuredClone(appliedSet);
    at(label, 'f:metadata', 'f:labels', 'f:tier');
    expect(ownsRemovedFields(desired, withManagedFields([ours(label)]), 'obsdemo-operator')).toBe(true);
    const data = { 'f:data': { 'f:old.conf': {} } };
    expect(
      ownsRemovedFields(
        { data: { 'new.conf': 'x' } },
        { metadata: { managedFields: [ours(data)] } },
        'obsdemo-operator',
      ),
    ).toBe(true);
    const container = structuredClone(appliedSet);
    at(container, 'f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"sidecar"}', '.');
    expect(ownsRemovedFields(desired, withManagedFields([ours(container)]), 'obsdemo-operator')).toBe(true);
    const port = structuredClone(appliedSet);
    at(
      port,
      'f:spec',
      'f:template',
      'f:spec',
      'f:containers',
      'k:{"name":"web"}',
      'f:ports',
      'k:{"containerPort":9090,"protocol":"TCP"}',
    );
    expect(ownsRemovedFields(desired, withManagedFields([ours(port)]), 'obsdemo-operator')).toBe(true);
    const finalizers = { 'f:metadata': { 'f:finalizers': { 'v:"a"': {}, 'v:"b"': {} } } };
    expect(
      ownsRemovedFields(
        { metadata: { finalizers: ['a', 'b'] } },
        { metadata: { managedFields: [ours(finalizers)] } },
        'obsdemo-operator',
      ),
    ).toBe(false);
    expect(
      ownsRemovedFields(
        { metadata: { finalizers: ['a'] } },
        { metadata: { managedFields: [ours(finalizers)] } },
        'obsdemo-operator',
      ),
    ).toBe(true);
  });

  it('ignores fields only other managers, our status writes or our plain updates own', () => {
    const userLabel = { 'f:metadata': { 'f:labels': { 'f:team': {} } } };
    const hpa = { 'f:spec': { 'f:replicas': {} } };
    const live = withManagedFields([
      ours(appliedSet),
      { manager: 'kubectl-label', operation: 'Update', fieldsV1: userLabel },
      { manager: 'kube-controller-manager', operation: 'Update', subresource: 'scale', fieldsV1: hpa },
      {
        manager: 'obsdemo-operator',
        operation: 'Apply',
        subresource: 'status',
        fieldsV1: { 'f:status': { 'f:x': {} } },
      },
      {
        manager: 'obsdemo-operator',
        operation: 'Update',
        fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:y': {} } } },
      },
    ]);
    const withoutReplicas = structuredClone(desired) as { spec: { replicas?: number } };
    delete withoutReplicas.spec.replicas;
    const set = structuredClone(appliedSet);
    delete at(set, 'f:spec')['f:replicas'];
    live.metadata.managedFields[0] = ours(set);
    expect(ownsRemovedFields(withoutReplicas, live, 'obsdemo-operator')).toBe(false);
  });

  it('counts a field rendered as null as present, and keys it cannot read as present', () => {
    expect(
      ownsRemovedFields(
        { data: { a: null } },
        { metadata: { managedFields: [ours({ 'f:data': { 'f:a': {} } })] } },
        'obsdemo-operator',
      ),
    ).toBe(false);
    expect(
      ownsRemovedFields(
        { spec: [] },
        { metadata: { managedFields: [ours({ 'f:spec': { 'x:odd': { 'f:y': {} } } })] } },
        'obsdemo-operator',
      ),
    ).toBe(false);
  });
});

describe('replicasToHandOver', () => {
  const autoscaled = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'shop-catalog' },
    spec: {},
  };
  const liveWith = (replicas: number, managedFields: ManagedFieldsEntry[]) => ({
    metadata: { name: 'shop-catalog', managedFields },
    spec: { replicas },
  });
  const ours = (fields: Record<string, unknown>): ManagedFieldsEntry => ({
    manager: 'obsdemo-operator',
    operation: 'Apply',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': fields },
  });

  it("hands over the live count when the render drops replicas that the operator's apply owns", () => {
    const live = liveWith(3, [ours({ 'f:replicas': {}, 'f:template': {} })]);
    expect(replicasToHandOver(autoscaled, live, 'obsdemo-operator')).toBe(3);
  });

  it('has nothing to hand over when the render still sets replicas', () => {
    const live = liveWith(3, [ours({ 'f:replicas': {} })]);
    const fixed = { ...autoscaled, spec: { replicas: 3 } };
    expect(replicasToHandOver(fixed, live, 'obsdemo-operator')).toBeUndefined();
  });

  it('has nothing to hand over once only others own replicas (the autoscaler through /scale)', () => {
    const live = liveWith(4, [
      ours({ 'f:template': {} }),
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'scale',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ]);
    expect(replicasToHandOver(autoscaled, live, 'obsdemo-operator')).toBeUndefined();
  });

  it('has nothing to hand over for an object that does not exist yet or has no spec', () => {
    expect(replicasToHandOver(autoscaled, undefined, 'obsdemo-operator')).toBeUndefined();
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} };
    expect(
      replicasToHandOver(configMap, liveWith(1, [ours({ 'f:replicas': {} })]), 'obsdemo-operator'),
    ).toBeUndefined();
  });
});
