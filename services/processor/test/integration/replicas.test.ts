import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { ServiceProcess } from '@obsdemo/testenv';
// The invoices harness already runs every service as a process.
import {
  buildServices,
  eventually,
  metricValue,
  request,
  sql,
  startCatalogProcess,
  startDataplane,
  startProcessorProcess,
  startProcessorReplica,
  type Dataplane,
} from '../../../invoices/test/integration/harness.js';

/**
 * Two real processor processes on one database, as two replicas of one Deployment (or what an autoscaler adds):
 * one durable job queue in Postgres, one worker in each process claiming from it with FOR UPDATE SKIP LOCKED.
 */

const DATABASE = 'processor_replicas';
const JOBS_PER_REPLICA = 12;

let dp: Dataplane;
let catalog: ServiceProcess;
let replicas: ServiceProcess[];

beforeAll(async () => {
  buildServices('catalog', 'processor');
  dp = await startDataplane();
  catalog = await startCatalogProcess(dp, 'catalog_for_processor_replicas');
  // A short poll so each worker also looks for jobs the other replica accepted.
  const env = { JOB_POLL_MS: '50' };
  const first = await startProcessorProcess(dp, DATABASE, catalog.url, env);
  replicas = [first, await startProcessorReplica(dp, DATABASE, catalog.url, env)];
});

afterAll(async () => {
  for (const r of replicas ?? []) await r.stop();
  await catalog?.stop();
  await dp?.stop();
});

const succeeded = (r: ServiceProcess) =>
  metricValue(r.url, 'jobs_processed_total', { type: 'analytics.process-batch', outcome: 'succeeded' });

describe('two processor replicas on one job queue', () => {
  it('run every job accepted by either replica exactly once, and show it through both', async () => {
    const accepted = await Promise.all(
      replicas.flatMap((r) =>
        Array.from({ length: JOBS_PER_REPLICA }, async (_, i) => {
          const res = await request(r.url, 'POST', '/api/v1/analytics/process-batch', {
            productIds: [1 + (i % 5), 6],
            simulateWorkMs: 100,
          });
          expect(res.status).toBe(202);
          return res.body['jobId'] as string;
        }),
      ),
    );
    expect(new Set(accepted).size).toBe(2 * JOBS_PER_REPLICA);

    await eventually(
      'every job finished',
      () => sql<{ n: string }>(dp, DATABASE, "SELECT count(*) AS n FROM jobs WHERE status <> 'succeeded'"),
      (rows) => rows[0]?.n === '0',
      60_000,
    );
    const jobs = await sql<{ id: string; attempts: number }>(dp, DATABASE, 'SELECT id, attempts FROM jobs');
    expect(jobs.map((j) => j.id).sort()).toEqual([...accepted].sort());
    // One claim each: no job was taken by both workers.
    expect(jobs.filter((j) => j.attempts !== 1)).toEqual([]);
    const perReplica = await Promise.all(replicas.map(succeeded));
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(accepted.length);
    // Both workers took part: the queue is shared, not served by one replica while the other idles.
    expect(perReplica.every((n) => n > 0)).toBe(true);

    // A job is the same through either replica's API, whichever accepted and ran it.
    const [fromA, fromB] = await Promise.all(
      replicas.map((r) => request(r.url, 'GET', `/api/v1/processor/jobs/${accepted[0]}`)),
    );
    expect(fromA?.status).toBe(200);
    expect(fromB?.body).toEqual(fromA?.body);
    expect(fromA?.body).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});
