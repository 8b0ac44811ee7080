// The baseline for the catalog benchmark: a bare Express handler doing the same primary-key query with pg and
// answering the same JSON, with no ORM, validation, metrics, logging or tracing. The gap between this and
// catalog is what the service's own layers cost.
// Usage: PORT=... DB_HOST=... DB_PORT=... DB_NAME=... DB_USER=... DB_PASSWORD=... node bench/baseline-server.ts
import express from 'express';
import pg from 'pg';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') {
    process.stderr.write(`config error: ${name} is required\n`);
    process.exit(1);
  }
  return value;
};

// Same pool size as catalog's default (DB_POOL_MAX 10), so both are limited by the same number of connections.
const pool = new pg.Pool({
  host: env('DB_HOST'),
  port: Number(env('DB_PORT')),
  database: env('DB_NAME'),
  user: env('DB_USER'),
  password: env('DB_PASSWORD'),
  max: 10,
});

interface ProductRow {
  id: number;
  sku: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  stock: number;
  created_at: Date;
}

const app = express();
app.get('/ready', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/products/:id', async (req, res) => {
  const id = Number(req.params.id);
  if (!Number.isInteger(id) || id < 1) {
    res.status(400).json({ error: 'bad_request', message: 'id must be a positive integer' });
    return;
  }
  const { rows } = await pool.query<ProductRow>(
    'SELECT id, sku, name, description, category, price_cents, stock, created_at FROM products WHERE id = $1',
    [id],
  );
  const row = rows[0];
  if (!row) {
    res.status(404).json({ error: 'not_found', message: `product ${id} not found` });
    return;
  }
  res.json({
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    price: row.price_cents / 100,
    stock: row.stock,
    createdAt: row.created_at.toISOString(),
  });
});

const server = app.listen(Number(env('PORT')), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  void pool.end();
});
