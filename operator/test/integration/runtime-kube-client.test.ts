// The JSON client against a real kube-apiserver: apiserver errors become KubeApiError with the Status reason,
// and a request that hangs on a dead (half-open) keep-alive connection does not poison the next ones.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, kubeConfigFromEnv } from '@obsdemo/testenv';
import {
  KubeApiError,
  KubeHttpClient,
  collectionPath,
  objectPath,
} from '../../src/runtime/kube-http-client.js';
import type { KubeObject } from '../../src/runtime/kube-http-client.js';
import { CuttableProxy, throughProxy } from './runtime-proxy.js';

let kc: KubeConfig;
let client: KubeHttpClient;
let ns: string;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  client = new KubeHttpClient(kc);
  ns = await createTestNamespace(kc, 'rt-client');
});

afterAll(async () => {
  await deleteTestNamespace(kc, ns);
  await client.close();
});

const cm = (name: string): KubeObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { v: '1' },
});

describe('KubeHttpClient', () => {
  it('creates, reads, patches and deletes plain JSON objects', async () => {
    const path = collectionPath('v1', 'configmaps', ns);
    const created = await client.create(path, cm('crud'));
    expect(created.metadata?.uid).toBeDefined();
    const patched = await client.patch<KubeObject & { data?: Record<string, string> }>(
      objectPath('v1', 'configmaps', 'crud', ns),
      { data: { v: '2' } },
      'application/merge-patch+json',
    );
    expect(patched.data).toEqual({ v: '2' });
    await client.delete(objectPath('v1', 'configmaps', 'crud', ns));
  });

  it('turns apiserver errors into KubeApiError with status code and reason', async () => {
    const path = collectionPath('v1', 'configmaps', ns);
    await client.create(path, cm('twice'));
    const conflict = await client.create(path, cm('twice')).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect(conflict).toMatchObject({ statusCode: 409, reason: 'AlreadyExists' });
    const missing = await client.get(objectPath('v1', 'configmaps', 'nope', ns)).catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404, reason: 'NotFound' });
    expect((missing as Error).message).toContain('configmaps "nope" not found');
  });

  it('recovers from a dead keep-alive connection after a timeout or an abort', async () => {
    const proxy = await new CuttableProxy(new URL(kc.getCurrentCluster()?.server ?? '')).listen();
    const viaProxy = new KubeHttpClient(throughProxy(kc, proxy.port), { requestTimeoutMs: 1_000 });
    const path = collectionPath('v1', 'configmaps', ns);
    try {
      await viaProxy.list(path);
      proxy.freeze();
      await expect(viaProxy.list(path)).rejects.toThrow();
      await expect(viaProxy.list(path)).resolves.toMatchObject({ kind: 'ConfigMapList' });

      proxy.freeze();
      await expect(viaProxy.list(path, {}, AbortSignal.timeout(300))).rejects.toThrow();
      await expect(viaProxy.list(path)).resolves.toMatchObject({ kind: 'ConfigMapList' });
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });
});
