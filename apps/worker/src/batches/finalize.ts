import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type BatchRecord,
  type BatchStatus,
  type BatchStore,
  type FileStore,
  newFileId,
  type RequestRecord,
  type RequestStore,
  storageKeyOf,
} from '@sluice/core';
import type { FileStorage } from '@sluice/storage';
import { lineRequestId } from './lines.js';

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

/** One line of an output or error file, in OpenAI's BatchRequestOutput format. */
function outputLine(r: RequestRecord): { kind: 'output' | 'error'; line: OutputLine } {
  const id = `batch_req_${createHash('sha256').update(r.id).digest('hex').slice(0, 24)}`;
  const custom_id = r.customId ?? '';
  if (r.status === 'completed') {
    return {
      kind: 'output',
      line: {
        id,
        custom_id,
        response: { status_code: 200, request_id: r.id, body: r.response },
        error: null,
      },
    };
  }
  const e = r.error ?? {
    code: r.status === 'cancelled' ? 'batch_cancelled' : 'batch_expired',
    message: 'The request did not run.',
  };
  if (e.upstream_status && e.code === 'upstream_rejected') {
    // The upstream answered a non-2xx: OpenAI reports it as a response with that status.
    return {
      kind: 'error',
      line: {
        id,
        custom_id,
        response: {
          status_code: e.upstream_status,
          request_id: r.id,
          body: { error: { message: e.message, code: e.upstream_code ?? null } },
        },
        error: null,
      },
    };
  }
  const code = r.status === 'cancelled' ? 'batch_cancelled' : e.code;
  return { kind: 'error', line: { id, custom_id, response: null, error: { code, message: e.message } } };
}

/**
 * Writes the output and error files of a batch (streamed, line by line in input order), registers
 * them as files of the tenant, and moves the batch to its final status.
 */
export async function finalizeBatch(
  deps: { requests: RequestStore; batches: BatchStore; files: FileStore; storage: FileStorage },
  batch: BatchRecord,
  final: BatchStatus,
): Promise<void> {
  const writeFile = async (kind: 'output' | 'error'): Promise<string | null> => {
    let count = 0;
    const lines = async function* () {
      for (let i = 0; i < batch.total; i++) {
        const r = await deps.requests.get(lineRequestId(batch.id, i));
        if (!r) continue;
        const out = outputLine(r);
        if (out.kind !== kind) continue;
        count++;
        yield `${JSON.stringify(out.line)}\n`;
      }
    };
    const id = newFileId();
    const key = storageKeyOf(batch.tenantId, id);
    const { bytes } = await deps.storage.put(key, Readable.from(lines()));
    if (count === 0) {
      await deps.storage.delete(key);
      return null;
    }
    await deps.files.create({
      id,
      tenantId: batch.tenantId,
      bytes,
      createdAt: Date.now(),
      filename: `${batch.id}_${kind}.jsonl`,
      purpose: 'batch_output',
      expiresAt: null,
      storageKey: key,
    });
    return id;
  };
  const outputFileId = await writeFile('output');
  const errorFileId = await writeFile('error');
  await deps.batches.transition(batch.id, ['finalizing'], final, {
    ...(outputFileId && { output_file_id: outputFileId }),
    ...(errorFileId && { error_file_id: errorFileId }),
  });
}
