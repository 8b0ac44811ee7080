// What it costs to run a response's listeners in the request's trace context, per response: no binding, the
// OpenTelemetry API's `context.bind(ctx, emitter)`, and service-kit's `bindEmitter(ctx, emitter)` (what
// `requestSpan()` uses). Each response is a real http.ServerResponse carrying five listeners, as one of catalog's
// does (two from the SERVER span, two from the RED metrics, one from a handler), under the context manager the
// services' tracing preload installs (AsyncLocalStorage). A diagnostic, not part of `make bench`; it also checks
// that each binding does its job: every listener must see the context.
// Usage: node bench/emitter-context.ts [--responses N] [--rounds R]   (after `make build`)
import { bindEmitter } from '@obsdemo/service-kit';
import { ROOT_CONTEXT, context, createContextKey, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { describeLoad, loadBefore } from './machine.ts';

const { values } = parseArgs({
  options: { responses: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '5' } },
});
const RESPONSES = Number(values.responses);
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(RESPONSES) || RESPONSES < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error('--responses and --rounds take positive integers');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const KEY = createContextKey('bench');
const CTX = ROOT_CONTEXT.setValue(KEY, true);

const ways: Record<string, ((ctx: Context, res: ServerResponse) => void) | undefined> = {
  none: undefined,
  'context.bind': (ctx, res) => void context.bind(ctx, res),
  bindEmitter: (ctx, res) => void bindEmitter(ctx, res),
};

/** µs per response, and the share of listener calls that saw the context. */
function measure(bind: ((ctx: Context, res: ServerResponse) => void) | undefined): {
  us: number;
  inContext: number;
} {
  let calls = 0;
  let inContext = 0;
  const listener = () => {
    calls++;
    if (context.active().getValue(KEY) === true) inContext++;
  };
  const started = process.hrtime.bigint();
  for (let i = 0; i < RESPONSES; i++) {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    bind?.(CTX, res);
    res.once('finish', listener);
    res.once('close', listener);
    res.once('finish', listener);
    res.once('close', listener);
    res.on('finish', listener);
    // Emitted from outside the context, as a socket's write callback can be.
    res.emit('prefinish');
    res.emit('finish');
    res.emit('close');
  }
  const us = Number(process.hrtime.bigint() - started) / 1000 / RESPONSES;
  return { us, inContext: inContext / calls };
}

console.log(describeLoad(loadBefore()));
const results = new Map<string, number[]>(Object.keys(ways).map((w) => [w, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, bind] of Object.entries(ways)) {
    const { us, inContext } = measure(bind);
    if (bind !== undefined && inContext !== 1)
      throw new Error(
        `${name}: only ${(inContext * 100).toFixed(1)} % of the listener calls saw the context`,
      );
    if (bind === undefined && inContext !== 0)
      throw new Error(
        'listeners saw the context with no binding: this measurement does not emit from outside it',
      );
    results.get(name)!.push(us);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// The first round warms the code up; the median of the rounds is what is reported.
for (const [name, us] of results)
  console.log(
    `${name.padEnd(13)} ${median(us).toFixed(2)} µs per response (median of ${ROUNDS} rounds of ${RESPONSES}: ${us.map((u) => u.toFixed(2)).join(', ')})`,
  );
