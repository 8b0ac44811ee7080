import { describe, expect, it } from '@jest/globals';
import { isSubset } from '../../../src/reconcile/drift.js';

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
