// The informer against a real kube-apiserver: list + watch of ConfigMaps with add/update/delete, and recovery
// from an apiserver restart while it was cut off: the watch from its old resourceVersion gets 410 Gone, it
// relists, reports the object deleted meanwhile as a delete with finalStateUnknown, and keeps watching.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ControlPlane,
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';
import { Informer } from '../../src/runtime/informer.js';
import { KubeHttpClient, collectionPath, objectPath } from '../../src/runtime/kube-http-client.js';
import type { KubeObject } from '../../src/runtime/kube-http-client.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { CuttableProxy, throughProxy } from './runtime-proxy.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

type Seen =
  | { type: 'add'; name: string; value?: string }
  | { type: 'update'; name: string; old?: string; value?: string }
  | { type: 'delete'; name: string; finalStateUnknown: boolean };

function record(informer: Informer<ConfigMap>): Seen[] {
  const seen: Seen[] = [];
  const name = (o: ConfigMap): string => o.metadata?.name ?? '';
  informer.addEventHandler({
    onAdd: (o) => seen.push({ type: 'add', name: name(o), value: o.data?.['v'] }),
    onUpdate: (old, o) =>
      seen.push({ type: 'update', name: name(o), old: old.data?.['v'], value: o.data?.['v'] }),
    onDelete: (o, info) =>
      seen.push({ type: 'delete', name: name(o), finalStateUnknown: info.finalStateUnknown }),
  });
  return seen;
}

function cm(name: string, v: string): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } };
}

describe('Informer on the shared control plane', () => {
  let client: KubeHttpClient;
  let kc: KubeConfig;
  let ns: string;

  beforeAll(async () => {
    kc = kubeConfigFromEnv();
    client = new KubeHttpClient(kc);
    ns = await createTestNamespace(kc, 'rt-informer');
  });

  afterAll(async () => {
    await deleteTestNamespace(kc, ns);
    await client.close();
  });

  it('lists with pagination, then sees adds, updates (with the old object) and deletes', async () => {
    const path = collectionPath('v1', 'configmaps', ns);
    for (const n of ['pre-1', 'pre-2', 'pre-3']) await client.create(path, cm(n, n));
    const informer = new Informer<ConfigMap>(client, { path, pageSize: 2, labelSelector: undefined });
    const seen = record(informer);
    informer.start();
    try {
      await informer.waitForSync();
      expect(informer.hasSynced()).toBe(true);
      // kube-root-ca.crt is created by the controller-manager in every namespace; pages of 2 cover all four.
      expect(
        informer.store
          .keys()
          .filter((k) => k.startsWith(`${ns}/pre-`))
          .sort(),
      ).toEqual([`${ns}/pre-1`, `${ns}/pre-2`, `${ns}/pre-3`]);

      await client.create(path, cm('live', 'one'));
      await client.patch(
        objectPath('v1', 'configmaps', 'live', ns),
        { data: { v: 'two' } },
        'application/merge-patch+json',
      );
      await client.delete(objectPath('v1', 'configmaps', 'live', ns));

      await eventually('add, update and delete of "live"', async () => {
        const live = seen.filter((s) => s.name === 'live');
        return live.length >= 3 ? live : undefined;
      });
      expect(seen.filter((s) => s.name === 'live')).toEqual([
        { type: 'add', name: 'live', value: 'one' },
        { type: 'update', name: 'live', old: 'one', value: 'two' },
        { type: 'delete', name: 'live', finalStateUnknown: false },
      ]);
      expect(informer.store.get(`${ns}/live`)).toBeUndefined();
      expect(informer.store.get(`${ns}/pre-2`)?.data?.['v']).toBe('pre-2');
      expect(informer.store.get(`${ns}/pre-2`)).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
      expect(informer.listCount()).toBe(1);
    } finally {
      await informer.stop();
    }
  });

  it('aborts a watch that went silent (half-open connection) after the inactivity timeout and watches again', async () => {
    const proxy = await new CuttableProxy(new URL(kc.getCurrentCluster()?.server ?? '')).listen();
    const viaProxy = new KubeHttpClient(throughProxy(kc, proxy.port));
    const path = collectionPath('v1', 'configmaps', ns);
    const warnings: string[] = [];
    const informer = new Informer<ConfigMap>(viaProxy, {
      path,
      labelSelector: 'freeze-test=yes',
      inactivityTimeoutMs: 2_000,
      backoff: { baseMs: 100, maxMs: 1000 },
      logger: { ...silentLogger, warn: (message) => warnings.push(message) },
    });
    const seen = record(informer);
    const labelled = (name: string): ConfigMap => ({
      ...cm(name, 'x'),
      metadata: { name, labels: { 'freeze-test': 'yes' } },
    });
    informer.start();
    try {
      await informer.waitForSync();
      await client.create(path, labelled('before-freeze'));
      await eventually('the watch to deliver "before-freeze"', async () =>
        seen.find((s) => s.name === 'before-freeze') ? true : undefined,
      );
      // The watch is streaming: freeze its connection (and every other open one) without closing it.
      proxy.freeze();
      await client.create(path, labelled('during-freeze'));
      await eventually('the object created while the watch was frozen', async () =>
        seen.find((s) => s.type === 'add' && s.name === 'during-freeze') ? true : undefined,
      );
      expect(warnings).toContain('watch inactive, restarting it');
      // No 410 and no relist: the new watch resumed from the last resourceVersion.
      expect(informer.listCount()).toBe(1);
    } finally {
      await informer.stop();
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('re-delivers every cached object as an update on resync', async () => {
    const path = collectionPath('v1', 'configmaps', ns);
    await client.create(path, cm('resync-me', 'x'));
    const informer = new Informer<ConfigMap>(client, {
      path,
      resyncPeriodMs: 300,
      fieldSelector: 'metadata.name=resync-me',
    });
    const seen = record(informer);
    informer.start();
    try {
      await eventually('two resync updates', async () =>
        seen.filter((s) => s.type === 'update').length >= 2 ? true : undefined,
      );
      expect(seen[0]).toEqual({ type: 'add', name: 'resync-me', value: 'x' });
      expect(seen.filter((s) => s.type === 'update').every((s) => s.name === 'resync-me')).toBe(true);
    } finally {
      await informer.stop();
    }
  });
});

describe('Informer across an apiserver restart (own control plane)', () => {
  let cp: ControlPlane;
  let admin: KubeHttpClient;
  let proxy: CuttableProxy;

  beforeAll(async () => {
    cp = await ControlPlane.start();
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    admin = new KubeHttpClient(kc);
    proxy = await new CuttableProxy(new URL(cp.server)).listen();
  });

  afterAll(async () => {
    await admin?.close();
    await proxy?.close();
    await cp?.stop();
  });

  it('relists after 410 Gone, reports what vanished meanwhile, and keeps watching', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const client = new KubeHttpClient(throughProxy(kc, proxy.port));
    const path = collectionPath('v1', 'configmaps', 'default');
    await admin.create(path, cm('stays', '1'));
    await admin.create(path, cm('vanishes', '1'));
    const informer = new Informer<ConfigMap>(client, {
      path,
      fieldSelector: 'metadata.name!=kube-root-ca.crt',
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    const seen = record(informer);
    informer.start();
    try {
      await informer.waitForSync();
      expect(informer.store.keys().sort()).toEqual(['default/stays', 'default/vanishes']);
      const rvBefore = informer.lastSyncResourceVersion();

      proxy.cut();
      await admin.delete(objectPath('v1', 'configmaps', 'vanishes', 'default'));
      await admin.patch(
        objectPath('v1', 'configmaps', 'stays', 'default'),
        { data: { v: '2' } },
        'application/merge-patch+json',
      );
      await cp.restartApiserver();
      proxy.restore();

      await eventually('the synthetic delete of "vanishes"', async () =>
        seen.find((s) => s.type === 'delete') ? true : undefined,
      );
      expect(informer.listCount()).toBeGreaterThanOrEqual(2);
      expect(seen.filter((s) => s.type === 'delete')).toEqual([
        { type: 'delete', name: 'vanishes', finalStateUnknown: true },
      ]);
      expect(seen).toContainEqual({ type: 'update', name: 'stays', old: '1', value: '2' });
      expect(informer.store.keys()).toEqual(['default/stays']);
      expect(Number(informer.lastSyncResourceVersion())).toBeGreaterThan(Number(rvBefore));

      await admin.create(path, cm('after', 'a'));
      await eventually('the add of "after" over the new watch', async () =>
        seen.find((s) => s.type === 'add' && s.name === 'after') ? true : undefined,
      );
      expect(informer.store.get('default/after')?.data?.['v']).toBe('a');
    } finally {
      await informer.stop();
      await client.close();
    }
  });
});
