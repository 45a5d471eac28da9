import type { CompletionJobData } from '@sluice/core';
import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one API process, on a registry of its own (not prom-client's global one),
 * so several apps can live in one test process. prom-client is the de-facto Node exporter.
 */
export function createApiMetrics(queue: Queue<CompletionJobData>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sluice_api_' });
  const httpRequests = new Counter({
    name: 'sluice_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (long polls included)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const submitted = new Counter({
    name: 'sluice_requests_submitted_total',
    help: 'Requests accepted, by tenant tier and priority',
    labelNames: ['tier', 'priority'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'sluice_queue_jobs',
    help: 'Jobs in the completions queue, by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await queue.getJobCounts('active', 'delayed', 'prioritized', 'waiting', 'failed');
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  return { registry, httpRequests, httpDuration, submitted };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
