// One operator replica loses its Lease and takes it again in the same process, on the real control plane: its one
// controller's watches still trigger reconciles in the new term (an owned Deployment deleted is recreated long
// before the 60 s safety requeue could), and there is still exactly one set of watches: the manager's informers
// list and watch each kind once for the whole test (leadership starts and stops only the workers), and each
// informer feeds the controller once. The replica reaches the apiserver through a proxy that records every
// request and can hold the Lease's renewals unanswered.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { API_VERSION, KIND } from '../../src/api/index.js';
import type { ResourceClient } from '../../src/kube/resource-client.js';
import type { Manager } from '../../src/manager.js';
import type { RuntimeLogger } from '../../src/runtime/index.js';
import { RecordingProxy, isWrite, type SeenRequest } from './http-proxy.js';
import { startTestManager } from './manager-env.js';
import { setUpOperatorEnv } from './operator-env.js';

/** The 60 s NOT_READY_RECHECK_MS requeue must not be what recreates the Deployment. */
const RECREATE_WITHIN_MS = 20_000;

let kc: KubeConfig;
let admin: ResourceClient;
let ns: string;
let proxy: RecordingProxy;
let manager: Manager | undefined;
/** What the manager logged above debug, by message: its terms show as "starting/stopped workers". */
const logs: string[] = [];
const record = (message: string) => void logs.push(message);
const logger: RuntimeLogger = { debug: () => undefined, info: record, warn: record, error: record };
const logged = (message: string) => logs.filter((m) => m === message).length;

const catalog = () =>
  admin.get<{ metadata: { uid: string } }>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: ns,
    name: 'shop-catalog',
  });

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  admin = (await setUpOperatorEnv(kc)).admin;
  ns = await createTestNamespace(kc, 'leadership-regained');
  proxy = await new RecordingProxy(kc).listen();
  manager = await startTestManager({
    namespace: ns,
    kubeConfig: proxy.kubeConfig(),
    logger,
    env: {
      POD_NAME: 'regained',
      LEADER_ELECTION_LEASE_DURATION: '6s',
      LEADER_ELECTION_RENEW_DEADLINE: '4s',
      LEADER_ELECTION_RETRY_PERIOD: '1s',
    },
  });
}, 120_000);

afterAll(async () => {
  proxy?.releaseLeaseWrites();
  await manager?.stop();
  await proxy?.close();
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('leadership lost and regained in one process', () => {
  it('keeps one set of watches, and they trigger reconciles in the new term', async () => {
    await eventually('the first term to start the workers', async () =>
      logged('starting workers') === 1 ? true : undefined,
    );
    const demo = { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'shop', namespace: ns }, spec: {} };
    await admin.apply(demo, 'obsdemo-test');
    const first = await eventually('the catalog Deployment to be applied', catalog, 60_000);

    // Renewals go unanswered: the elector gives up (the term's workers stop), then campaigns again and, once the
    // renewals get through, takes its own Lease back.
    proxy.holdLeaseWrites = true;
    await eventually(
      'the leadership to be lost',
      async () => (logged('stopped workers') === 1 ? true : undefined),
      30_000,
    );
    proxy.releaseLeaseWrites();
    await eventually(
      'the second term to start the workers',
      async () => (logged('starting workers') === 2 ? true : undefined),
      30_000,
    );
    expect(logged('became leader')).toBe(2);
    // The new term's first reconcile of every demo settles (nothing left to write) before the Deployment goes.
    await eventually(
      'the new term to stop writing',
      async () => {
        const lastWrite = Math.max(
          ...proxy.seen.filter((r) => isWrite(r) && !r.path.includes('/leases')).map((r) => r.at),
        );
        return Date.now() - lastWrite > 3_000 ? true : undefined;
      },
      60_000,
    );

    const deletedAt = Date.now();
    await admin.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'shop-catalog' });
    const recreated = await eventually(
      'the deleted catalog Deployment to be recreated',
      async () => {
        const live = await catalog();
        return live !== undefined && live.metadata.uid !== first.metadata.uid ? live : undefined;
      },
      RECREATE_WITHIN_MS,
    );
    expect(recreated.metadata.uid).not.toBe(first.metadata.uid);
    expect(Date.now() - deletedAt).toBeLessThan(RECREATE_WITHIN_MS);

    // One list and one watch per kind for the whole test: the informers outlived both terms.
    const requestsFor = (resource: string, watch: boolean) =>
      proxy.seen.filter((r: SeenRequest) => {
        const url = new URL(r.path, 'http://proxy');
        return (
          r.method === 'GET' &&
          url.pathname.endsWith(`/namespaces/${ns}/${resource}`) &&
          url.searchParams.has('watch') === watch
        );
      }).length;
    for (const resource of ['observabilitydemos', 'deployments', 'statefulsets']) {
      expect({ resource, lists: requestsFor(resource, false), watches: requestsFor(resource, true) }).toEqual(
        {
          resource,
          lists: 1,
          watches: 1,
        },
      );
    }
    expect(logged('stopped workers')).toBe(1);
  });
});
