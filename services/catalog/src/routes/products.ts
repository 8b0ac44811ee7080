import { parseRequest } from '@obsdemo/service-kit';
import { Router, type RequestHandler } from 'express';
import { IdParams, NewProduct, ProductListQuery, ProductUpdate } from '../schemas.js';
import type { ProductService } from '../services/products.js';

/** `jsonBody` runs after routing so even malformed bodies are counted under their route template. */
export function productRoutes(products: ProductService, jsonBody: RequestHandler): Router {
  const router = Router();
  router.get('/products', async (req, res) => {
    res.json(await products.list(parseRequest(ProductListQuery, req.query, 'query')));
  });
  router.get('/products/:id', async (req, res) => {
    res.json(await products.get(parseRequest(IdParams, req.params, 'params').id));
  });
  router.post('/products', jsonBody, async (req, res) => {
    res.status(201).json(await products.create(parseRequest(NewProduct, req.body, 'body')));
  });
  router.patch('/products/:id', jsonBody, async (req, res) => {
    const { id } = parseRequest(IdParams, req.params, 'params');
    res.json(await products.update(id, parseRequest(ProductUpdate, req.body, 'body')));
  });
  return router;
}
