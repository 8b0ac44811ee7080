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
  DEMO_SERVICE_GRAPH,
  formatEdge,
  serviceGraphQuery,
  type ConnectionType,
  type ServiceGraphEdge,
} from './service-graph.js';
