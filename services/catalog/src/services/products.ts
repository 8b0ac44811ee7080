import { ConflictError, NotFoundError } from '@obsdemo/service-kit';
import { Op, QueryTypes, UniqueConstraintError } from 'sequelize';
import type { ProductChange } from '../cache/read-cache.js';
import type { Models, ProductRow } from '../db/models.js';
import { fromCents, toCents } from '../domain/pricing.js';
import type { NewProduct, Product, ProductUpdate } from '../schemas.js';

export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    price: fromCents(row.priceCents),
    stock: row.stock,
    createdAt: row.createdAt.toISOString(),
  };
}

const plain = (m: { get(options: { plain: true }): ProductRow }): ProductRow => m.get({ plain: true });

/** Called after a product change is committed (local cache eviction and the cross-replica invalidation). */
export type ProductsChanged = (productIds: readonly number[], change: ProductChange) => void;

export function productService(
  models: Pick<Models, 'Product'>,
  onChanged: ProductsChanged = () => undefined,
) {
  const { Product } = models;
  const { sequelize } = Product;
  if (!sequelize) throw new Error('the Product model is not defined on a Sequelize instance');
  // The hot read, by primary key: its SELECT is built once from the model's attributes (so it follows the model),
  // and each call runs it through Sequelize with a bind parameter, returning a plain row: no per-call query
  // building, option cloning or model instance, which cost more than the query itself (docs/benchmarks.md).
  const byIdSql = `SELECT ${Object.entries(Product.getAttributes())
    .map(([name, a]) => `"${a.field ?? name}" AS "${name}"`)
    .join(', ')} FROM "${String(Product.getTableName())}" WHERE "id" = $1`;
  return {
    async list(query: { page: number; pageSize: number; category?: string | undefined }) {
      const { rows, count } = await Product.findAndCountAll({
        where: query.category === undefined ? {} : { category: query.category },
        order: [['id', 'ASC']],
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
      });
      return {
        items: rows.map((r) => toProduct(plain(r))),
        page: query.page,
        pageSize: query.pageSize,
        total: count,
      };
    },

    async get(id: number): Promise<Product> {
      const row = await sequelize.query<ProductRow>(byIdSql, {
        bind: [id],
        type: QueryTypes.SELECT,
        plain: true,
      });
      if (!row) throw new NotFoundError(`product ${id} not found`);
      return toProduct(row);
    },

    /** The given products in one query, in the order asked for; ids that do not exist are left out. */
    async getMany(ids: readonly number[]): Promise<Product[]> {
      if (ids.length === 0) return [];
      const rows = await Product.findAll({ where: { id: { [Op.in]: [...ids] } } });
      const byId = new Map(rows.map((r) => toProduct(plain(r))).map((p) => [p.id, p]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    },

    async create(input: NewProduct): Promise<Product> {
      try {
        const row = await Product.create({
          sku: input.sku,
          name: input.name,
          description: input.description,
          category: input.category,
          priceCents: toCents(input.price),
          stock: input.stock,
        });
        const product = toProduct(plain(row));
        // A new product joins pages and shifts the ones after it.
        onChanged([product.id], { lists: true });
        return product;
      } catch (error) {
        if (error instanceof UniqueConstraintError)
          throw new ConflictError(`sku ${input.sku} already exists`);
        throw error;
      }
    },

    async update(id: number, input: ProductUpdate): Promise<Product> {
      const [count, rows] = await Product.update(
        {
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(input.category === undefined ? {} : { category: input.category }),
          ...(input.price === undefined ? {} : { priceCents: toCents(input.price) }),
          ...(input.stock === undefined ? {} : { stock: input.stock }),
        },
        { where: { id }, returning: true },
      );
      const [row] = rows;
      if (count === 0 || !row) throw new NotFoundError(`product ${id} not found`);
      // Only a category change moves a product between pages; the rest is read from its own entry.
      onChanged([id], { lists: input.category !== undefined });
      return toProduct(plain(row));
    },
  };
}

export type ProductService = ReturnType<typeof productService>;
