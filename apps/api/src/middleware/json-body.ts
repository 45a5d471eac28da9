import { ApiError } from '@sluice/core';
import type { Context } from 'hono';
import type { z } from 'zod';

/**
 * Reads a JSON body and validates it with `schema`, answering 415 for another content type,
 * 400 for invalid JSON and 400 naming the first bad field in `param` for invalid content.
 * The body size limit runs before this, in app.ts.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(
      'unsupported_media_type',
      `Content-Type must be application/json (got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'}).`,
    );
  }
  const raw = await c.req.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    const detail = err instanceof Error ? err.message : 'parse error';
    throw new ApiError(
      'invalid_json',
      `We could not parse the JSON body of your request (${detail}). Send valid JSON.`,
    );
  }
  return validate(schema, parsed);
}

/** Validates a value, turning the first zod issue into a 400 that names the field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ApiError('invalid_request', 'Invalid request body.');
  let path = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path = path ? `${path}.${key}` : key;
    message = `Unrecognized request argument supplied: ${key}`;
  }
  const where = path ? `Invalid value for '${path}': ` : 'Invalid request body: ';
  throw new ApiError('invalid_request', `${where}${message}`, path || null);
}
