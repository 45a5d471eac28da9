import type { Readable } from 'node:stream';
import {
  BATCH_MAX_LINES,
  type BatchEndpoint,
  type BatchError,
  chatCompletionRequestSchema,
  embeddingsRequestSchema,
} from '@sluice/core';
import { jsonlLines } from './lines.js';

/** Most errors reported for one file (OpenAI reports a sample too). */
const MAX_ERRORS = 100;

export type ValidationResult =
  | { ok: true; total: number; model: string }
  | { ok: false; errors: BatchError[] };

/**
 * Checks every line of a batch input file the way OpenAI reports it: each bad line with its number and a
 * code (`invalid_json_line`, `missing_required_parameter`, `invalid_method`, `url_mismatch`,
 * `duplicate_custom_id`, `model_mismatch`, `invalid_request` for a body the endpoint would refuse),
 * and file-level `empty_file` and `too_many_tasks`. Streams the file; keeps only the custom_ids.
 */
export async function validateBatchFile(
  stream: Readable,
  endpoint: BatchEndpoint,
): Promise<ValidationResult> {
  const errors: BatchError[] = [];
  const seen = new Set<string>();
  let model: string | null = null;
  let total = 0;
  const add = (e: BatchError) => {
    if (errors.length < MAX_ERRORS) errors.push(e);
  };
  const schema = endpoint === '/v1/embeddings' ? embeddingsRequestSchema : chatCompletionRequestSchema;
  for await (const { line, text } of jsonlLines(stream)) {
    total++;
    if (total > BATCH_MAX_LINES) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      add({
        code: 'invalid_json_line',
        line,
        message: 'This line is not parseable as valid JSON.',
        param: null,
      });
      continue;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      add({ code: 'invalid_json_line', line, message: 'Each line must be a JSON object.', param: null });
      continue;
    }
    const v = value as Record<string, unknown>;
    const missing = ['custom_id', 'method', 'url', 'body'].find((k) => v[k] === undefined || v[k] === null);
    if (missing) {
      add({
        code: 'missing_required_parameter',
        line,
        message: `Missing required parameter: '${missing}'.`,
        param: missing,
      });
      continue;
    }
    if (typeof v.custom_id !== 'string' || v.custom_id.length === 0 || v.custom_id.length > 512) {
      add({
        code: 'invalid_request',
        line,
        message: 'custom_id must be a non-empty string of at most 512 characters.',
        param: 'custom_id',
      });
      continue;
    }
    if (seen.has(v.custom_id)) {
      add({
        code: 'duplicate_custom_id',
        line,
        message: `The custom_id '${v.custom_id.slice(0, 64)}' is used more than once.`,
        param: 'custom_id',
      });
      continue;
    }
    seen.add(v.custom_id);
    if (v.method !== 'POST') {
      add({ code: 'invalid_method', line, message: "Only the 'POST' method is supported.", param: 'method' });
      continue;
    }
    if (v.url !== endpoint) {
      add({
        code: 'url_mismatch',
        line,
        message: `The url '${String(v.url).slice(0, 64)}' does not match the batch endpoint '${endpoint}'.`,
        param: 'url',
      });
      continue;
    }
    const body = schema.safeParse(v.body);
    if (!body.success) {
      const issue = body.error.issues[0];
      const path = ['body', ...(issue?.path.map(String) ?? [])].join('.');
      add({
        code: 'invalid_request',
        line,
        message: `Invalid value for '${path}': ${issue?.message ?? 'invalid'}`,
        param: path,
      });
      continue;
    }
    const lineModel = (body.data as { model: string }).model;
    if (model === null) model = lineModel;
    else if (lineModel !== model) {
      add({
        code: 'model_mismatch',
        line,
        message: `Every line must use the same model ('${model}'); this one uses '${lineModel}'.`,
        param: 'body.model',
      });
    }
  }
  if (total === 0)
    return {
      ok: false,
      errors: [{ code: 'empty_file', line: null, message: 'The input file is empty.', param: null }],
    };
  if (total > BATCH_MAX_LINES) {
    errors.unshift({
      code: 'too_many_tasks',
      line: null,
      message: `The file has ${total} requests; a batch may have at most ${BATCH_MAX_LINES}.`,
      param: null,
    });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, total, model: model ?? '' };
}
