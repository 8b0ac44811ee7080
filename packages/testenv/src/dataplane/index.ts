export { postgresBinDir, startPostgres, type PostgresOptions, type PostgresServer } from './postgres.js';
export { startNats, type NatsOptions, type NatsServer } from './nats.js';
export { startServiceProcess, type ServiceProcess, type ServiceProcessOptions } from './service-process.js';
