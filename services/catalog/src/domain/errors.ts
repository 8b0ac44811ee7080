import { HttpError } from '@obsdemo/service-kit';

export class UnknownProductError extends HttpError {
  constructor(readonly productIds: number[]) {
    super(422, 'unknown_product', `unknown product id(s): ${productIds.join(', ')}`, { productIds });
  }
}

export class InsufficientStockError extends HttpError {
  constructor(readonly shortages: { productId: number; requested: number; available: number }[]) {
    super(409, 'insufficient_stock', 'not enough stock for some items', { shortages });
  }
}
