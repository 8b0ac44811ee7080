import { DataTypes, type Model, type ModelStatic, type Sequelize } from 'sequelize';

export interface ProductRow {
  id: number;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  stock: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderRow {
  id: number;
  customer: string;
  status: string;
  currency: string;
  totalCents: number;
  createdAt: Date;
  updatedAt: Date;
  /** Present when loaded with `include: 'items'`. */
  items?: OrderItemRow[];
}

export interface OrderItemRow {
  id: number;
  orderId: number;
  productId: number;
  quantity: number;
  unitPriceCents: number;
}

export interface OutboxRow {
  id: string;
  msgId: string;
  subject: string;
  payload: unknown;
  /** W3C trace headers of the request that wrote the row, so the relay's PRODUCER span joins that trace. */
  traceContext: Record<string, string>;
  createdAt: Date;
  sentAt: Date | null;
  attempts: number;
  lastError: string | null;
}

type Creation<T, Optional extends keyof T> = Omit<T, Optional> & Partial<Pick<T, Optional>>;

export interface Models {
  Product: ModelStatic<
    Model<ProductRow, Creation<ProductRow, 'id' | 'createdAt' | 'updatedAt' | 'description' | 'stock'>>
  >;
  Order: ModelStatic<Model<OrderRow, Creation<OrderRow, 'id' | 'createdAt' | 'updatedAt' | 'status'>>>;
  OrderItem: ModelStatic<Model<OrderItemRow, Creation<OrderItemRow, 'id'>>>;
  Outbox: ModelStatic<
    Model<OutboxRow, Creation<OutboxRow, 'id' | 'createdAt' | 'sentAt' | 'attempts' | 'lastError'>>
  >;
}

/** Models are defined per Sequelize instance (not as global classes) so tests can run several side by side. */
export function defineModels(sequelize: Sequelize): Models {
  const common = { underscored: true, timestamps: true } as const;
  const Product = sequelize.define(
    'Product',
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      sku: { type: DataTypes.STRING(32), allowNull: false, unique: true },
      name: { type: DataTypes.STRING(200), allowNull: false },
      description: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
      category: { type: DataTypes.STRING(64), allowNull: false },
      priceCents: { type: DataTypes.INTEGER, allowNull: false },
      stock: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { ...common, tableName: 'products' },
  ) as Models['Product'];
  const Order = sequelize.define(
    'Order',
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      customer: { type: DataTypes.STRING(200), allowNull: false },
      status: { type: DataTypes.STRING(32), allowNull: false, defaultValue: 'created' },
      currency: { type: DataTypes.CHAR(3), allowNull: false },
      totalCents: {
        type: DataTypes.BIGINT,
        allowNull: false,
        get(this: Model) {
          return Number(this.getDataValue('totalCents'));
        },
      },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { ...common, tableName: 'orders' },
  ) as Models['Order'];
  const OrderItem = sequelize.define(
    'OrderItem',
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      orderId: { type: DataTypes.INTEGER, allowNull: false },
      productId: { type: DataTypes.INTEGER, allowNull: false },
      quantity: { type: DataTypes.INTEGER, allowNull: false },
      unitPriceCents: { type: DataTypes.INTEGER, allowNull: false },
    },
    { underscored: true, timestamps: false, tableName: 'order_items' },
  ) as Models['OrderItem'];
  const Outbox = sequelize.define(
    'Outbox',
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      msgId: { type: DataTypes.STRING(200), allowNull: false, unique: true },
      subject: { type: DataTypes.STRING(200), allowNull: false },
      payload: { type: DataTypes.JSONB, allowNull: false },
      traceContext: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
      createdAt: DataTypes.DATE,
      sentAt: { type: DataTypes.DATE, allowNull: true },
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      lastError: { type: DataTypes.TEXT, allowNull: true },
    },
    { underscored: true, timestamps: true, updatedAt: false, tableName: 'outbox' },
  ) as Models['Outbox'];
  Order.hasMany(OrderItem, { as: 'items', foreignKey: 'orderId' });
  return { Product, Order, OrderItem, Outbox };
}
