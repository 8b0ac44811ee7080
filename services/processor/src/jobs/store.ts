import { NotFoundError } from '@obsdemo/service-kit';
import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { JobStatus } from '../domain/jobs.js';

interface JobRecord {
  id: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  locked_by: string | null;
  locked_until: Date | null;
  trace_context: Record<string, string>;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface Job {
  id: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  result: unknown;
  error: string | null;
  attempts: number;
  maxAttempts: number;
  runAfter: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface ClaimedJob {
  id: string;
  type: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  traceContext: Record<string, string>;
}

function toJob(r: JobRecord): Job {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    payload: r.payload,
    result: r.result,
    error: r.error,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAfter: new Date(r.run_after).toISOString(),
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

const COLUMNS = `id, type, status, payload, result, error, attempts, max_attempts, run_after, locked_by,
  locked_until, trace_context, created_at, updated_at, finished_at`;

/**
 * The durable queue. Every time comparison uses the database clock, so workers on machines with skewed clocks
 * still agree on who holds a lease. Writes by a worker are guarded by `locked_by`, so a worker that lost its
 * lease cannot overwrite the outcome of the worker that took the job over.
 */
export function jobStore(sequelize: Sequelize) {
  const q = <T extends object>(sql: string, replacements: Record<string, unknown>) =>
    sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });
  /** RETURNING makes the affected row count explicit, whatever the driver reports for plain UPDATEs. */
  const exec = async (sql: string, replacements: Record<string, unknown>): Promise<number> =>
    (await q<{ id: string }>(`${sql} RETURNING id`, replacements)).length;

  return {
    async enqueue(input: {
      type: string;
      payload: unknown;
      maxAttempts: number;
      traceContext: Record<string, string>;
    }): Promise<Job> {
      const [row] = await q<JobRecord>(
        `INSERT INTO jobs (id, type, status, payload, max_attempts, trace_context)
         VALUES (:id, :type, 'queued', :payload, :maxAttempts, :traceContext)
         RETURNING ${COLUMNS}`,
        {
          id: randomUUID(),
          type: input.type,
          payload: JSON.stringify(input.payload),
          maxAttempts: input.maxAttempts,
          traceContext: JSON.stringify(input.traceContext),
        },
      );
      if (!row) throw new Error('job insert returned no row');
      return toJob(row);
    },

    /** Queued jobs that are due, and running jobs whose lease expired with attempts left, oldest first. */
    async claim(workerId: string, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
      const rows = await q<JobRecord>(
        `WITH next AS (
           SELECT id FROM jobs
           WHERE (status = 'queued' AND run_after <= now())
              OR (status = 'running' AND locked_until < now() AND attempts < max_attempts)
           ORDER BY created_at
           LIMIT :limit
           FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_by = :workerId,
           locked_until = now() + :leaseMs * interval '1 millisecond', updated_at = now()
         FROM next WHERE j.id = next.id
         RETURNING j.id, j.type, j.payload, j.attempts, j.max_attempts, j.trace_context`,
        { workerId, limit, leaseMs },
      );
      return rows.map((r) => ({
        id: r.id,
        type: r.type,
        payload: r.payload,
        attempts: r.attempts,
        maxAttempts: r.max_attempts,
        traceContext: r.trace_context,
      }));
    },

    /** Jobs whose last allowed attempt lost its lease can never be claimed again: fail them visibly. */
    async failAbandoned(): Promise<number> {
      return exec(
        `UPDATE jobs SET status = 'failed', error = 'lease expired during the last attempt (worker crashed or hung)',
           locked_by = NULL, locked_until = NULL, finished_at = now(), updated_at = now()
         WHERE status = 'running' AND locked_until < now() AND attempts >= max_attempts`,
        {},
      );
    },

    async renew(id: string, workerId: string, leaseMs: number): Promise<boolean> {
      const n = await exec(
        `UPDATE jobs SET locked_until = now() + :leaseMs * interval '1 millisecond', updated_at = now()
         WHERE id = :id AND locked_by = :workerId AND status = 'running'`,
        { id, workerId, leaseMs },
      );
      return n > 0;
    },

    async succeed(id: string, workerId: string, result: unknown): Promise<boolean> {
      const n = await exec(
        `UPDATE jobs SET status = 'succeeded', result = :result, error = NULL, locked_by = NULL,
           locked_until = NULL, finished_at = now(), updated_at = now()
         WHERE id = :id AND locked_by = :workerId AND status = 'running'`,
        { id, workerId, result: JSON.stringify(result ?? null) },
      );
      return n > 0;
    },

    async fail(id: string, workerId: string, error: string): Promise<boolean> {
      const n = await exec(
        `UPDATE jobs SET status = 'failed', error = :error, locked_by = NULL, locked_until = NULL,
           finished_at = now(), updated_at = now()
         WHERE id = :id AND locked_by = :workerId AND status = 'running'`,
        { id, workerId, error: error.slice(0, 2000) },
      );
      return n > 0;
    },

    async requeue(id: string, workerId: string, error: string, delayMs: number): Promise<boolean> {
      const n = await exec(
        `UPDATE jobs SET status = 'queued', error = :error, locked_by = NULL, locked_until = NULL,
           run_after = now() + :delayMs * interval '1 millisecond', updated_at = now()
         WHERE id = :id AND locked_by = :workerId AND status = 'running'`,
        { id, workerId, error: error.slice(0, 2000), delayMs },
      );
      return n > 0;
    },

    /** On graceful shutdown: hand the job back without spending an attempt. */
    async release(id: string, workerId: string): Promise<boolean> {
      const n = await exec(
        `UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), locked_by = NULL,
           locked_until = NULL, run_after = now(), updated_at = now()
         WHERE id = :id AND locked_by = :workerId AND status = 'running'`,
        { id, workerId },
      );
      return n > 0;
    },

    async get(id: string): Promise<Job> {
      const [row] = await q<JobRecord>(`SELECT ${COLUMNS} FROM jobs WHERE id = :id`, { id });
      if (!row) throw new NotFoundError(`job ${id} not found`);
      return toJob(row);
    },

    async list(query: {
      page: number;
      pageSize: number;
      status?: JobStatus | undefined;
      type?: string | undefined;
    }) {
      const where = [...(query.status ? ['status = :status'] : []), ...(query.type ? ['type = :type'] : [])];
      const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const replacements = {
        status: query.status ?? null,
        type: query.type ?? null,
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
      };
      const [rows, [count]] = await Promise.all([
        q<JobRecord>(
          `SELECT ${COLUMNS} FROM jobs ${filter} ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset`,
          replacements,
        ),
        q<{ n: string }>(`SELECT count(*) AS n FROM jobs ${filter}`, replacements),
      ]);
      return {
        items: rows.map(toJob),
        page: query.page,
        pageSize: query.pageSize,
        total: Number(count?.n ?? 0),
      };
    },

    async countByStatus(): Promise<Record<JobStatus, number>> {
      const rows = await q<{ status: JobStatus; n: string }>(
        'SELECT status, count(*) AS n FROM jobs GROUP BY status',
        {},
      );
      const counts: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
      for (const r of rows) counts[r.status] = Number(r.n);
      return counts;
    },
  };
}

export type JobStore = ReturnType<typeof jobStore>;
