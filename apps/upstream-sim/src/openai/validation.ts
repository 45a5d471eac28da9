import type { z } from 'zod';
import { type OpenAIErrorBody, openAIError } from './errors.js';

export type Parsed<T> = { ok: true; data: T } | { ok: false; error: OpenAIErrorBody };

/** Parses a raw request body against `schema`, answering failures the way OpenAI words them. */
export function parseRequestBody<T>(raw: string, schema: z.ZodType<T>): Parsed<T> {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return {
      ok: false,
      error: openAIError(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
          'library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
        'invalid_request_error',
      ),
    };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      error: openAIError('The request body must be a JSON object.', 'invalid_request_error'),
    };
  }
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, data: result.data };

  const issue = result.error.issues[0];
  const path = formatPath(issue?.path ?? []);
  const missing = valueAt(body, issue?.path ?? []) === undefined;
  const message = missing
    ? `Missing required parameter: '${path}'.`
    : `Invalid value for '${path}': ${issue?.message ?? 'invalid input'}.`;
  return { ok: false, error: openAIError(message, 'invalid_request_error', null, path || null) };
}

/** `['messages', 0, 'role']` → `messages[0].role`, as OpenAI names parameters. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
