import { Readable } from 'node:stream';
import { ApiError, type FILE_PURPOSES, newFileId, storageKeyOf, toFileObject } from '@sluice/core';
import { StorageLimitError } from '@sluice/storage';
import busboy from 'busboy';
import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';

/** Room for the multipart framing and the small fields around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const EXPIRES_MIN_SECONDS = 3_600;
const EXPIRES_MAX_SECONDS = 2_592_000;

interface Parsed {
  fields: Record<string, string>;
  filename: string | null;
  bytes: number | null;
}

/** 413 for a file over `FILE_MAX_BYTES`. `Connection: close`: the rest of the body is not read. */
const tooLarge = (maxBytes: number) =>
  new ApiError('payload_too_large', `Files may be at most ${maxBytes} bytes.`, 'file', {
    Connection: 'close',
  });

/**
 * `POST /v1/files` (multipart: `file`, `purpose`, optional `expires_after[anchor]` and
 * `expires_after[seconds]`). The file is streamed to storage as it arrives, never held in memory;
 * a declared size over the limit (`FILE_MAX_BYTES`) is refused before reading anything, and an
 * undeclared one (chunked) as soon as the limit is crossed.
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
    const maxBytes = deps.config.FILE_MAX_BYTES;
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge(maxBytes);
    const body = c.req.raw.body;
    if (!body) throw new ApiError('invalid_request', 'The request has no body; attach a file.', 'file');

    const id = newFileId();
    const storageKey = storageKeyOf(tenant.id, id);
    let parsed: Parsed;
    try {
      parsed = await receive(deps, body, type, storageKey, maxBytes);
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
      // One clock reading for both, so expires_at is exactly created_at + seconds.
      const createdAt = Date.now();
      const expiresAt = expiry(parsed.fields, createdAt, deps.config.FILE_DEFAULT_EXPIRY_SECONDS);
      const record = {
        id,
        tenantId: tenant.id,
        bytes: parsed.bytes,
        createdAt,
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

/**
 * Streams the multipart body: the file goes straight to storage, small fields are collected. A file
 * over `maxBytes` rejects with a 413 once storage has refused it (and removed what it wrote), without
 * waiting for the rest of the body, which a chunked upload need not even announce.
 */
function receive(
  deps: ApiDeps,
  body: ReadableStream<Uint8Array>,
  type: string,
  storageKey: string,
  maxBytes: number,
): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const parsed: Parsed = { fields: {}, filename: null, bytes: null };
    let upload: Promise<void> | null = null;
    const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    // busboy flags its limit on reaching `fileSize`, not on passing it: one byte more lets a file of
    // exactly `maxBytes` through and hands storage the byte that makes it refuse a longer one.
    const bb = busboy({
      headers: { 'content-type': type },
      limits: { files: 1, fields: 20, fieldSize: 64 * 1024, fileSize: maxBytes + 1 },
    });
    // Stop reading, but leave the request open: the server still has to send the answer on it.
    const fail = (err: unknown) => {
      source.unpipe(bb);
      reject(err);
    };
    bb.on('field', (name, value) => {
      parsed.fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || upload) {
        stream.resume();
        return;
      }
      parsed.filename = info.filename ?? null;
      upload = deps.storage.put(storageKey, stream, { maxBytes }).then(
        ({ bytes }) => {
          parsed.bytes = bytes;
        },
        (err) => fail(err instanceof StorageLimitError ? tooLarge(maxBytes) : err),
      );
    });
    bb.on('error', fail);
    bb.on('close', () => {
      (upload ?? Promise.resolve()).then(() => resolve(parsed));
    });
    source.on('error', fail).pipe(bb);
  });
}

/**
 * `expires_after[anchor]=created_at`, `expires_after[seconds]=3600..2592000`; without them,
 * `defaultSeconds` (FILE_DEFAULT_EXPIRY_SECONDS; 0 = no expiry).
 */
function expiry(fields: Record<string, string>, createdAt: number, defaultSeconds: number): number | null {
  const seconds = fields['expires_after[seconds]'];
  const anchor = fields['expires_after[anchor]'];
  if (seconds === undefined && anchor === undefined) {
    return defaultSeconds > 0 ? createdAt + defaultSeconds * 1000 : null;
  }
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
  return createdAt + n * 1000;
}
