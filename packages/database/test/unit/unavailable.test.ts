import { describe, it, expect } from '@jest/globals';
import {
  ConnectionAcquireTimeoutError,
  ConnectionError,
  ConnectionRefusedError,
  DatabaseError,
  UniqueConstraintError,
} from 'sequelize';
import { POSTGRES_UNAVAILABLE, isDatabaseUnavailable } from '../../src/database.js';

/** A node-postgres error as Sequelize wraps it, with the SQLSTATE pg puts on `code`. */
function pgError(message: string, code?: string): DatabaseError {
  const parent = Object.assign(new Error(message), code === undefined ? {} : { code });
  return new DatabaseError(parent as Error & { sql: string });
}

describe('isDatabaseUnavailable', () => {
  it('is true for connection failures: refused, pool acquire timeout, and their base class', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new ConnectionRefusedError(refused))).toBe(true);
    expect(isDatabaseUnavailable(new ConnectionAcquireTimeoutError(new Error('timeout')))).toBe(true);
    expect(isDatabaseUnavailable(new ConnectionError(new Error('the database system is starting up')))).toBe(
      true,
    );
  });

  it('is true for a server going away under a query', () => {
    expect(
      isDatabaseUnavailable(pgError('terminating connection due to administrator command', '57P01')),
    ).toBe(true);
    expect(isDatabaseUnavailable(pgError('the database system is shutting down', '57P03'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('connection failure', '08006'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('sorry, too many clients already', '53300'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('Connection terminated unexpectedly'))).toBe(true);
  });

  it('is false for errors in the query itself, and for anything that is not a database error', () => {
    expect(isDatabaseUnavailable(pgError('relation "nope" does not exist', '42P01'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('canceling statement due to statement timeout', '57014'))).toBe(
      false,
    );
    expect(isDatabaseUnavailable(new UniqueConstraintError({}))).toBe(false);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });

  it('is what POSTGRES_UNAVAILABLE matches, under the dependency name the 503 answer shows', () => {
    expect(POSTGRES_UNAVAILABLE.dependency).toBe('postgres');
    expect(POSTGRES_UNAVAILABLE.matches(new ConnectionError(new Error('x')))).toBe(true);
    expect(POSTGRES_UNAVAILABLE.matches(pgError('syntax error', '42601'))).toBe(false);
  });
});
