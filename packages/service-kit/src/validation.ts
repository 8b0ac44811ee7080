import type { z } from 'zod';
import { ValidationError } from './errors.js';

export interface ValidationIssue {
  path: string;
  message: string;
}

export function describeIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Parses one part of a request; anything that does not match becomes a 400 with every issue listed. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'params' | 'headers',
): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new ValidationError(`invalid request ${where}`, describeIssues(result.error));
}
