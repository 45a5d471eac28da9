import { Readable } from 'node:stream';
import { ApiError, type FileRecord, toFileObject } from '@sluice/core';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { validate } from '../../middleware/json-body.js';
import { cursorList } from '../cursor-list.js';

/** One of the calling tenant's files; another tenant's id answers 404. */
export async function loadOwnFile(
  deps: ApiDeps,
  c: Context<ApiEnv>,
  id = c.req.param('id') ?? '',
): Promise<FileRecord> {
  const file = /^file-[0-9a-z]{26}$/.test(id) ? await deps.files.get(id) : null;
  if (!file || file.tenantId !== c.get('tenant').id) {
    throw new ApiError('not_found', `No such File object: ${id.slice(0, 64)}`, 'id');
  }
  return file;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  after: z.string().max(64).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
  purpose: z.string().max(32).optional(),
});

/** `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`. */
export function registerFileManagement(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.get('/v1/files', async (c) => {
    const q = validate(listQuery, c.req.query());
    const { data, hasMore } = await deps.files.list(c.get('tenant').id, q);
    return c.json(cursorList(data.map(toFileObject), hasMore));
  });

  app.get('/v1/files/:id', async (c) => c.json(toFileObject(await loadOwnFile(deps, c))));

  app.get('/v1/files/:id/content', async (c) => {
    const file = await loadOwnFile(deps, c);
    const stream = await deps.storage.get(file.storageKey);
    c.header('Content-Type', 'application/octet-stream');
    c.header('Content-Length', String(file.bytes));
    c.header('Content-Disposition', `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`);
    return c.body(Readable.toWeb(stream) as ReadableStream);
  });

  app.delete('/v1/files/:id', async (c) => {
    const file = await loadOwnFile(deps, c);
    await deps.files.delete(file);
    await deps.storage
      .delete(file.storageKey)
      .catch((err) => deps.log.warn({ err: String(err) }, 'file bytes not deleted'));
    return c.json({ id: file.id, object: 'file', deleted: true });
  });
}
