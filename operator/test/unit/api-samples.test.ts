import { describe, expect, it } from '@jest/globals';
import { API_VERSION, KIND } from '../../src/api/index.js';
import type { ObservabilityDemo } from '../../src/api/index.js';
import { at, loadSamples, rootSchema, schemaLeaves, valueLeaves } from './api-schema.js';

const spec = at(rootSchema(), 'spec');

const samples = loadSamples();

describe('manifests/samples', () => {
  it('has the documented samples', () => {
    expect(samples.map((s) => s.file)).toEqual([
      'autoscaling.yaml',
      'external-backends.yaml',
      'fault-scenario.yaml',
      'full.yaml',
      'jaeger.yaml',
      'local.yaml',
      'minimal.yaml',
    ]);
  });

  it.each(samples.map((s) => [s.file, s.object] as const))(
    '%s is a namespace-less ObservabilityDemo named shop',
    (_file, object) => {
      const demo: ObservabilityDemo = object;
      expect(demo.apiVersion).toBe(API_VERSION);
      expect(demo.kind).toBe(KIND);
      expect(demo.metadata).toEqual({ name: 'shop' });
      expect(typeof demo.spec).toBe('object');
    },
  );

  it('full.yaml sets every spec field except the alternatives the other samples show', () => {
    const full = samples.find((s) => s.file === 'full.yaml')!;
    const others = samples.filter((s) => s.file !== 'full.yaml');
    const inFull = new Set(valueLeaves(full.object.spec, 'spec', spec));
    const inOthers = new Set(others.flatMap((s) => valueLeaves(s.object.spec, 'spec', spec)));
    const missing = schemaLeaves(rootSchema(), 'spec').filter((path) => !inFull.has(path));
    // Exclusive alternatives (external backends, a JWKS Secret instead of a URL, autoscaling instead of replicas)
    // cannot share one object.
    expect(missing.filter((path) => !inOthers.has(path))).toEqual([]);
    expect(missing.sort()).toEqual(
      [
        'spec.database.postgres.secretRef.name',
        'spec.messaging.nats.url',
        'spec.services.gateway.auth.jwt.secretRef.key',
        'spec.services.gateway.auth.jwt.secretRef.name',
        ...['catalog', 'processor', 'gateway'].flatMap((service) =>
          ['minReplicas', 'maxReplicas', 'targetCPUUtilization'].map(
            (field) => `spec.services.${service}.autoscaling.${field}`,
          ),
        ),
      ].sort(),
    );
  });

  it('no sample sets a field the schema does not have', () => {
    const known = new Set(schemaLeaves(rootSchema(), 'spec'));
    const unknown = samples.flatMap((s) =>
      valueLeaves(s.object.spec, 'spec', spec).filter((p) => p !== 'spec' && !known.has(p)),
    );
    expect(unknown).toEqual([]);
  });
});
