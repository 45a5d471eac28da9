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
import { jsonlLines, lineRequestId } from './lines.js';

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

const outputLineId = (requestId: string) =>
  `batch_req_${createHash('sha256').update(requestId).digest('hex').slice(0, 24)}`;

/** One line of an output or error file, in OpenAI's BatchRequestOutput format. */
function outputLine(r: RequestRecord): { kind: 'output' | 'error'; line: OutputLine } {
  const id = outputLineId(r.id);
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
 * The error line of a line whose request record is gone. Lines past `enqueued` never ran: the cancel
 * or expiry stopped the enqueue. Any other record expired (RESULT_TTL_SECONDS or
 * OPEN_REQUEST_TTL_SECONDS shorter than the batch took): its result is lost, and says so rather than
 * vanishing from both files.
 */
function missingLine(batch: BatchRecord, final: BatchStatus, index: number, customId: string): OutputLine {
  const ran = index < batch.enqueued;
  const error = ran
    ? {
        code: 'batch_result_expired',
        message:
          'The record of this request expired before the batch was finalized, so its result is lost. Keep RESULT_TTL_SECONDS and OPEN_REQUEST_TTL_SECONDS longer than the completion window.',
      }
    : final === 'cancelled'
      ? { code: 'batch_cancelled', message: 'The batch was cancelled before this request was queued.' }
      : { code: 'batch_expired', message: 'The batch expired before this request was queued.' };
  return {
    id: outputLineId(lineRequestId(batch.id, index)),
    custom_id: customId,
    response: null,
    error,
  };
}

/**
 * The custom_id of input line `index` (0-based, as enqueued). The input file is opened only once a
 * record is missing, and read forwards only (callers ask in increasing order); '' if it is gone too.
 */
function inputCustomIds(deps: { files: FileStore; storage: FileStorage }, batch: BatchRecord) {
  let stream: Readable | null = null;
  let lines: AsyncGenerator<{ line: number; text: string }> | null = null;
  let opened = false;
  let next = 0;
  return {
    async at(index: number): Promise<string> {
      if (!opened) {
        opened = true;
        const file = await deps.files.get(batch.inputFileId);
        stream = file ? await deps.storage.get(file.storageKey).catch(() => null) : null;
        if (stream) lines = jsonlLines(stream);
      }
      while (lines) {
        const r = await lines.next().catch(() => ({ done: true as const, value: undefined }));
        if (r.done) break;
        if (next++ !== index) continue;
        try {
          const id = (JSON.parse(r.value.text) as { custom_id?: unknown }).custom_id;
          return typeof id === 'string' ? id : '';
        } catch {
          return '';
        }
      }
      lines = null;
      return '';
    },
    async close(): Promise<void> {
      await lines?.return(undefined);
      stream?.destroy();
    },
  };
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
      const input = inputCustomIds(deps, batch);
      try {
        for (let i = 0; i < batch.total; i++) {
          const r = await deps.requests.get(lineRequestId(batch.id, i));
          let line: OutputLine;
          if (r) {
            const out = outputLine(r);
            if (out.kind !== kind) continue;
            line = out.line;
          } else {
            if (kind !== 'error') continue;
            line = missingLine(batch, final, i, await input.at(i));
          }
          count++;
          yield `${JSON.stringify(line)}\n`;
        }
      } finally {
        await input.close();
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
