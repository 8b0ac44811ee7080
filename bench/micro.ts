// Two small costs that bench/analysis.md quotes, each timed in a loop in one process (a diagnostic, not part of
// `make bench`):
// 1. the database metrics' statement classification on catalog's batch order write (its WRITE_ORDERS statement,
//    read from services/catalog/src/services/orders.ts): `classifySql` on every call against the `sqlClassifier`
//    the services use, which classifies each statement text once;
// 2. running a response's listeners in the request's trace context, per response: no binding, the OpenTelemetry
//    API's `context.bind` (what `requestSpan()` uses) and, for comparison, wrapping the response's `emit` once.
//    Node's and the span's own listeners are added before the binding, the RED middleware's two after it, and
//    the events are emitted from outside the context, under the services' AsyncLocalStorage context manager.
// Usage: node bench/micro.ts [--rounds R]   (after `make build`)
import { classifySql, sqlClassifier } from '@obsdemo/telemetry';
import { ROOT_CONTEXT, context, createContextKey, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { readFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { describeLoad, loadBefore } from './machine.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds takes a positive integer');

/** µs per call of `fn`, the median of ROUNDS rounds of `calls` calls, in alternating order with the others. */
function timeAll(calls: number, fns: Record<string, () => void>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  const names = Object.keys(fns);
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const fn = fns[name]!;
      const started = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) fn();
      samples[name]!.push(Number(process.hrtime.bigint() - started) / 1000 / calls);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([k, xs]) => [k, [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!]),
  );
}

console.log(describeLoad(loadBefore()), `Node ${process.version}`);

const source = readFileSync(new URL('../services/catalog/src/services/orders.ts', import.meta.url), 'utf8');
const writeOrders = /const WRITE_ORDERS = `([^`]+)`/.exec(source)?.[1];
if (writeOrders === undefined)
  throw new Error('WRITE_ORDERS not found in services/catalog/src/services/orders.ts');
const classify = sqlClassifier();
const expected = classifySql(writeOrders);
if (classify(writeOrders).table !== expected.table)
  throw new Error('sqlClassifier disagrees with classifySql');
const sql = timeAll(20_000, {
  classifySql: () => classifySql(writeOrders),
  sqlClassifier: () => classify(writeOrders),
});
console.log(
  `statement classification of catalog's batch write (${writeOrders.length} characters, ${expected.operation} ${expected.table}):`,
);
for (const [name, us] of Object.entries(sql))
  console.log(`  ${name.padEnd(14)} ${us.toFixed(2)} µs per call`);

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const KEY = createContextKey('bench');
const CTX = ROOT_CONTEXT.setValue(KEY, true);
let seen = 0;
let calls = 0;
const before = () => {};
const after = () => {
  calls++;
  if (context.active().getValue(KEY) === true) seen++;
};
const response = (bind?: (ctx: Context, res: ServerResponse) => void) => () => {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  res.on('finish', before);
  res.once('finish', before);
  res.once('close', before);
  bind?.(CTX, res);
  res.once('finish', after);
  res.once('close', after);
  res.emit('prefinish');
  res.emit('finish');
  res.emit('close');
};
const ways = {
  none: response(),
  'context.bind': response((ctx, res) => void context.bind(ctx, res)),
  'emit wrapper': response((ctx, res) => {
    const emit = res.emit;
    res.emit = function (this: ServerResponse, event: string | symbol, ...args: unknown[]): boolean {
      return context.with(ctx, emit, this, event, ...args);
    };
  }),
};
// Each binding must do its job, and the setup must emit from outside the context for that to mean anything.
for (const [name, fn] of Object.entries(ways)) {
  seen = calls = 0;
  fn();
  if (seen !== (name === 'none' ? 0 : calls))
    throw new Error(`${name}: ${seen} of ${calls} listener calls saw the context`);
}
const listeners = timeAll(50_000, ways);
console.log('a response with three listeners added before the binding and two after it:');
for (const [name, us] of Object.entries(listeners))
  console.log(`  ${name.padEnd(14)} ${us.toFixed(2)} µs per response`);
