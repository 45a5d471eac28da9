import type { Priority, Tier } from '../contract/index.js';

/**
 * BullMQ priorities (1 = first, never 0: unprioritized jobs would jump every band).
 * Each tier owns a band of 100; the request's own priority picks a slot inside it and each retry
 * drops the job a few places, staying inside its tier's band.
 */
export const TIER_BAND_START: Record<Tier, number> = { enterprise: 100, pro: 200, free: 300 };
const PRIORITY_OFFSET: Record<Priority, number> = { high: 0, normal: 20, low: 40 };
/** Priority points a job loses per retry, and the most it can lose. */
export const RETRY_PENALTY = 5;
const MAX_RETRY_PENALTY = 40;

/** The highest request priority each tier may ask for; higher asks are capped to it. */
export const TIER_MAX_PRIORITY: Record<Tier, Priority> = { enterprise: 'high', pro: 'high', free: 'normal' };

const ORDER: Priority[] = ['high', 'normal', 'low'];

/** Caps a requested priority to what the tier allows. */
export function effectivePriority(tier: Tier, requested: Priority = 'normal'): Priority {
  const cap = TIER_MAX_PRIORITY[tier];
  return ORDER.indexOf(requested) < ORDER.indexOf(cap) ? cap : requested;
}

/** The BullMQ priority of a job for `tier` and `priority` after `retries` failed attempts. */
export function jobPriority(tier: Tier, priority: Priority, retries = 0): number {
  return (
    TIER_BAND_START[tier] + PRIORITY_OFFSET[priority] + Math.min(retries * RETRY_PENALTY, MAX_RETRY_PENALTY)
  );
}

/**
 * Batch lines: a band below every interactive tier (the lowest interactive slot is under 400), so
 * batch traffic never holds up interactive traffic. Near the end of a batch's completion window its
 * remaining lines are promoted (see the worker's batch sweeper) so they cannot be starved past it.
 */
export const BATCH_PRIORITY = 1_000;
/** A batch with less than BATCH_PROMOTE_BEFORE_MS left moves ahead of the free tier. */
export const BATCH_PROMOTED_PRIORITY = 250;
/** A batch with less than BATCH_URGENT_BEFORE_MS left moves ahead of every tier. */
export const BATCH_URGENT_PRIORITY = 90;

/** The priority of a batch line after `retries` failed attempts (it stays in the batch band). */
export function batchLinePriority(retries = 0): number {
  return BATCH_PRIORITY + Math.min(retries * RETRY_PENALTY, MAX_RETRY_PENALTY);
}

/**
 * Aged requests: ahead of every tier band (enterprise starts at 100), FIFO among themselves. The
 * worker's aging sweep moves every request that waited past its bound here.
 */
export const AGED_PRIORITY = 50;

/**
 * The priority a job goes back to the queue with after `retries` failed attempts. It drops a few
 * places inside its band, unless it already stands ahead of that band (aged, or a batch line
 * promoted as its window runs out): the sweeps that raised it never look at it again, so a retry
 * that took that place away would break the bounded wait. `current` is the job's priority now.
 */
export function retryPriority(
  job: { tier: Tier; priority: Priority; batchId?: string | null },
  retries: number,
  current?: number,
): number {
  const dropped = job.batchId ? batchLinePriority(retries) : jobPriority(job.tier, job.priority, retries);
  const bandStart = job.batchId ? BATCH_PRIORITY : TIER_BAND_START[job.tier];
  return current !== undefined && current > 0 && current < bandStart ? current : dropped;
}
