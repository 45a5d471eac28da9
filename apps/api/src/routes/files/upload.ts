import { Readable } from 'node:stream';
import { ApiError, type FILE_PURPOSES, newFileId, storageKeyOf, toFileObject } from '@sluice/core';
import { StorageLimitError } from '@sluice/storage';
import busboy from 'busboy';
import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';

/** OpenAI's limit for a batch input file. */
export const MAX_FILE_BYTES = 200 * 1024 * 1024;
/** Room for the multipart framing and the small fields around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const EXPIRES_MIN_SECONDS = 3_600;
const EXPIRES_MAX_SECONDS = 2_592_000;

interface Parsed {
  fields: Record<string, string>;
  filename: string | null;
  bytes: number | null;
  tooLarge: boolean;
}

/**
 * `POST /v1/files` (multipart: `file`, `purpose`, optional `expires_after[anchor]` and
 * `expires_after[seconds]`). The file is streamed to storage as it arrives, never held in memory;
 * a declared size over the limit is refused before reading anything.
 */
export function registerUpload(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.post('/v1/files', async (c) => {
    const tenant = c.get('tenant');
    const type = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw new ApiError(
        'unsupported_media_type',
        'Upload files as multipart/form-data with fields `file` and `purpose`.',
      );
    }
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > MAX_FILE_BYTES + MULTIPART_OVERHEAD_BYTES) {
      throw new ApiError(
        'payload_too_large',
        `Files may be at most ${MAX_FILE_BYTES} bytes (200 MB).`,
        'file',
      );
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError('invalid_request', 'The request has no body; attach a file.', 'file');

    const id = newFileId();
    const storageKey = storageKeyOf(tenant.id, id);
    let parsed: Parsed;
    try {
      parsed = await receive(deps, body, type, storageKey);
    } catch (err) {
      await deps.storage.delete(storageKey).catch(() => undefined);
      if (err instanceof ApiError) throw err;
      throw new ApiError(
        'invalid_request',
        `Could not read the multipart body: ${(err as Error).message}`,
        'file',
      );
    }
    try {
      if (parsed.tooLarge) {
        throw new ApiError(
          'payload_too_large',
          `Files may be at most ${MAX_FILE_BYTES} bytes (200 MB).`,
          'file',
        );
      }
      if (parsed.bytes === null) throw new ApiError('invalid_request', "Missing the 'file' field.", 'file');
      const purpose = parsed.fields.purpose;
      if (purpose !== 'batch') {
        throw new ApiError(
          'invalid_request',
          purpose === undefined
            ? "Missing the 'purpose' field; use 'batch'."
            : `Unsupported purpose '${purpose}'; use 'batch'.`,
          'purpose',
        );
      }
      if (parsed.bytes === 0) throw new ApiError('invalid_request', 'The file is empty.', 'file');
      const expiresAt = expiry(parsed.fields);
      const record = {
        id,
        tenantId: tenant.id,
        bytes: parsed.bytes,
        createdAt: Date.now(),
        filename: (parsed.filename ?? 'upload.jsonl').slice(0, 255),
        purpose: purpose as (typeof FILE_PURPOSES)[number],
        expiresAt,
        storageKey,
      };
      await deps.files.create(record);
      return c.json(toFileObject(record));
    } catch (err) {
      await deps.storage.delete(storageKey).catch(() => undefined);
      throw err;
    }
  });
}

/** Streams the multipart body: the file goes straight to storage, small fields are collected. */
function receive(
  deps: ApiDeps,
  body: ReadableStream<Uint8Array>,
  type: string,
  storageKey: string,
): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const parsed: Parsed = { fields: {}, filename: null, bytes: null, tooLarge: false };
    let upload: Promise<void> | null = null;
    const bb = busboy({
      headers: { 'content-type': type },
      limits: { files: 1, fields: 20, fieldSize: 64 * 1024, fileSize: MAX_FILE_BYTES },
    });
    bb.on('field', (name, value) => {
      parsed.fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || upload) {
        stream.resume();
        return;
      }
      parsed.filename = info.filename ?? null;
      stream.on('limit', () => {
        parsed.tooLarge = true;
      });
      upload = deps.storage.put(storageKey, stream, { maxBytes: MAX_FILE_BYTES }).then(
        ({ bytes }) => {
          parsed.bytes = bytes;
        },
        (err) => {
          if (err instanceof StorageLimitError) parsed.tooLarge = true;
          else throw err;
        },
      );
    });
    bb.on('error', reject);
    bb.on('close', () => {
      (upload ?? Promise.resolve()).then(() => resolve(parsed), reject);
    });
    Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
      .on('error', reject)
      .pipe(bb);
  });
}

/** `expires_after[anchor]=created_at`, `expires_after[seconds]=3600..2592000`; default: no expiry. */
function expiry(fields: Record<string, string>): number | null {
  const seconds = fields['expires_after[seconds]'];
  const anchor = fields['expires_after[anchor]'];
  if (seconds === undefined && anchor === undefined) return null;
  if (anchor !== 'created_at') {
    throw new ApiError(
      'invalid_request',
      "expires_after[anchor] must be 'created_at'.",
      'expires_after.anchor',
    );
  }
  const n = Number(seconds);
  if (!Number.isInteger(n) || n < EXPIRES_MIN_SECONDS || n > EXPIRES_MAX_SECONDS) {
    throw new ApiError(
      'invalid_request',
      `expires_after[seconds] must be an integer from ${EXPIRES_MIN_SECONDS} to ${EXPIRES_MAX_SECONDS}.`,
      'expires_after.seconds',
    );
  }
  return Date.now() + n * 1000;
}
