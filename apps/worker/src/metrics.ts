import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one worker process (own registry, see the API's metrics.ts for why). */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sluice_worker_' });
  const upstreamCalls = new Counter({
    name: 'sluice_upstream_calls_total',
    help: 'Upstream calls, by outcome (ok, rate_limited, server_error, timeout, connection, invalid_response, rejected, aborted)',
    labelNames: ['model', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamLatency = new Histogram({
    name: 'sluice_upstream_call_duration_seconds',
    help: 'Duration of one upstream call',
    labelNames: ['model'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const requestsFinished = new Counter({
    name: 'sluice_requests_finished_total',
    help: 'Requests that reached a terminal state in this worker, by status and error code',
    labelNames: ['status', 'code'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'sluice_worker_jobs_in_flight',
    help: 'Jobs this worker process is running',
    registers: [registry],
  });
  const reconciled = new Counter({
    name: 'sluice_reconciler_repairs_total',
    help: 'Unfinished requests the reconciler repaired, by action',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  return { registry, upstreamCalls, upstreamLatency, requestsFinished, inFlight, reconciled };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
