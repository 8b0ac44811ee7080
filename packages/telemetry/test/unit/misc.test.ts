import { describe, it, expect } from '@jest/globals';
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { classifySql, sqlClassifier } from '../../src/metrics.js';
import { createSampler } from '../../src/tracing.js';

describe('classifySql', () => {
  it.each([
    ['SELECT "id", "name" FROM "products" AS "Product" WHERE id = $1', 'select', 'products'],
    ['INSERT INTO "orders" ("id") VALUES (DEFAULT) RETURNING *', 'insert', 'orders'],
    ['UPDATE "outbox" SET "sent_at"=$1 WHERE "id" = $2', 'update', 'outbox'],
    ['DELETE FROM public.order_items WHERE id = 1', 'delete', 'order_items'],
    ['START TRANSACTION;', 'start', 'none'],
    ['COMMIT;', 'commit', 'none'],
    // A WITH statement is classified by the statement its CTEs lead to.
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'select', 'x'],
    [
      "WITH next AS (SELECT nextval('s')), lines (a, b) AS MATERIALIZED (SELECT * FROM unnest($1::int[]) WITH ORDINALITY) INSERT INTO \"outbox\" (msg_id) SELECT ')(' FROM lines",
      'insert',
      'outbox',
    ],
    [
      'WITH RECURSIVE t AS (SELECT 1 UNION SELECT n + 1 FROM t) UPDATE products SET stock = 0 WHERE id IN (SELECT n FROM t)',
      'update',
      'products',
    ],
    [
      'WITH gone AS (DELETE FROM a RETURNING id) DELETE FROM b WHERE id IN (SELECT id FROM gone)',
      'delete',
      'b',
    ],
    ['with unclosed as (select 1', 'other', 'none'],
    // A query returning what a data-modifying CTE wrote is that write.
    [
      'WITH invoice AS (INSERT INTO invoices (n) SELECT * FROM unnest($1::text[]) RETURNING id), lines AS (INSERT INTO invoice_lines (id) SELECT id FROM invoice) SELECT id FROM invoice',
      'insert',
      'invoices',
    ],
  ])('%s → %s/%s', (sql, operation, table) => {
    expect(classifySql(sql)).toEqual({ operation, table });
  });
});

describe('sqlClassifier', () => {
  const statements = [
    'SELECT "id" FROM "products" WHERE "id" = $1',
    'WITH i AS (INSERT INTO invoices (n) VALUES ($1) RETURNING id) SELECT id FROM i',
    'UPDATE jobs SET state = $1',
  ];

  it('answers as classifySql, the same text from its memory', () => {
    const classify = sqlClassifier();
    for (const sql of statements) expect(classify(sql)).toEqual(classifySql(sql));
    const first = classify(statements[0]!);
    expect(classify(statements[0]!)).toBe(first);
  });

  it('starts over past its limit, and still answers right', () => {
    const classify = sqlClassifier(2);
    const first = classify(statements[0]!);
    classify(statements[1]!);
    expect(classify(statements[0]!)).toBe(first);
    // A third text: the memory was full, so it starts over and the first text is read again.
    expect(classify(statements[2]!)).toEqual(classifySql(statements[2]!));
    const again = classify(statements[0]!);
    expect(again).not.toBe(first);
    expect(again).toEqual(classifySql(statements[0]!));
  });
});

describe('createSampler', () => {
  const sample = (ratio: number, parentSampled?: boolean) => {
    const parent =
      parentSampled === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceFlags: parentSampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
            isRemote: true,
          });
    return createSampler(ratio).shouldSample(
      parent,
      'ffffffffffffffffffffffffffffffff',
      'x',
      SpanKind.SERVER,
      {},
      [],
    ).decision;
  };

  it('follows the parent decision regardless of the ratio', () => {
    expect(sample(0, true)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(sample(1, false)).toBe(SamplingDecision.NOT_RECORD);
  });

  it('applies the ratio to root spans', () => {
    expect(sample(1)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(sample(0)).toBe(SamplingDecision.NOT_RECORD);
  });
});
