import type {
  BatchJobData,
  BatchStore,
  CompletionJobData,
  FileStore,
  Logger,
  RedisKeys,
  RequestStore,
  Tenant,
  TenantStore,
  WebhookJobData,
  WebhookStore,
} from '@sluice/core';
import type { FileStorage } from '@sluice/storage';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ApiConfig } from './config.js';
import type { ApiMetrics } from './metrics.js';
import type { CompletionWaiter } from './polling/waiter.js';

/** Everything the API needs, built by main.ts (or a test) and injected into createApp. */
export interface ApiDeps {
  config: ApiConfig;
  redis: Redis;
  keys: RedisKeys;
  queue: Queue<CompletionJobData>;
  requests: RequestStore;
  tenants: TenantStore;
  webhooks: WebhookStore;
  files: FileStore;
  /** Where file bytes live (local disk or S3). */
  storage: FileStorage;
  batches: BatchStore;
  batchQueue: Queue<BatchJobData>;
  /** Webhook dispatches (cancellations) and manual redeliveries. */
  webhookQueue: Queue<WebhookJobData>;
  waiter: CompletionWaiter;
  metrics: ApiMetrics;
  log: Logger;
  /** True once SIGTERM arrived: /readyz fails so load balancers stop sending traffic. */
  isShuttingDown: () => boolean;
}

/** Hono context variables set by middleware. */
export interface ApiEnv {
  Variables: {
    requestId: string;
    tenant: Tenant;
  };
}
