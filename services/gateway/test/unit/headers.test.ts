import { describe, it, expect } from '@jest/globals';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js';
import { acceptRequestId } from '../../src/http/request-id.js';

describe('forwarded headers', () => {
  const ctx = { requestId: 'req-1', clientIp: '10.0.0.9', protocol: 'http', host: 'shop.example' };

  it('drops hop-by-hop fields, those named in Connection, and the host; keeps end-to-end ones', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'shop.example',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic abc',
        authorization: 'Bearer t',
        'content-type': 'application/json',
        traceparent: '00-aa-bb-01',
      },
      ctx,
    );
    expect(out).toEqual({
      authorization: 'Bearer t',
      'content-type': 'application/json',
      traceparent: '00-aa-bb-01',
      'x-forwarded-for': '10.0.0.9',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'shop.example',
      'x-request-id': 'req-1',
    });
  });

  it('appends to an existing X-Forwarded-For and replaces the request id with the gateway one', () => {
    const out = upstreamRequestHeaders({ 'x-forwarded-for': '1.2.3.4', 'x-request-id': 'evil' }, ctx);
    expect(out['x-forwarded-for']).toBe('1.2.3.4, 10.0.0.9');
    expect(out['x-request-id']).toBe('req-1');
  });

  it('strips framing from upstream responses', () => {
    expect(
      clientResponseHeaders({
        'content-type': 'application/json',
        'content-length': '12',
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
      }),
    ).toEqual({ 'content-type': 'application/json', 'content-length': '12' });
  });

  it('keeps short plain request ids from clients and rejects anything else', () => {
    expect(acceptRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(acceptRequestId('a'.repeat(129))).toBeUndefined();
    expect(acceptRequestId('bad\nline')).toBeUndefined();
    expect(acceptRequestId(['a', 'b'])).toBeUndefined();
    expect(acceptRequestId(undefined)).toBeUndefined();
  });
});
