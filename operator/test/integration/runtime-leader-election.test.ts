// Leader election on a real coordination.k8s.io/v1 Lease: two candidates → exactly one leader; the leader
// crashing (it stops renewing without releasing) → the other takes over once the lease has expired; a graceful
// stop releases the Lease. Short timings keep the test fast; the algorithm is the same as with 15 s/10 s/2 s.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, eventually, kubeConfigFromEnv } from '@obsdemo/testenv';
import { KubeHttpClient } from '../../src/runtime/kube-http-client.js';
import { KubeLeaseClient, LeaderElector } from '../../src/runtime/leader-election.js';
import type { Lease } from '../../src/runtime/leader-election.js';

let kc: KubeConfig;
let client: KubeHttpClient;
let ns: string;

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  client = new KubeHttpClient(kc);
  ns = await createTestNamespace(kc, 'rt-leader');
});

afterAll(async () => {
  await deleteTestNamespace(kc, ns);
  await client.close();
});

interface Candidate {
  elector: LeaderElector;
  events: string[];
  done: Promise<void>;
}

function candidate(lease: string, identity: string, releaseOnCancel: boolean): Candidate {
  const events: string[] = [];
  const elector = new LeaderElector({
    lock: new KubeLeaseClient(client, ns, lease),
    identity,
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 500,
    releaseOnCancel,
    callbacks: {
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
      onNewLeader: (id) => events.push(`leader:${id}`),
    },
  });
  return { elector, events, done: elector.run() };
}

async function readLease(name: string): Promise<Lease> {
  return client.get<Lease>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`);
}

describe('LeaderElector on a real Lease', () => {
  it('elects exactly one of two candidates started together', async () => {
    const a = candidate('together', 'together-a', true);
    const b = candidate('together', 'together-b', true);
    let maxLeaders = 0;
    const sampler = setInterval(() => {
      maxLeaders = Math.max(maxLeaders, [a, b].filter((c) => c.elector.isLeader()).length);
    }, 20);
    try {
      const leader = await eventually('a leader', async () => [a, b].find((c) => c.elector.isLeader()));
      const standby = leader === a ? b : a;
      await eventually('the standby to observe the leader', async () =>
        standby.elector.getLeader() === leader.elector.identity ? true : undefined,
      );
      // Several renew periods later: still the same single leader.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(leader.elector.isLeader()).toBe(true);
      expect(standby.elector.isLeader()).toBe(false);
      expect((await readLease('together')).spec?.holderIdentity).toBe(leader.elector.identity);
      expect(maxLeaders).toBe(1);
    } finally {
      clearInterval(sampler);
      await a.elector.stop();
      await b.elector.stop();
    }
  });

  it('fails over once the lease expires after the leader crashed without releasing', async () => {
    const a = candidate('failover', 'candidate-a', false);
    await eventually('candidate-a to lead', async () => (a.elector.isLeader() ? true : undefined));
    const b = candidate('failover', 'candidate-b', true);
    try {
      await eventually('candidate-b to observe candidate-a', async () =>
        b.elector.getLeader() === 'candidate-a' ? true : undefined,
      );
      const held = await readLease('failover');
      expect(held.spec?.holderIdentity).toBe('candidate-a');
      expect(held.spec?.leaseDurationSeconds).toBe(3);

      // The crash: a's renew loop stops and, with releaseOnCancel off, the Lease still names it.
      await a.elector.stop();
      expect((await readLease('failover')).spec?.holderIdentity).toBe('candidate-a');
      expect(b.elector.isLeader()).toBe(false);
      await eventually(
        'candidate-b to take over',
        async () => (b.elector.isLeader() ? true : undefined),
        20_000,
      );
      const taken = await readLease('failover');
      expect(taken.spec?.holderIdentity).toBe('candidate-b');
      expect(taken.spec?.leaseTransitions).toBe(1);
      expect(a.events).toEqual(['leader:candidate-a', 'started', 'stopped:stopped']);
      expect(b.events).toEqual(['leader:candidate-a', 'leader:candidate-b', 'started']);
    } finally {
      await a.elector.stop();
      await b.elector.stop();
    }
  });

  it('releases the Lease on a graceful stop so the standby takes over at its next attempt', async () => {
    const a = candidate('release', 'release-a', true);
    await eventually('release-a to lead', async () => (a.elector.isLeader() ? true : undefined));
    const b = candidate('release', 'release-b', true);
    await eventually('release-b to see the leader', async () =>
      b.elector.getLeader() === 'release-a' ? true : undefined,
    );
    await a.elector.stop();
    const released = await readLease('release');
    expect(released.spec?.holderIdentity ?? '').toBe('');
    await eventually('release-b to lead', async () => (b.elector.isLeader() ? true : undefined), 5_000);
    await b.elector.stop();
    expect(b.events).toEqual(['leader:release-a', 'leader:release-b', 'started', 'stopped:stopped']);
  });
});
