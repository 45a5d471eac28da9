/**
 * The benchmark's webhook receiver: an HTTP server on 127.0.0.1 in the benchmark process that verifies
 * every request's Standard Webhooks signature with the `standardwebhooks` package (the secret is the one
 * registered for the request's path), records one compact receipt per request and always answers 200
 * (an invalid signature is counted, not refused, so that it cannot cause retries that blur the counts).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Receipt {
  path: string;
  /** The `webhook-id` header ('' when absent). */
  webhookId: string;
  /** performance.now() once the body had been read: for rates. */
  at: number;
  /** Date.now() at the same moment: comparable with the worker's timestamps (same machine clock). */
  wallAt: number;
  /** The signature verified against the path's secret (false for an unknown path). */
  valid: boolean;
  bytes: number;
  /** From a verified payload: `type`. */
  type?: string;
  /** From a verified payload: `data.id` (the request id for request events). */
  subjectId?: string;
  /** From a verified payload: `data.status`. */
  status?: string;
  /** From a verified payload: `timestamp` (the request's completion time for request events), ms. */
  eventAt?: number;
}

export interface WebhookReceiver {
  url(path: string): string;
  /** Registers the signing secret of deliveries to `path`. */
  expect(path: string, secret: string): void;
  readonly receipts: readonly Receipt[];
  /** A verified request-event body as received, byte for byte (for the baseline's payload size). */
  sampleBody(): string | undefined;
  close(): Promise<void>;
}

const header = (headers: IncomingHttpHeaders, name: string): string => {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

interface Payload {
  type?: unknown;
  timestamp?: unknown;
  data?: { id?: unknown; status?: unknown } | null;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receipts: Receipt[] = [];
  const verifiers = new Map<string, Webhook>();
  let sample: string | undefined;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const wallAt = Date.now();
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const raw = Buffer.concat(chunks).toString('utf8');
      const receipt: Receipt = {
        path,
        webhookId: header(req.headers, 'webhook-id'),
        at,
        wallAt,
        valid: false,
        bytes: Buffer.byteLength(raw),
      };
      const verifier = verifiers.get(path);
      if (verifier) {
        try {
          const payload = verifier.verify(raw, {
            'webhook-id': receipt.webhookId,
            'webhook-timestamp': header(req.headers, 'webhook-timestamp'),
            'webhook-signature': header(req.headers, 'webhook-signature'),
          }) as Payload;
          receipt.valid = true;
          if (typeof payload.type === 'string') receipt.type = payload.type;
          if (typeof payload.data?.id === 'string') receipt.subjectId = payload.data.id;
          if (typeof payload.data?.status === 'string') receipt.status = payload.data.status;
          if (typeof payload.timestamp === 'string') {
            const t = Date.parse(payload.timestamp);
            if (Number.isFinite(t)) receipt.eventAt = t;
          }
          if (sample === undefined && receipt.type?.startsWith('request.')) sample = raw;
        } catch {
          // receipt.valid stays false
        }
      }
      receipts.push(receipt);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    expect: (path, secret) => verifiers.set(path, new Webhook(secret)),
    receipts,
    sampleBody: () => sample,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
