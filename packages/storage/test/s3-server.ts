import { S3Client } from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';

/** One S3 request as the test server saw it, e.g. `DELETE ?uploadId` for AbortMultipartUpload. */
export interface SeenRequest {
  method: string;
  /** `?uploads` (create), `?uploadId` (part, complete or abort) or `` (plain object or bucket call). */
  multipart: '?uploads' | '?uploadId' | '';
  status: number;
}

/** A real S3-compatible server (fauxqs, in memory) listening on 127.0.0.1 in this process. */
export interface TestS3Server {
  endpoint: string;
  /** Requests served so far, oldest first. */
  requests: SeenRequest[];
  /** A path-style client with dummy credentials, as the storage under test would build. */
  client(): S3Client;
  stop(): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' };

/**
 * Starts fauxqs on an ephemeral port of 127.0.0.1. fauxqs speaks the S3 REST protocol over HTTP
 * (path-style, aws-chunked bodies, multipart create/upload/complete/abort) and keeps objects in memory.
 */
export async function startTestS3Server(): Promise<TestS3Server> {
  const app = buildApp({ logger: false });
  const requests: SeenRequest[] = [];
  // fauxqs's typings of its Fastify app resolve to `any` here, hence the explicit parameter shapes.
  app.addHook(
    'onResponse',
    async (request: { method: string; query: unknown }, reply: { statusCode: number }) => {
      const query = (request.query ?? {}) as Record<string, unknown>;
      const multipart = 'uploads' in query ? '?uploads' : 'uploadId' in query ? '?uploadId' : '';
      requests.push({ method: request.method, multipart, status: reply.statusCode });
    },
  );
  const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    endpoint,
    requests,
    client: () =>
      new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS }),
    stop: async () => {
      await app.close();
    },
  };
}
