export { postgresBinDir, startPostgres, type PostgresOptions, type PostgresServer } from './postgres.js';
export { startNats, type NatsOptions, type NatsServer } from './nats.js';
export {
  startNatsCluster,
  type NatsCluster,
  type NatsClusterNode,
  type NatsClusterOptions,
} from './nats-cluster.js';
export {
  SERVICE_NODE_FLAGS,
  startServiceProcess,
  type ServiceProcess,
  type ServiceProcessOptions,
} from './service-process.js';
