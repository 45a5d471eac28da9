import type { RedisKeys } from '@sluice/core';
import { readControllerState } from '@sluice/upstream';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one worker process (own registry, see the API's metrics.ts for why). */
export function createWorkerMetrics(redis: Redis, keys: RedisKeys) {
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
  // The controller's shared state, read from Redis at scrape time (the same from every replica).
  // prom-client collects all metrics of a scrape concurrently, so each gauge fills itself from one
  // shared read per scrape (reused for half a second) rather than one gauge setting the others,
  // which would only show in the next scrape.
  let snapshot: { at: number; states: ReturnType<typeof readControllerState> } | undefined;
  const states = () => {
    if (!snapshot || Date.now() - snapshot.at > 500) {
      snapshot = { at: Date.now(), states: readControllerState(redis, keys) };
    }
    return snapshot.states;
  };
  type State = Awaited<ReturnType<typeof readControllerState>>[number];
  const scopeGauge = (name: string, help: string, value: (s: State) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['upstream', 'model'] as const,
      registers: [registry],
      async collect() {
        this.reset(); // scopes that are gone disappear
        for (const s of await states()) this.set({ upstream: s.upstreamId, model: s.model }, value(s));
      },
    });
  scopeGauge(
    'sluice_ratelimit_concurrency_limit',
    'Calls in flight the controller allows',
    (s) => s.concurrencyLimit ?? 0,
  );
  scopeGauge('sluice_ratelimit_in_flight', 'Calls in flight across the fleet', (s) => s.inFlight);
  scopeGauge(
    'sluice_ratelimit_remaining_requests',
    'Request budget left (controller model)',
    (s) => s.remaining.requests ?? -1,
  );
  scopeGauge(
    'sluice_ratelimit_remaining_tokens',
    'Token budget left (controller model)',
    (s) => s.remaining.tokens ?? -1,
  );
  scopeGauge(
    'sluice_ratelimit_paused_seconds',
    'Seconds until a 429 pause ends',
    (s) => s.pausedForMs / 1000,
  );
  scopeGauge('sluice_breaker_open', '1 when the circuit breaker is open, 0.5 half-open, 0 closed', (s) =>
    s.breaker.state === 'open' ? 1 : s.breaker.state === 'half_open' ? 0.5 : 0,
  );
  new Gauge({
    name: 'sluice_ratelimit_scopes',
    help: 'Upstream+model scopes the controller tracks',
    registers: [registry],
    async collect() {
      this.set((await states()).length);
    },
  });
  return { registry, upstreamCalls, upstreamLatency, requestsFinished, inFlight, reconciled };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
