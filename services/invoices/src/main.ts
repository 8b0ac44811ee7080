import { runService } from '@obsdemo/service-kit';
import { InvoicesConfigSchema } from './config.js';
import { buildInvoices } from './wiring.js';

await runService({
  name: 'invoices',
  schema: InvoicesConfigSchema,
  packageJson: new URL('../package.json', import.meta.url),
  address: (config) => ({ host: config.INVOICES_HOST, port: config.INVOICES_PORT }),
  start: async (config, context) => {
    const invoices = await buildInvoices(config, context);
    return {
      app: invoices.app,
      // The consumer stops before the pool closes: the message in hand still commits and acks.
      closers: [
        { name: 'orders-consumer', close: () => invoices.consumer.stop() },
        { name: 'postgres-pool', close: () => invoices.db.close() },
      ],
      run: () => invoices.consumer.start(),
    };
  },
});
