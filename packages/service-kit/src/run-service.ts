import { loadConfig } from '@obsdemo/base';
import { createLogger, currentTelemetry, type Logger } from '@obsdemo/telemetry';
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { z } from 'zod';
import { createShutdown, type Closer, type Shutdown } from './shutdown.js';

/** The config keys every service has (see each service's config schema). */
interface BaseServiceConfig {
  LOG_LEVEL: string;
  SHUTDOWN_DRAIN_MS: number;
}

/** What `start` is given to build the service. */
export interface ServiceContext {
  /** The `version` of the service's package.json. */
  version: string;
  logger: Logger;
  /** True once SIGTERM/SIGINT began the shutdown (`/ready` answers 503 from then on). */
  isShuttingDown: () => boolean;
}

/** What `start` hands back: the request handler and what the shutdown closes after the HTTP server drained. */
export interface StartedService {
  app: RequestListener;
  /** Closed in this order (e.g. a consumer before the pool it writes to), then telemetry is flushed. */
  closers?: Closer[];
  /** Starts background work (relays, consumers, workers) once its closers are registered, before listening. */
  run?: () => void;
  /** Runs on SIGTERM/SIGINT before the shutdown begins (loadgen stops scheduling requests). */
  onSignal?: () => void;
  /** Extra fields of the `<service> listening` line. */
  listening?: Record<string, unknown>;
  /** Runs once the server listens (loadgen starts its scheduler). */
  onListening?: () => void;
}

export interface RunServiceOptions<S extends z.ZodType<BaseServiceConfig>> {
  /** The service's name: the logger's `service` and the `<name> listening` line. */
  name: string;
  schema: S;
  /** The service's package.json, for its version: `new URL('../package.json', import.meta.url)`. */
  packageJson: URL;
  /** Where to listen, from the config (each service has its own `<NAME>_HOST`/`<NAME>_PORT`). */
  address: (config: z.infer<S>) => { host: string; port: number };
  start: (config: z.infer<S>, context: ServiceContext) => StartedService | Promise<StartedService>;
}

export interface RunningService<C> {
  config: C;
  logger: Logger;
  server: Server;
  shutdown: Shutdown;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * A service's whole main: the config (a bad value → one line on stderr, exit 1), the JSON logger, the HTTP server
 * and its graceful shutdown on SIGTERM/SIGINT (stop accepting, drain, the service's closers in order, flush
 * telemetry, exit), then `start` builds the app, its background work starts, and the server listens.
 */
export async function runService<S extends z.ZodType<BaseServiceConfig>>(
  options: RunServiceOptions<S>,
): Promise<RunningService<z.infer<S>>> {
  const config = loadConfig(options.schema);
  const { version } = JSON.parse(readFileSync(options.packageJson, 'utf8')) as { version: string };
  const logger = createLogger({ service: options.name, level: config.LOG_LEVEL });
  const server = createServer();
  const shutdown = createShutdown({
    server,
    logger,
    drainTimeoutMs: config.SHUTDOWN_DRAIN_MS,
    flushTelemetry: async () => currentTelemetry()?.shutdown(),
  });
  // Before the shutdown's own handlers, so a service's onSignal runs first on the same signal; installed before
  // start, so a signal while the service is being built still shuts it down.
  const built: { service?: StartedService } = {};
  for (const signal of SIGNALS) process.once(signal, () => built.service?.onSignal?.());
  shutdown.installSignalHandlers(SIGNALS);

  const service = await options.start(config, { version, logger, isShuttingDown: shutdown.isShuttingDown });
  built.service = service;
  for (const closer of service.closers ?? []) shutdown.register(closer);
  service.run?.();
  server.on('request', service.app);
  const { host, port } = options.address(config);
  // A port that cannot be bound is a start-up failure like bad configuration: one readable line on stderr, the
  // background work that already started is closed in order, exit code 1.
  const onListenError = (error: NodeJS.ErrnoException) => {
    process.stderr.write(`${listenErrorLine(options.name, host, port, error)}\n`);
    void shutdown.run('listen failed').then(() => process.exit(1));
  };
  server.once('error', onListenError);
  server.listen(port, host, () => {
    server.off('error', onListenError);
    logger.info(`${options.name} listening`, { host, port, version, ...service.listening });
    service.onListening?.();
  });
  return { config, logger, server, shutdown };
}

const LISTEN_CAUSES: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (a port below 1024 needs a privilege the container does not have)',
  EADDRNOTAVAIL: 'no interface of this host has that address',
};

/** The line printed when the server cannot bind its address. */
function listenErrorLine(name: string, host: string, port: number, error: NodeJS.ErrnoException): string {
  const cause = (error.code !== undefined && LISTEN_CAUSES[error.code]) || error.message;
  return `listen error: ${name} cannot listen on ${host}:${port}: ${cause}${error.code ? ` (${error.code})` : ''}`;
}
