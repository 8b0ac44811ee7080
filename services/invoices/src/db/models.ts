import { DataTypes, type Model, type ModelStatic, type Sequelize } from 'sequelize';

export interface InvoiceRow {
  id: string;
  number: string;
  orderId: number;
  eventId: string;
  customer: string;
  currency: string;
  subtotalCents: number;
  taxRate: string;
  taxCents: number;
  totalCents: number;
  orderedAt: Date;
  dueAt: Date;
  createdAt: Date;
  /** Present when loaded with `include: 'lines'`. */
  lines?: InvoiceLineRow[];
}

export interface InvoiceLineRow {
  id: string;
  invoiceId: string;
  productId: number;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
}

export interface ParkedMessageRow {
  id: string;
  stream: string;
  streamSeq: string;
  subject: string;
  reason: string;
  error: string;
  deliveries: number;
  payload: string;
  headers: Record<string, string>;
  parkedAt: Date;
}

type Creation<T, Optional extends keyof T> = Omit<T, Optional> & Partial<Pick<T, Optional>>;

export interface Models {
  Invoice: ModelStatic<Model<InvoiceRow>>;
  InvoiceLine: ModelStatic<Model<InvoiceLineRow, Creation<InvoiceLineRow, 'id'>>>;
  ParkedMessage: ModelStatic<Model<ParkedMessageRow>>;
}

/** bigint columns come back from pg as strings; amounts here stay far below 2^53. */
const bigintNumber = (field: string) => ({
  type: DataTypes.BIGINT,
  allowNull: false,
  get(this: Model) {
    return Number(this.getDataValue(field));
  },
});

/** Models are defined per Sequelize instance (not as global classes) so tests can run several side by side. */
export function defineModels(sequelize: Sequelize): Models {
  const Invoice = sequelize.define(
    'Invoice',
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      number: { type: DataTypes.STRING(32), allowNull: false },
      orderId: { type: DataTypes.INTEGER, allowNull: false },
      eventId: { type: DataTypes.UUID, allowNull: false },
      customer: { type: DataTypes.STRING(200), allowNull: false },
      currency: { type: DataTypes.CHAR(3), allowNull: false },
      subtotalCents: bigintNumber('subtotalCents'),
      taxRate: { type: DataTypes.DECIMAL(5, 4), allowNull: false },
      taxCents: bigintNumber('taxCents'),
      totalCents: bigintNumber('totalCents'),
      orderedAt: { type: DataTypes.DATE, allowNull: false },
      dueAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { underscored: true, timestamps: true, updatedAt: false, tableName: 'invoices' },
  ) as Models['Invoice'];
  const InvoiceLine = sequelize.define(
    'InvoiceLine',
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      invoiceId: { type: DataTypes.BIGINT, allowNull: false },
      productId: { type: DataTypes.INTEGER, allowNull: false },
      quantity: { type: DataTypes.INTEGER, allowNull: false },
      unitPriceCents: bigintNumber('unitPriceCents'),
      lineTotalCents: bigintNumber('lineTotalCents'),
    },
    { underscored: true, timestamps: false, tableName: 'invoice_lines' },
  ) as Models['InvoiceLine'];
  const ParkedMessage = sequelize.define(
    'ParkedMessage',
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      stream: { type: DataTypes.STRING(64), allowNull: false },
      streamSeq: { type: DataTypes.BIGINT, allowNull: false },
      subject: { type: DataTypes.STRING(200), allowNull: false },
      reason: { type: DataTypes.STRING(32), allowNull: false },
      error: { type: DataTypes.TEXT, allowNull: false },
      deliveries: { type: DataTypes.INTEGER, allowNull: false },
      payload: { type: DataTypes.TEXT, allowNull: false },
      headers: { type: DataTypes.JSONB, allowNull: false },
      parkedAt: { type: DataTypes.DATE, allowNull: false },
    },
    { underscored: true, timestamps: false, tableName: 'parked_messages' },
  ) as Models['ParkedMessage'];
  Invoice.hasMany(InvoiceLine, { as: 'lines', foreignKey: 'invoiceId' });
  return { Invoice, InvoiceLine, ParkedMessage };
}
