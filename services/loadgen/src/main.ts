import { createLogger, currentTelemetry } from '@obsdemo/telemetry';
import { createShutdown, loadConfig } from '@obsdemo/service-kit';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { LoadgenConfigSchema } from './config.js';
import { formatMix } from './mix.js';
import { buildLoadgen } from './wiring.js';

const config = loadConfig(LoadgenConfigSchema);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const logger = createLogger({ service: 'loadgen', level: config.LOG_LEVEL });
const server = createServer();
const shutdown = createShutdown({
  server,
  logger,
  drainTimeoutMs: config.SHUTDOWN_DRAIN_MS,
  flushTelemetry: async () => currentTelemetry()?.shutdown(),
});

const loadgen = buildLoadgen(config, { version, logger, isShuttingDown: shutdown.isShuttingDown });
shutdown.register({
  name: 'scheduler',
  close: async () => {
    const drained = await loadgen.scheduler.drain(config.SHUTDOWN_DRAIN_MS);
    if (!drained)
      logger.warn('requests still in flight at the drain deadline', { inFlight: loadgen.scheduler.inFlight });
  },
});
// Scheduling stops on the signal itself, before the HTTP server drains, so no new request starts.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => loadgen.scheduler.stop());
shutdown.installSignalHandlers();

server.on('request', loadgen.app);
server.listen(config.LOADGEN_PORT, config.LOADGEN_HOST, () => {
  logger.info('loadgen listening', {
    host: config.LOADGEN_HOST,
    port: config.LOADGEN_PORT,
    version,
    target: config.LOADGEN_TARGET_URL,
    rps: config.LOADGEN_RPS,
    mix: formatMix(config.LOADGEN_MIX),
  });
  loadgen.scheduler.start();
});
