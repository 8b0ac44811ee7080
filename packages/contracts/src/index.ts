export {
  ORDERS_STREAM,
  ORDERS_SUBJECTS,
  ORDER_CREATED_SUBJECT,
  OrderItemV1,
  OrderCreatedV1,
  OrderCreated,
  EventDecodeError,
  encodeOrderCreated,
  decodeOrderCreated,
} from './orders.js';
export {
  STREAM_REPLICAS,
  ORDERS_DUPLICATE_WINDOW_MS,
  natsStreamReplicasEnv,
  ordersStreamConfig,
  ensureOrdersStream,
  natsServers,
  type StreamReplicas,
  type OrdersStreamConfig,
  type StreamAdmin,
} from './orders-stream.js';
export {
  DEMO_SERVICE_GRAPH,
  formatEdge,
  serviceGraphQuery,
  type ConnectionType,
  type ServiceGraphEdge,
} from './service-graph.js';
