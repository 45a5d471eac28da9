import type { CompletionJobData, Logger } from '@sluice/core';
import type { Scope } from '@sluice/upstream';
import type { Queue } from 'bullmq';

const FRESH_MS = 60_000;

/**
 * Turns the controller's per-scope concurrency targets into BullMQ's global concurrency, so the
 * whole fleet holds only as many jobs as the upstream budget can serve (plus a little slack for jobs
 * waiting on a grant). Keeping the active set small is what lets a high-tier job overtake a backlog:
 * it is fetched as soon as a slot frees instead of queueing behind jobs already held by workers.
 */
export class ConcurrencyGovernor {
  private readonly targets = new Map<string, { target: number; at: number }>();
  private applied = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly queue: Queue<CompletionJobData>,
    private readonly log: Logger,
    private readonly initialTarget: number,
  ) {}

  /** The global concurrency for a sum of targets: the targets plus 25% slack, at least 1. */
  static withSlack(target: number): number {
    return Math.max(1, target + Math.ceil(target * 0.25) + 1);
  }

  async start(): Promise<void> {
    const current = await this.queue.getGlobalConcurrency();
    if (current === null) await this.apply(ConcurrencyGovernor.withSlack(this.initialTarget));
    else this.applied = current;
  }

  update(scope: Scope, target: number, now = Date.now()): void {
    this.targets.set(`${scope.upstreamId}:${scope.model}`, { target, at: now });
    let sum = 0;
    for (const [key, t] of this.targets) {
      if (now - t.at > FRESH_MS) this.targets.delete(key);
      else sum += t.target;
    }
    const wanted = ConcurrencyGovernor.withSlack(sum);
    if (wanted !== this.applied && !this.pending) {
      this.pending = this.apply(wanted).finally(() => {
        this.pending = undefined;
      });
    }
  }

  private async apply(value: number): Promise<void> {
    try {
      await this.queue.setGlobalConcurrency(value);
      this.applied = value;
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not set global concurrency');
    }
  }
}
