export { postgresBinDir, startPostgres, type PostgresOptions, type PostgresServer } from './postgres.js';
export { startNats, type NatsOptions, type NatsServer } from './nats.js';
