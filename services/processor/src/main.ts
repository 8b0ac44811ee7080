import { createLogger, currentTelemetry } from '@obsdemo/telemetry';
import { createShutdown, loadConfig } from '@obsdemo/service-kit';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ProcessorConfigSchema } from './config.js';
import { buildProcessor } from './wiring.js';

const config = loadConfig(ProcessorConfigSchema);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const logger = createLogger({ service: 'processor', level: config.LOG_LEVEL });
const server = createServer();
const shutdown = createShutdown({
  server,
  logger,
  drainTimeoutMs: config.SHUTDOWN_DRAIN_MS,
  flushTelemetry: async () => currentTelemetry()?.shutdown(),
});
shutdown.installSignalHandlers();

const processor = await buildProcessor(config, { version, logger, isShuttingDown: shutdown.isShuttingDown });
// Running jobs finish (or are handed back to the queue) before the pool they write to closes.
shutdown.register({ name: 'job-worker', close: () => processor.worker.stop() });
shutdown.register({ name: 'postgres-pool', close: () => processor.db.close() });
processor.worker.start();
server.on('request', processor.app);
server.listen(config.PROCESSOR_PORT, config.PROCESSOR_HOST, () => {
  logger.info('processor listening', { host: config.PROCESSOR_HOST, port: config.PROCESSOR_PORT, version });
});
