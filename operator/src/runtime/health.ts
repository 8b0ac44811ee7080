import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry, RegistryContentType } from 'prom-client';
import type { Informer } from './informer.js';
import type { KubeObject } from './kube-http-client.js';
import type { LeaderElector } from './leader-election.js';
import { errorFields, silentLogger } from './logger.js';
import type { RuntimeLogger } from './logger.js';

/** A named readiness check: true when ready, or a reason why not. */
export type ReadinessCheck = () => true | string;

export interface HealthServerOptions {
  registry: Registry<RegistryContentType>;
  /** All must pass for /readyz to answer 200. */
  readiness: Record<string, ReadinessCheck>;
  logger?: RuntimeLogger;
}

/** Ready once every informer has listed its first snapshot into the cache. */
export function informersSynced(
  informers: readonly Pick<Informer<KubeObject>, 'hasSynced'>[],
): ReadinessCheck {
  return () => (informers.every((i) => i.hasSynced()) ? true : 'informer caches not synced');
}

/**
 * With leader election on, both the leader and a standby are ready: the standby is healthy and ready to take
 * over, and marking it unready would stall rolling updates of the operator Deployment behind a pod that can
 * never be elected while the old leader lives. Only an elector whose campaign has ended (leadership lost: the
 * process is about to exit) is unready.
 */
export function leaderElectionCheck(elector: Pick<LeaderElector, 'state'>): ReadinessCheck {
  return () => {
    const state = elector.state();
    return state === 'campaigning' || state === 'leading' ? true : `leader election ${state}`;
  };
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /healthz (the process serves requests), /readyz (every readiness check passes; `?verbose` lists them) and
 * /metrics in the registry's exposition format. The format is not negotiated per request because prom-client
 * renames counters in place when it renders OpenMetrics, which would corrupt a later text-format scrape; the
 * operator's registry is OpenMetrics (what Prometheus asks for first).
 */
export async function startHealthServer(
  options: HealthServerOptions,
  port: number,
  host = '0.0.0.0',
): Promise<HealthServer> {
  const logger = options.logger ?? silentLogger;
  const server: Server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      logger.error('health endpoint failed', { path: req.url, ...errorFields(error) });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

async function handle(
  options: HealthServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (url.pathname) {
    case '/healthz':
    case '/livez':
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    case '/readyz': {
      const results = Object.entries(options.readiness).map(([name, check]) => {
        let outcome: true | string;
        try {
          outcome = check();
        } catch (error) {
          outcome = error instanceof Error ? error.message : String(error);
        }
        return { name, outcome };
      });
      const ready = results.every((r) => r.outcome === true);
      const lines = results.map((r) =>
        r.outcome === true ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.outcome}`,
      );
      const verbose = url.searchParams.has('verbose') || !ready;
      const body = verbose
        ? `${lines.join('\n')}\n${ready ? 'readyz check passed' : 'readyz check failed'}\n`
        : 'ok\n';
      send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', body);
      return;
    }
    case '/metrics':
      send(res, 200, options.registry.contentType, await options.registry.metrics());
      return;
    default:
      send(
        res,
        404,
        'application/json',
        JSON.stringify({ error: 'not_found', message: `no route ${url.pathname}` }),
      );
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
