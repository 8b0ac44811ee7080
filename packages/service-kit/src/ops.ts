import express, { type Router } from 'express';
import type { Registry, RegistryContentType } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency answers; rejects with a reason otherwise. */
  check: () => Promise<void>;
}

export interface OpsOptions {
  registry: Registry<RegistryContentType>;
  checks: ReadinessCheck[];
  /** Name, version and a config summary that never includes secrets. */
  info: () => Record<string, unknown>;
  /** True once shutdown began, so load balancers stop sending traffic while we drain. */
  isShuttingDown?: () => boolean;
  checkTimeoutMs?: number;
}

type CheckResult = { status: 'ok' } | { status: 'failed'; error: string };

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return { status: 'ok' };
  } catch (error) {
    return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** /health (process is up), /ready (dependencies answer), /info, /metrics. */
export function opsRouter(options: OpsOptions): Router {
  const router = express.Router();
  const timeoutMs = options.checkTimeoutMs ?? 2000;

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    if (options.isShuttingDown?.()) {
      res.status(503).json({ error: 'not_ready', message: 'shutting down' });
      return;
    }
    const results = await Promise.all(
      options.checks.map(async (c) => [c.name, await runCheck(c, timeoutMs)] as const),
    );
    const checks = Object.fromEntries(results);
    const failed = results.filter(([, r]) => r.status === 'failed').map(([name]) => name);
    if (failed.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    res.status(503).json({
      error: 'not_ready',
      message: `dependencies not ready: ${failed.join(', ')}`,
      details: { checks },
    });
  });

  router.get('/info', (_req, res) => {
    res.json(options.info());
  });

  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', options.registry.contentType);
    res.send(await options.registry.metrics());
  });

  return router;
}
