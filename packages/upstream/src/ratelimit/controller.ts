import { createHash, randomUUID } from 'node:crypto';
import { evalScript, type RedisKeys } from '@sluice/core';
import type { Redis } from 'ioredis';
import type { RateLimitHeaders } from './headers.js';
import { ACQUIRE, FORGET, SETTLE } from './scripts.js';

/** Tuning of the controller and breaker; every replica must use the same values. */
export interface ControllerOptions {
  /** Calls in flight per scope before any limit is known. Default 4. */
  initialConcurrency: number;
  /** Upper bound on calls in flight per scope. Default 256. */
  maxConcurrency: number;
  /** Multiplier on throughput × latency when sizing concurrency. Default 1.5. */
  concurrencyHeadroom: number;
  /** A lease not settled within this long is presumed dead (its worker crashed), ms. */
  leaseTtlMs: number;
  /** Fleet-wide pause after a 429 without retry-after, ms. Default 1000. */
  defaultPauseMs: number;
  breaker: BreakerOptions;
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  consecutiveFailures: number;
  /** Failure share within the window that opens it. Default 0.5. */
  errorRate: number;
  /** Calls in the window before the error rate counts. Default 20. */
  minRequests: number;
  /** Length of the error-rate window, ms. Default 30000. */
  windowMs: number;
  /** How long the breaker stays open before probing, ms. Default 10000. */
  cooldownMs: number;
  /** Probe calls allowed while half-open. Default 1. */
  halfOpenProbes: number;
}

/** Which budget a call draws on: one upstream (base URL + key) and one model. */
export interface Scope {
  /** Stable id of the upstream: a name plus a hash of base URL and key (never the key itself). */
  upstreamId: string;
  model: string;
}

export function upstreamIdOf(name: string, baseURL: string, apiKey: string): string {
  return `${name}-${createHash('sha256').update(`${baseURL}\n${apiKey}`).digest('hex').slice(0, 10)}`;
}

function scopeKeys(keys: RedisKeys, scope: Scope): [string, string, string, string, string] {
  const id = `${scope.upstreamId}:${scope.model}`;
  return [
    keys.rateLimit(id),
    keys.rateLimitLeases(id),
    keys.breaker(id),
    keys.rateLimitWaiters(id),
    keys.rateLimitWaiterExpiry(id),
  ];
}

export interface AcquireOptions {
  /** Lease and waiter id; pass the job id so a re-run job replaces its dead lease. Default: random. */
  holder?: string;
  /** The caller's place in line while budget is short: lower first (BullMQ priority). Default 0. */
  priority?: number;
  /** The caller asks again within this long while it waits inline, ms. Default 2000. */
  pollWithinMs?: number;
  /** Override of Redis's clock, for tests. */
  now?: number;
}

export type Admission =
  | { kind: 'granted'; lease: Lease }
  | { kind: 'wait'; waitMs: number; reason: WaitReason }
  | { kind: 'too_large' };

export type WaitReason =
  | 'breaker_open'
  | 'breaker_half_open'
  | 'paused'
  | 'concurrency'
  | 'requests'
  | 'tokens';

export interface Lease {
  id: string;
  scope: Scope;
  reservedTokens: number;
  probe: boolean;
  /** Local clock at grant time, for measuring the call's latency. */
  grantedAt: number;
}

/** How a granted call ended, for the budget model and the breaker. */
export type CallOutcome =
  /** 2xx: healthy. */
  | { kind: 'ok'; chargedTokens: number; headers: RateLimitHeaders }
  /** 5xx, timeout, connection error, malformed body: counts towards opening the breaker. */
  | { kind: 'failure'; headers: RateLimitHeaders }
  /** 4xx (not 429) or our own abort: says nothing about the upstream's health. */
  | { kind: 'neutral'; headers: RateLimitHeaders }
  /** 429: the whole fleet pauses for `pauseMs`. */
  | { kind: 'rate_limited'; pauseMs: number | null; headers: RateLimitHeaders };

export interface ScopeState extends Scope {
  limits: { requestsPerMinute: number | null; tokensPerMinute: number | null };
  capacity: { requests: number | null; tokens: number | null };
  remaining: { requests: number | null; tokens: number | null };
  inFlight: number;
  /** Calls in flight the controller allows now; null until the first call settles. */
  concurrencyLimit: number | null;
  pausedForMs: number;
  latencyMs: number | null;
  tokensPerCall: number | null;
  granted: number;
  rateLimited: number;
  breaker: { state: string; consecutiveFailures: number; opened: number; reopensInMs: number };
}

/**
 * Adaptive concurrency driven by the upstream's x-ratelimit-* headers, shared by every worker replica
 * through Redis. Before a call, {@link acquire} reserves one request and the call's estimated tokens
 * from a model of the upstream's buckets (continuously refilled at limit/60 s, capacity inferred from
 * remaining + reset) and a concurrency slot (throughput × measured latency); after it, {@link settle}
 * corrects the model with the real usage and headers, feeds the breaker, and on a 429 pauses the fleet.
 */
export class RateLimitController {
  private readonly knownScopes = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly options: ControllerOptions,
  ) {}

  /**
   * Asks to make one call. `holder` names the lease; pass the job id so that when a crashed worker's
   * job runs again, its new lease replaces the dead one instead of holding a slot until it expires.
   */
  async acquire(scope: Scope, estimatedTokens: number, opts: AcquireOptions = {}): Promise<Admission> {
    const keys = scopeKeys(this.keys, scope);
    const id = opts.holder ?? randomUUID();
    const scopeId = `${scope.upstreamId}:${scope.model}`;
    if (!this.knownScopes.has(scopeId)) {
      await this.redis.hset(this.keys.rateLimitScopes(), scopeId, JSON.stringify(scope));
      this.knownScopes.add(scopeId);
    }
    const [code, waitMs, reason, probe] = (await evalScript(
      this.redis,
      ACQUIRE,
      5,
      ...keys,
      opts.now === undefined ? '' : String(opts.now),
      String(estimatedTokens),
      id,
      String(this.options.leaseTtlMs),
      String(this.options.initialConcurrency),
      String(this.options.breaker.cooldownMs),
      String(this.options.breaker.halfOpenProbes),
      String(opts.priority ?? 0),
      String(opts.pollWithinMs ?? 2_000),
    )) as [number, number, string, number];
    if (code === 1) {
      return {
        kind: 'granted',
        lease: { id, scope, reservedTokens: estimatedTokens, probe: probe === 1, grantedAt: Date.now() },
      };
    }
    if (code === -1) return { kind: 'too_large' };
    return { kind: 'wait', waitMs: Math.max(1, waitMs), reason: reason as WaitReason };
  }

  /** Leaves the admission line of `scope` (the caller gave up waiting and went back to the queue). */
  async forget(scope: Scope, holder: string): Promise<void> {
    const [, , , waiters, expiry] = scopeKeys(this.keys, scope);
    await evalScript(this.redis, FORGET, 2, waiters, expiry, holder);
  }

  /** Settles a lease; returns the scope's new concurrency target and breaker state. */
  async settle(
    lease: Lease,
    outcome: CallOutcome,
    /** Override of Redis's clock, for tests. */
    now?: number,
  ): Promise<{ target: number; breaker: string }> {
    const [rl, leases, cb] = scopeKeys(this.keys, lease.scope);
    const h = outcome.headers;
    const n = (v: number | null) => String(v ?? -1);
    const charged = outcome.kind === 'ok' ? outcome.chargedTokens : -1;
    const pause = outcome.kind === 'rate_limited' ? (outcome.pauseMs ?? this.options.defaultPauseMs) : 0;
    const b = this.options.breaker;
    const [target, breaker] = (await evalScript(
      this.redis,
      SETTLE,
      3,
      rl,
      leases,
      cb,
      now === undefined ? '' : String(now),
      lease.id,
      String(lease.reservedTokens),
      String(charged),
      outcome.kind === 'ok' ? String(Date.now() - lease.grantedAt) : '-1',
      outcome.kind,
      lease.probe ? '1' : '0',
      n(h.limitRequests),
      n(h.limitTokens),
      n(h.remainingRequests),
      n(h.remainingTokens),
      n(h.resetRequestsMs),
      n(h.resetTokensMs),
      String(pause),
      String(this.options.initialConcurrency),
      String(this.options.maxConcurrency),
      String(this.options.concurrencyHeadroom),
      String(b.consecutiveFailures),
      String(b.errorRate),
      String(b.minRequests),
      String(b.windowMs),
      String(b.cooldownMs),
    )) as [number, string];
    return { target, breaker };
  }
}

/** The controller's view of every scope seen so far, as every replica shares it (read-only). */
export async function readControllerState(
  redis: Redis,
  keys: RedisKeys,
  now = Date.now(),
): Promise<ScopeState[]> {
  const scopes = await redis.hgetall(keys.rateLimitScopes());
  const out: ScopeState[] = [];
  for (const json of Object.values(scopes)) {
    const scope = JSON.parse(json) as Scope;
    const [rl, leases, cb] = scopeKeys(keys, scope);
    const [s, inFlight, b] = await Promise.all([
      redis.hgetall(rl),
      redis.zcount(leases, now, '+inf'),
      redis.hgetall(cb),
    ]);
    const num = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    const known = (v: number) => (v > 0 ? v : null);
    const limR = num(s.lim_r);
    const limT = num(s.lim_t);
    const dt = Math.max(0, now - num(s.ts));
    const lvlR = limR > 0 ? Math.min(num(s.cap_r), num(s.lvl_r) + (dt * limR) / 60_000) : null;
    const lvlT = limT > 0 ? Math.min(num(s.cap_t), num(s.lvl_t) + (dt * limT) / 60_000) : null;
    const state = b.state ?? 'closed';
    out.push({
      ...scope,
      limits: { requestsPerMinute: known(limR), tokensPerMinute: known(limT) },
      capacity: { requests: known(num(s.cap_r)), tokens: known(num(s.cap_t)) },
      remaining: {
        requests: lvlR === null ? null : Math.floor(lvlR),
        tokens: lvlT === null ? null : Math.floor(lvlT),
      },
      inFlight,
      concurrencyLimit: s.target ? Math.floor(Number(s.target)) : null,
      pausedForMs: Math.max(0, num(s.paused_until) - now),
      latencyMs: known(Math.round(num(s.lat))),
      tokensPerCall: known(Math.round(num(s.tok))),
      granted: num(s.granted),
      rateLimited: num(s.rate_limited),
      breaker: {
        state,
        consecutiveFailures: num(b.consec),
        opened: num(b.opened),
        reopensInMs: state === 'open' ? Math.max(0, num(b.reopen_at) - now) : 0,
      },
    });
  }
  return out;
}
