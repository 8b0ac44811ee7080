// The controller wired to an informer on a real kube-apiserver: every ConfigMap key is reconciled, a burst of
// changes to one object is coalesced while it is being reconciled (the reconciler reads the cache and sees the
// last state), failures retry with growing backoff until success, and Events are recorded and aggregated.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { Controller } from '../../src/runtime/controller.js';
import { EventRecorder } from '../../src/runtime/events.js';
import { Informer } from '../../src/runtime/informer.js';
import { KubeHttpClient, collectionPath, objectPath } from '../../src/runtime/kube-http-client.js';
import type { KubeObject } from '../../src/runtime/kube-http-client.js';
import { ItemExponentialFailureRateLimiter } from '../../src/runtime/rate-limiter.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

let kc: KubeConfig;
let client: KubeHttpClient;
let ns: string;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  client = new KubeHttpClient(kc);
  ns = await createTestNamespace(kc, 'rt-controller');
});

afterAll(async () => {
  await deleteTestNamespace(kc, ns);
  await client.close();
});

const cm = (name: string, v: string): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { 'obsdemo.dev/test': 'controller' } },
  data: { v },
});

describe('Controller on a real apiserver', () => {
  it('reconciles every key, coalesces bursts, and retries failures with backoff', async () => {
    const path = collectionPath('v1', 'configmaps', ns);
    const informer = new Informer<ConfigMap>(client, { path, labelSelector: 'obsdemo.dev/test=controller' });
    const calls = new Map<string, { at: number; v: string | undefined }[]>();
    let flakyFailures = 3;
    const registry = new Registry();
    const controller = new Controller({
      name: 'configmaps',
      maxConcurrentReconciles: 2,
      registry,
      rateLimiter: new ItemExponentialFailureRateLimiter(100, 10_000),
      reconcile: async ({ key, name }) => {
        const v = informer.store.get(key)?.data?.['v'];
        calls.set(key, [...(calls.get(key) ?? []), { at: performance.now(), v }]);
        if (name === 'flaky' && flakyFailures-- > 0) throw new Error('transient failure');
        if (name === 'burst') await new Promise((resolve) => setTimeout(resolve, 500));
      },
    });
    controller.for(informer);
    informer.start();
    try {
      for (const n of ['one', 'two', 'three']) await client.create(path, cm(n, n));
      await informer.waitForSync();
      controller.start();
      await eventually('one, two and three reconciled', async () =>
        ['one', 'two', 'three'].every((n) => calls.has(`${ns}/${n}`)) ? true : undefined,
      );

      // A burst of 20 updates while the first reconcile of "burst" is running.
      await client.create(path, cm('burst', '0'));
      await eventually('burst reconciled once', async () => (calls.has(`${ns}/burst`) ? true : undefined));
      const burstPath = objectPath('v1', 'configmaps', 'burst', ns);
      for (let i = 1; i <= 20; i++) {
        await client.patch(burstPath, { data: { v: String(i) } }, 'application/merge-patch+json');
      }
      await eventually('the last burst state reconciled', async () =>
        calls.get(`${ns}/burst`)?.at(-1)?.v === '20' ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const burstCalls = calls.get(`${ns}/burst`) ?? [];
      console.log(`21 states of "burst" took ${burstCalls.length} reconciles`);
      expect(burstCalls.length).toBeLessThan(21);
      expect(burstCalls.at(-1)?.v).toBe('20');

      await client.create(path, cm('flaky', 'x'));
      await eventually('flaky to succeed', async () =>
        (calls.get(`${ns}/flaky`)?.length ?? 0) >= 4 ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const flaky = calls.get(`${ns}/flaky`) ?? [];
      expect(flaky).toHaveLength(4);
      const gaps = flaky.slice(1).map((c, i) => c.at - (flaky[i]?.at ?? 0));
      // 100 ms, 200 ms, 400 ms of per-key backoff (timers may fire a hair early relative to performance.now).
      expect(gaps[0]).toBeGreaterThanOrEqual(95);
      expect(gaps[1]).toBeGreaterThanOrEqual(195);
      expect(gaps[2]).toBeGreaterThanOrEqual(395);
      expect(controller.queue.numRequeues(`${ns}/flaky`)).toBe(0);

      const metrics = await registry.metrics();
      expect(metrics).toContain('controller_runtime_reconcile_errors_total{controller="configmaps"} 3');
      expect(metrics).toMatch(/workqueue_adds_total\{name="configmaps",controller="configmaps"\} \d+/);
    } finally {
      await controller.stop();
      await informer.stop();
    }
  });

  it('records an events.k8s.io Event and aggregates repetitions into a series', async () => {
    const target = await client.create(collectionPath('v1', 'configmaps', ns), cm('evented', 'x'));
    const recorder = new EventRecorder(client, {
      reportingInstance: 'test-instance',
      minPatchIntervalMs: 200,
    });
    recorder.event(target, 'Warning', 'ApplyFailed', 'Apply', 'could not apply: conflict');
    await recorder.flush();
    recorder.event(target, 'Warning', 'ApplyFailed', 'Apply', 'could not apply: conflict');
    recorder.event(target, 'Warning', 'ApplyFailed', 'Apply', 'could not apply: conflict');
    recorder.event(target, 'Normal', 'Applied', 'Apply', 'all objects applied');
    await recorder.stop();

    const list = await client.list<KubeObject & Record<string, unknown>>(
      `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      { fieldSelector: `regarding.name=evented` },
    );
    const byReason = new Map(list.items.map((e) => [e['reason'], e]));
    expect(list.items).toHaveLength(2);
    expect(byReason.get('ApplyFailed')).toMatchObject({
      type: 'Warning',
      action: 'Apply',
      note: 'could not apply: conflict',
      reportingController: 'obsdemo.dev/operator',
      reportingInstance: 'test-instance',
      regarding: { kind: 'ConfigMap', name: 'evented', namespace: ns, uid: target.metadata?.uid },
      series: { count: 3 },
    });
    expect(byReason.get('Applied')).toMatchObject({ type: 'Normal', note: 'all objects applied' });
    expect(byReason.get('Applied')?.['series']).toBeUndefined();
    expect(list.items.every((e) => e.metadata?.namespace === ns)).toBe(true);
  });
});
