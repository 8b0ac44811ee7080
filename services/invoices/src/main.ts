import { createLogger, currentTelemetry } from '@obsdemo/telemetry';
import { createShutdown, loadConfig } from '@obsdemo/service-kit';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { InvoicesConfigSchema } from './config.js';
import { buildInvoices } from './wiring.js';

const config = loadConfig(InvoicesConfigSchema);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const logger = createLogger({ service: 'invoices', level: config.LOG_LEVEL });
const server = createServer();
const shutdown = createShutdown({
  server,
  logger,
  drainTimeoutMs: config.SHUTDOWN_DRAIN_MS,
  flushTelemetry: async () => currentTelemetry()?.shutdown(),
});
shutdown.installSignalHandlers();

const invoices = await buildInvoices(config, { version, logger, isShuttingDown: shutdown.isShuttingDown });
// The consumer stops before the pool closes: the message in hand still commits and acks.
shutdown.register({ name: 'orders-consumer', close: () => invoices.consumer.stop() });
shutdown.register({ name: 'postgres-pool', close: () => invoices.db.close() });
invoices.consumer.start();
server.on('request', invoices.app);
server.listen(config.INVOICES_PORT, config.INVOICES_HOST, () => {
  logger.info('invoices listening', { host: config.INVOICES_HOST, port: config.INVOICES_PORT, version });
});
