import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type Directives, drawRandomFault, type FaultPlan, planFault } from '../faults/index.js';
import type { CallOutcome, CallRecord } from '../observe/call-log.js';
import { rateLimitError, requestTooLargeError, statusError } from '../openai/errors.js';
import { formatGoDuration } from '../ratelimit/go-duration.js';
import { type LimitDecision, rateLimitHeaders } from '../ratelimit/limiter.js';
import type { SimState } from '../state.js';
import { type SimContext, setHeader, setHeaders } from './context.js';
import { dropConnection, malformedResponse, truncatedResponse } from './raw-responses.js';
import { untilAborted, wait } from './wait.js';

/** A validated request about to reach the simulated model. */
export interface UpstreamCall {
  endpoint: CallRecord['endpoint'];
  model: string;
  hash: string;
  /** Text recorded in the call log (never logged). */
  text: string;
  directives: Directives;
  /** Tokens charged to the TPM budget. */
  tokenCost: number;
  /** Builds the success body. */
  answer: () => object;
}

/**
 * What happens to every accepted call, in order: it is recorded; the rate limits are checked (a rejection is
 * immediate and charges nothing); a fault is chosen (directives first, then the seeded draw); then, unless it
 * hangs, the latency passes before the answer, error, malformed or truncated body is sent.
 */
export async function handleUpstreamCall(
  c: SimContext,
  state: SimState,
  call: UpstreamCall,
): Promise<Response> {
  const record = state.calls.add({
    at: Date.now(),
    endpoint: call.endpoint,
    model: call.model,
    hash: call.hash,
    text: call.text,
  });
  state.stats.promptSeen(call.hash);
  const settle = (outcome: CallOutcome, status: number | null) => {
    record.outcome = outcome;
    record.status = status;
    state.stats.outcome(outcome);
  };

  const decision = state.limiter.consume(c.get('info').apiKey ?? '', call.tokenCost);
  setHeaders(c, rateLimitHeaders(decision.snapshot));
  if (!decision.allowed) {
    settle('rate_limited', 429);
    return rateLimited(c, call.model, decision);
  }

  // Always draw, so directives never shift the fault sequence of the requests that follow.
  const randomPlan = drawRandomFault(state.faultRandom, state.config);
  const failuresSoFar = call.directives.fail ? state.failCounts.increment(call.hash) : 0;
  const plan = planFault(call.directives, randomPlan, failuresSoFar);
  const jitter = Math.floor(state.jitterRandom() * (state.config.latencyJitterMs + 1));

  const gone = AbortSignal.any([c.req.raw.signal, state.shutdown.signal]);
  if (plan.kind === 'hang') {
    settle('hang', null);
    await untilAborted(gone);
    return dropConnection(c);
  }

  const latencyMs = call.directives.latencyMs ?? state.config.latencyMs + jitter;
  if (latencyMs > 0 && !(await wait(latencyMs, gone))) {
    settle('aborted', null);
    return dropConnection(c);
  }
  return respond(c, call, plan, settle);
}

function respond(
  c: SimContext,
  call: UpstreamCall,
  plan: Exclude<FaultPlan, { kind: 'hang' }>,
  settle: (outcome: CallOutcome, status: number | null) => void,
): Response {
  switch (plan.kind) {
    case 'error': {
      settle('error', plan.status);
      if (plan.retryAfterMs !== undefined) retryAfter(c, plan.retryAfterMs);
      return c.json(statusError(plan.status, call.model, plan.code), plan.status as ContentfulStatusCode);
    }
    case 'malformed':
      settle('malformed', 200);
      return malformedResponse(c, JSON.stringify(call.answer()));
    case 'truncated':
      settle('truncated', 200);
      return truncatedResponse(c, JSON.stringify(call.answer()));
    default:
      settle('completed', 200);
      return c.json(call.answer(), 200);
  }
}

function rateLimited(
  c: SimContext,
  model: string,
  decision: Extract<LimitDecision, { allowed: false }>,
): Response {
  if (decision.tooLarge) {
    // Stainless SDKs (openai-node) obey this and do not retry a request that can never pass.
    setHeader(c, 'x-should-retry', 'false');
    return c.json(requestTooLargeError(model, decision.capacity, decision.requested), 429);
  }
  retryAfter(c, decision.retryAfterMs);
  const body = rateLimitError({
    model,
    budget: decision.budget,
    limit: decision.capacity,
    used: decision.used,
    requested: decision.requested,
    retryAfter: formatGoDuration(decision.retryAfterMs),
  });
  return c.json(body, 429);
}

/** `retry-after-ms` (read first by openai-node) and `retry-after` in whole seconds, rounded up. */
function retryAfter(c: SimContext, ms: number): void {
  setHeader(c, 'retry-after-ms', String(ms));
  setHeader(c, 'retry-after', String(Math.ceil(ms / 1000)));
}
