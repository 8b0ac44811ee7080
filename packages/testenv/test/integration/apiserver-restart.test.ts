import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { ControlPlane, eventually } from '@obsdemo/testenv';

// Restarting the apiserver would disturb other test files, so this file runs a control plane of its own.

let cp: ControlPlane;
let kc: KubeConfig;

beforeAll(async () => {
  cp = await ControlPlane.start();
  kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
});

interface Seen {
  type: string;
  name: string;
  code?: number;
}

/** Watches ConfigMaps in `namespace` from `resourceVersion`; resolves `ended` when the server closes the watch. */
async function watchConfigMaps(namespace: string, resourceVersion: string, seen: Seen[]) {
  let end!: (error: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (end = resolve));
  const request = await new Watch(kc).watch(
    `/api/v1/namespaces/${namespace}/configmaps`,
    { resourceVersion, allowWatchBookmarks: true },
    (type: string, obj: { metadata?: { name?: string }; code?: number }) =>
      seen.push({
        type,
        name: obj.metadata?.name ?? '',
        ...(obj.code === undefined ? {} : { code: obj.code }),
      }),
    (error: unknown) => end(error),
  );
  return { ended, abort: () => request.abort() };
}

describe('apiserver restart', () => {
  it('ends a watch, keeps its data, expires old resource versions (410) and serves a client that relists', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'restart' } } });
    const list = await core.listNamespacedConfigMap({ namespace: 'restart' });
    const seen: Seen[] = [];
    const first = await watchConfigMaps('restart', list.metadata!.resourceVersion!, seen);

    await core.createNamespacedConfigMap({ namespace: 'restart', body: { metadata: { name: 'before' } } });
    await eventually('the watch to deliver "before"', async () =>
      seen.some((e) => e.type === 'ADDED' && e.name === 'before') ? true : undefined,
    );

    await cp.restartApiserver();
    // The old watch's connection is gone with the old process.
    await first.ended;

    // A new apiserver's watch cache starts at the current revision: resuming from an older one is 410 Gone,
    // which is why a client must relist (the operator's informer does).
    const stale: Seen[] = [];
    const resumed = await watchConfigMaps('restart', list.metadata!.resourceVersion!, stale);
    await resumed.ended;
    expect(stale).toEqual([{ type: 'ERROR', name: '', code: 410 }]);

    // Data written before the restart is still there (same etcd), and a watch from the relist's version works.
    const relist = await core.listNamespacedConfigMap({ namespace: 'restart' });
    expect(relist.items.map((c) => c.metadata?.name)).toContain('before');
    const again = await watchConfigMaps('restart', relist.metadata!.resourceVersion!, seen);
    await core.createNamespacedConfigMap({ namespace: 'restart', body: { metadata: { name: 'after' } } });
    await eventually('the new watch to deliver "after"', async () =>
      seen.some((e) => e.type === 'ADDED' && e.name === 'after') ? true : undefined,
    );
    again.abort();
    // The controller-manager adds kube-root-ca.crt to every new namespace at a time of its choosing; only the
    // test's own objects are compared.
    const ours = seen.filter((e) => e.type === 'ADDED' && (e.name === 'before' || e.name === 'after'));
    expect(ours.map((e) => e.name)).toEqual(['before', 'after']);
  });
});
