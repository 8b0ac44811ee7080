import { parseRequest } from '@obsdemo/service-kit';
import { Router, type RequestHandler } from 'express';
import { IdParams, NewOrder, OrderListQuery } from '../schemas.js';
import type { OrderService } from '../services/orders.js';

/** `jsonBody` runs after routing so even malformed bodies are counted under their route template. */
export function orderRoutes(orders: OrderService, jsonBody: RequestHandler): Router {
  const router = Router();
  router.get('/orders', async (req, res) => {
    res.json(await orders.list(parseRequest(OrderListQuery, req.query, 'query')));
  });
  router.get('/orders/:id', async (req, res) => {
    res.json(await orders.get(parseRequest(IdParams, req.params, 'params').id));
  });
  router.post('/orders', jsonBody, async (req, res) => {
    const order = await orders.create(parseRequest(NewOrder, req.body, 'body'));
    res.status(201).location(`/orders/${order.id}`).json(order);
  });
  return router;
}
