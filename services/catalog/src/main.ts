import { runService } from '@obsdemo/service-kit';
import { CatalogConfigSchema } from './config.js';
import { buildCatalog } from './wiring.js';

await runService({
  name: 'catalog',
  schema: CatalogConfigSchema,
  packageJson: new URL('../package.json', import.meta.url),
  address: (config) => ({ host: config.CATALOG_HOST, port: config.CATALOG_PORT }),
  start: async (config, context) => {
    const catalog = await buildCatalog(config, context);
    return {
      app: catalog.app,
      closers: [
        // The orders already taken are written and answered before the relay and the pool close.
        { name: 'order-writes', close: () => catalog.orders.close() },
        { name: 'outbox-relay', close: () => catalog.relay.stop() },
        { name: 'cache-invalidation', close: () => catalog.invalidations.stop() },
        { name: 'postgres-pool', close: () => catalog.db.close() },
      ],
      run: () => {
        catalog.relay.start();
        catalog.invalidations.start();
      },
    };
  },
});
