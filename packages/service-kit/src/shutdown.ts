import type { Server } from 'node:http';
import type { Logger } from '@obsdemo/telemetry';

export interface Closer {
  name: string;
  close: () => Promise<void>;
}

export interface ShutdownOptions {
  server: Server;
  logger: Logger;
  /** How long in-flight requests may take before their connections are cut. */
  drainTimeoutMs: number;
  /** Flushes telemetry last, after everything that may still emit spans has closed. */
  flushTelemetry?: () => Promise<void>;
  exit?: (code: number) => void;
}

export interface Shutdown {
  /** Closers run in registration order (e.g. consumers before the pool they write to). */
  register(closer: Closer): void;
  isShuttingDown(): boolean;
  run(reason: string): Promise<number>;
  installSignalHandlers(signals?: NodeJS.Signals[]): void;
}

function closeServer(server: Server, drainTimeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    // Idle keep-alive sockets would otherwise hold close() open until their own timeout.
    server.closeIdleConnections();
  });
}

/** SIGTERM/SIGINT → stop accepting, drain, run closers in order, flush telemetry, exit. */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const closers: Closer[] = [];
  let running: Promise<number> | undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));

  async function sequence(reason: string): Promise<number> {
    const { logger } = options;
    logger.info('shutdown started', { reason });
    let code = 0;
    await closeServer(options.server, options.drainTimeoutMs);
    logger.info('http server drained');
    for (const closer of closers) {
      try {
        await closer.close();
        logger.info('closed', { component: closer.name });
      } catch (error) {
        code = 1;
        logger.error('close failed', { component: closer.name, err: error });
      }
    }
    try {
      await options.flushTelemetry?.();
    } catch (error) {
      code = 1;
      logger.error('telemetry flush failed', { err: error });
    }
    logger.info('shutdown complete', { exitCode: code });
    return code;
  }

  return {
    register(closer) {
      closers.push(closer);
    },
    isShuttingDown: () => running !== undefined,
    run(reason) {
      running ??= sequence(reason);
      return running;
    },
    installSignalHandlers(signals = ['SIGTERM', 'SIGINT']) {
      for (const signal of signals) {
        process.once(signal, () => {
          void this.run(signal).then(exit);
        });
      }
    },
  };
}
