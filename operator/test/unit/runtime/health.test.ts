import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { leaderElectionCheck, startHealthServer } from '../../../src/runtime/health.js';
import type { HealthServer } from '../../../src/runtime/health.js';

let server: HealthServer;
let synced = false;
let state: 'idle' | 'campaigning' | 'leading' | 'ended' = 'campaigning';
const registry = new Registry();
new Counter({ name: 'demo_total', help: 'demo', registers: [registry] }).inc();

beforeAll(async () => {
  server = await startHealthServer(
    {
      registry,
      readiness: {
        informers: () => (synced ? true : 'informer caches not synced'),
        'leader-election': leaderElectionCheck({ state: () => state }),
      },
    },
    0,
    '127.0.0.1',
  );
});

afterAll(async () => {
  await server.close();
});

const url = (p: string): string => `http://127.0.0.1:${server.port}${p}`;

describe('health server', () => {
  it('/healthz answers while the process runs', async () => {
    const res = await fetch(url('/healthz'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('/readyz fails with the reasons until informers sync, and passes for leader and standby', async () => {
    synced = false;
    let res = await fetch(url('/readyz'));
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('[-]informers failed: informer caches not synced');
    synced = true;
    state = 'campaigning';
    res = await fetch(url('/readyz?verbose'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('[+]leader-election ok');
    state = 'leading';
    expect((await fetch(url('/readyz'))).status).toBe(200);
    state = 'ended';
    res = await fetch(url('/readyz'));
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('leader election ended');
  });

  it('/metrics serves the registry in its own format', async () => {
    const res = await fetch(url('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    expect(await res.text()).toContain('demo_total 1');
  });

  it('answers unknown paths with a JSON 404 and other methods with 405', async () => {
    const res = await fetch(url('/nope'));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'no route /nope' });
    expect((await fetch(url('/healthz'), { method: 'POST' })).status).toBe(405);
  });
});
