// The contract between what the operator and the demo-services chart put into each service container's env and
// what that service reads. A name only one side knows is a setting that silently does nothing (the chart once set
// GATEWAY_URL for loadgen, which reads LOADGEN_TARGET_URL; the operator set JWT_JWKS before the gateway read it).
// This is a cross-component test, so it imports the services' own config schemas from their sources: the schemas
// are the one list of what each service reads, and a copy here would drift just like the bug it guards against.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { OTEL_ENV } from '@obsdemo/telemetry';
import { createTestNamespace, deleteTestNamespace, kubeConfigFromEnv } from '@obsdemo/testenv';
import { CatalogConfigSchema } from '../../../services/catalog/src/config.js';
import { GatewayConfigSchema } from '../../../services/gateway/src/config.js';
import { InvoicesConfigSchema } from '../../../services/invoices/src/config.js';
import { LoadgenConfigSchema } from '../../../services/loadgen/src/config.js';
import { ProcessorConfigSchema } from '../../../services/processor/src/config.js';
import {
  API_VERSION,
  KIND,
  SERVICE_NAMES,
  type DefaultedObservabilityDemo,
  type ObservabilityDemo,
  type ServiceName,
} from '../../src/api/index.js';
import type { ResourceClient, Unstructured } from '../../src/kube/resource-client.js';
import type { HelmRenderer } from '../../src/render/helm-template.js';
import { planComponents } from '../../src/reconcile/plan.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { setUpOperatorEnv } from './operator-env.js';

const SAMPLES = new URL('../../../manifests/samples/', import.meta.url);

/**
 * Every env key a service process reads: its own schema plus the telemetry preload's (OTEL_*). The database
 * package and the logger take their settings from the service's parsed config (DB_*, LOG_LEVEL), never from env.
 */
const READS: Record<ServiceName, ReadonlySet<string>> = {
  catalog: keysOf(CatalogConfigSchema.shape),
  processor: keysOf(ProcessorConfigSchema.shape),
  invoices: keysOf(InvoicesConfigSchema.shape),
  gateway: keysOf(GatewayConfigSchema.shape),
  loadgen: keysOf(LoadgenConfigSchema.shape),
};

function keysOf(shape: object): ReadonlySet<string> {
  return new Set([...Object.keys(shape), ...Object.keys(OTEL_ENV.shape)]);
}

interface Container {
  name: string;
  env?: { name: string }[];
}

interface Deployment extends Unstructured {
  spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } };
}

let kc: KubeConfig;
let admin: ResourceClient;
let renderer: HelmRenderer;
let ns: string;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  ({ admin, renderer } = await setUpOperatorEnv(kc));
  ns = await createTestNamespace(kc, 'env-contract');
}, 120_000);

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

/** The sample as the operator sees it: created on the apiserver and read back with the CRD's defaults filled in. */
async function defaulted(file: string): Promise<DefaultedObservabilityDemo> {
  const sample = load(readFileSync(new URL(file, SAMPLES), 'utf8')) as ObservabilityDemo;
  const name = file.replace(/\.yaml$/, '');
  const object = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: ns },
    spec: sample.spec,
  };
  await admin.apply(object, 'obsdemo-test');
  const demo = await admin.get<DefaultedObservabilityDemo>({
    apiVersion: API_VERSION,
    kind: KIND,
    namespace: ns,
    name,
  });
  if (!demo) throw new Error(`${name} was not created`);
  return demo;
}

async function renderedServices(demo: DefaultedObservabilityDemo): Promise<Deployment[]> {
  const plan = planComponents(demo, servicesValues).find((p) => p.component === 'services');
  if (!plan) throw new Error('the plan has no demo-services chart');
  const objects = await renderer.render({
    chart: plan.chart,
    release: demo.metadata?.name ?? '',
    namespace: ns,
    values: plan.values,
  });
  return objects.filter((o): o is Deployment => o.kind === 'Deployment');
}

// The samples together set every CR field (operator/test/unit/api-samples.test.ts checks that), including the
// exclusive alternatives (a JWKS Secret instead of a URL, external backends) that full.yaml cannot hold.
const sampleFiles = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml'));

describe('service env contract', () => {
  it('covers the samples that together set every CR field', () => {
    expect(sampleFiles).toEqual(expect.arrayContaining(['full.yaml', 'external-backends.yaml']));
  });

  it.each(sampleFiles)('%s: every env var rendered for a service is one that service reads', async (file) => {
    const demo = await defaulted(file);
    const deployments = await renderedServices(demo);
    const enabled = SERVICE_NAMES.filter((s) => demo.spec.services[s].enabled);
    const byService = new Map(
      deployments.map((d) => [d.metadata.labels?.['app.kubernetes.io/name'] ?? d.metadata.name, d] as const),
    );
    // Guards against passing vacuously: each enabled service is rendered and has env to check.
    expect([...byService.keys()].sort()).toEqual([...enabled].sort());

    const unread: string[] = [];
    for (const service of enabled) {
      const pod = byService.get(service)!.spec.template.spec;
      const names = [...pod.containers, ...(pod.initContainers ?? [])].flatMap((c) =>
        (c.env ?? []).map((e) => e.name),
      );
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) if (!READS[service].has(name)) unread.push(`${service}: ${name}`);
    }
    expect(unread).toEqual([]);
  });
});
