import {
  type CompletionJobData,
  jobPriority,
  type Logger,
  type RequestError,
  type RequestStore,
  type Usage,
} from '@sluice/core';
import { classifyUpstreamError, type UpstreamClient } from '@sluice/upstream';
import { DelayedError, type Job, type Processor, UnrecoverableError } from 'bullmq';
import { RetryableError } from './backoff.js';
import type { WorkerMetrics } from './metrics.js';

export interface ProcessorDeps {
  requests: RequestStore;
  upstream: UpstreamClient;
  metrics: WorkerMetrics;
  log: Logger;
  maxAttempts: number;
}

/**
 * One attempt at one request. The request record is the source of truth: every outcome is written
 * there (atomically, once) before the job itself finishes, so a crash between the two is repaired by
 * re-running the job, which then finds the record terminal and does nothing.
 */
export function createCompletionProcessor(deps: ProcessorDeps): Processor<CompletionJobData, string> {
  const { requests, upstream, metrics, log } = deps;

  return async (job: Job<CompletionJobData, string>, token?: string, signal?: AbortSignal) => {
    const { requestId } = job.data;
    const attempt = job.attemptsMade + 1;
    const started = await requests.startAttempt(requestId, attempt);
    if (started === 'missing') {
      await requests.forgetOpen(requestId);
      log.warn({ requestId }, 'request record missing; job dropped');
      return 'missing';
    }
    if (started !== 'ok') return started; // cancelled, or finished by an earlier run of this job

    const record = await requests.get(requestId);
    if (!record?.body) {
      await finishFailed(requestId, {
        code: 'request_expired',
        message: 'The request body expired before processing.',
      });
      return 'failed';
    }

    const model = record.model;
    const callStarted = performance.now();
    metrics.inFlight.inc();
    try {
      const result = await upstream.chatCompletion(record.body, signal);
      metrics.upstreamLatency.observe({ model }, (performance.now() - callStarted) / 1000);
      metrics.upstreamCalls.inc({ model, outcome: 'ok' });
      const usage = (result.completion.usage as Usage | undefined) ?? null;
      const done = await requests.complete(requestId, result.completion, usage);
      if (done === 'ok') metrics.requestsFinished.inc({ status: 'completed', code: '' });
      return 'completed';
    } catch (err) {
      const outcome = classifyUpstreamError(err);
      if (outcome.kind === 'aborted') {
        // Our own shutdown: hand the job back at once without spending an attempt.
        metrics.upstreamCalls.inc({ model, outcome: 'aborted' });
        await requests.requeue(requestId, {
          code: 'worker_shutdown',
          message: 'The worker shut down mid-call.',
        });
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      metrics.upstreamLatency.observe({ model }, (performance.now() - callStarted) / 1000);
      if (outcome.kind === 'fail') {
        metrics.upstreamCalls.inc({ model, outcome: 'rejected' });
        await finishFailed(requestId, outcome.error);
        throw new UnrecoverableError(outcome.error.code);
      }
      metrics.upstreamCalls.inc({ model, outcome: outcome.reason });
      if (attempt >= deps.maxAttempts) {
        await finishFailed(requestId, {
          ...outcome.error,
          code: 'upstream_retries_exhausted',
          message: `The upstream kept failing after ${attempt} attempts; last error: ${outcome.error.message}`,
          upstream_code: outcome.error.upstream_code ?? outcome.error.code,
        });
        throw new UnrecoverableError('upstream_retries_exhausted');
      }
      await requests.requeue(requestId, outcome.error);
      // Retried jobs drop a few places inside their tier's band (applied when the retry is queued).
      await job.changePriority({ priority: jobPriority(record.tier, record.priority, attempt) });
      log.info(
        { requestId, attempt, reason: outcome.reason, retryAfterMs: outcome.retryAfterMs },
        'attempt failed, will retry',
      );
      throw new RetryableError(outcome.error.code, outcome.retryAfterMs);
    } finally {
      metrics.inFlight.dec();
    }
  };

  async function finishFailed(requestId: string, error: RequestError) {
    const done = await requests.fail(requestId, error);
    if (done === 'ok') metrics.requestsFinished.inc({ status: 'failed', code: error.code });
  }
}
