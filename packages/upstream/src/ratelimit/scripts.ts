/**
 * Lua for the shared rate-limit controller and circuit breaker. One hash per scope (upstream + model)
 * holds the budget model, a sorted set holds in-flight leases (scored by expiry, so a dead worker's
 * leases lapse on their own), and one hash holds the breaker. Every replica changes them only here,
 * atomically: a per-process counter would multiply with the number of replicas.
 *
 * Limiter hash fields: lim_r, lim_t (per-minute limits, 0 = unknown), cap_r, cap_t (burst capacity,
 * inferred from remaining + reset), lvl_r, lvl_t (budget left now), ts (ms of lvl_*), paused_until
 * (ms), lat (EWMA latency ms), tok (EWMA tokens charged per call), target (concurrency), granted,
 * rate_limited (counters).
 * Breaker hash fields: state (closed | open | half_open), consec, opened_at, probes, win_start,
 * win_ok, win_fail, opened (counter).
 */

const REFILL = `
local function num(v, d) return tonumber(v) or d end
local f = redis.call('HMGET', KEYS[1], 'lim_r', 'lim_t', 'cap_r', 'cap_t', 'lvl_r', 'lvl_t', 'ts', 'paused_until', 'target', 'lat', 'tok')
local lim_r, lim_t = num(f[1], 0), num(f[2], 0)
local cap_r, cap_t = num(f[3], 0), num(f[4], 0)
local lvl_r, lvl_t = num(f[5], 0), num(f[6], 0)
local paused_until = num(f[8], 0)
local lat, tok = num(f[10], 0), num(f[11], 0)
-- Never move the clock backwards: refill is counted once, from the latest time seen.
local ts = num(f[7], now)
local dt = math.max(0, now - ts)
ts = math.max(ts, now)
if lim_r > 0 then lvl_r = math.min(cap_r, lvl_r + dt * lim_r / 60000) end
if lim_t > 0 then lvl_t = math.min(cap_t, lvl_t + dt * lim_t / 60000) end
`;

/**
 * Ask to make one call.
 * KEYS[1] limiter hash, KEYS[2] leases zset, KEYS[3] breaker hash, KEYS[4] waiters zset (priority
 * order), KEYS[5] waiter expiry zset
 * ARGV[1] now ms ('' = Redis TIME), ARGV[2] estimated tokens, ARGV[3] holder (lease id), ARGV[4]
 * lease ttl ms, ARGV[5] initial concurrency, ARGV[6] breaker cooldown ms, ARGV[7] half-open probes,
 * ARGV[8] caller priority (lower first), ARGV[9] longest wait the caller will poll again within, ms
 * Returns {code, wait ms, reason, probe}: code 1 = granted, 0 = wait, -1 = can never fit.
 */
export const ACQUIRE = `
-- One clock for every replica: Redis's own (an explicit ARGV[1] is for tests). Client clocks differ
-- between hosts, and calls from several processes arrive out of order.
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local est = tonumber(ARGV[2])
local cb = redis.call('HMGET', KEYS[3], 'state', 'opened_at', 'probes')
local cstate = cb[1] or 'closed'
local probe = 0
if cstate == 'open' then
  local reopen = (tonumber(cb[2]) or 0) + tonumber(ARGV[6])
  if now < reopen then return {0, reopen - now, 'breaker_open', 0} end
  cstate = 'half_open'
  redis.call('HSET', KEYS[3], 'state', 'half_open', 'probes', 0)
  cb[3] = '0'
end
if cstate == 'half_open' then
  if (tonumber(cb[3]) or 0) >= tonumber(ARGV[7]) then return {0, 100, 'breaker_half_open', 0} end
  probe = 1
end
${REFILL}
redis.call('HSET', KEYS[1], 'lvl_r', lvl_r, 'lvl_t', lvl_t, 'ts', ts)
if lim_t > 0 and cap_t > 0 and est > cap_t then return {-1, 0, 'too_large', 0} end
-- Callers waiting for budget queue in priority order (then arrival), so a high-tier job that just
-- arrived is served before jobs of lower tiers that were already waiting. A waiter that stops
-- asking (handed back, or its worker died) drops out when its entry expires.
local holder = ARGV[3]
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
if not redis.call('ZSCORE', KEYS[4], holder) then
  redis.call('ZADD', KEYS[4], tonumber(ARGV[8]) * 1e13 + now, holder)
end
local function wait(ms, reason)
  redis.call('ZADD', KEYS[5], now + math.min(ms, tonumber(ARGV[9])) + 500, holder)
  return {0, ms, reason, 0}
end
if paused_until > now then return wait(paused_until - now, 'paused') end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
-- A lease held under this id belonged to an earlier run of the same job (its worker died): drop it.
redis.call('ZREM', KEYS[2], holder)
local target = math.floor(num(f[9], tonumber(ARGV[5])))
local slots = target - redis.call('ZCARD', KEYS[2])
if slots <= 0 then return wait(20, 'concurrency') end
if lim_r > 0 and lvl_r < 1 then return wait(math.ceil((1 - lvl_r) * 60000 / lim_r), 'requests') end
if lim_t > 0 and lvl_t < est then return wait(math.ceil((est - lvl_t) * 60000 / lim_t), 'tokens') end
-- Budget for n calls now: only the first n waiters in line may take it.
local n = slots
if lim_r > 0 then n = math.min(n, math.floor(lvl_r)) end
if lim_t > 0 then n = math.min(n, math.floor(lvl_t / est)) end
local rank = redis.call('ZRANK', KEYS[4], holder)
if rank >= n then
  -- Ask again about when the budget for the callers ahead will have come in (at most 250 ms).
  local ms = 10
  if lim_r > 0 then ms = math.max(ms, math.ceil((rank - n + 1) * 60000 / lim_r)) end
  return wait(math.min(ms, 250), 'queued')
end
redis.call('ZREM', KEYS[4], holder)
redis.call('ZREM', KEYS[5], holder)
if lim_r > 0 then lvl_r = lvl_r - 1 end
if lim_t > 0 then lvl_t = lvl_t - est end
redis.call('HSET', KEYS[1], 'lvl_r', lvl_r, 'lvl_t', lvl_t)
redis.call('HINCRBY', KEYS[1], 'granted', 1)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
if probe == 1 then redis.call('HINCRBY', KEYS[3], 'probes', 1) end
return {1, 0, 'ok', probe}
`;

/**
 * Leave the admission line (the caller stops waiting: handed back to the queue).
 * KEYS[1] waiters zset, KEYS[2] waiter expiry zset; ARGV[1] holder
 */
export const FORGET = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/**
 * Report how a granted call ended, with what the upstream's headers said.
 * KEYS[1] limiter hash, KEYS[2] leases zset, KEYS[3] breaker hash
 * ARGV[1] now, ARGV[2] lease id, ARGV[3] reserved tokens, ARGV[4] charged tokens (-1 = as reserved),
 * ARGV[5] latency ms (-1 = none), ARGV[6] outcome: ok | failure | neutral | rate_limited,
 * ARGV[7] probe 0/1, ARGV[8..13] header limit_r, limit_t, remaining_r, remaining_t, reset_r ms,
 * reset_t ms (-1 = unknown), ARGV[14] pause ms (rate_limited), ARGV[15] initial concurrency,
 * ARGV[16] max concurrency, ARGV[17] concurrency headroom, ARGV[18] breaker consecutive failures,
 * ARGV[19] breaker error rate, ARGV[20] breaker min requests, ARGV[21] breaker window ms,
 * ARGV[22] breaker cooldown ms
 * Returns {target concurrency (floored), breaker state}.
 */
export const SETTLE = `
-- One clock for every replica: Redis's own (an explicit ARGV[1] is for tests). Client clocks differ
-- between hosts, and calls from several processes arrive out of order.
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZREM', KEYS[2], ARGV[2])
${REFILL}
local est = tonumber(ARGV[3])
local charged = tonumber(ARGV[4])
local outcome = ARGV[6]
if outcome == 'rate_limited' then
  -- The upstream refused the call, so it cost nothing; the headers below say what is left.
  if lim_r > 0 then lvl_r = lvl_r + 1 end
  if lim_t > 0 then lvl_t = lvl_t + est end
  paused_until = math.max(paused_until, now + tonumber(ARGV[14]))
  redis.call('HINCRBY', KEYS[1], 'rate_limited', 1)
elseif charged >= 0 and lim_t > 0 then
  lvl_t = lvl_t + est - charged
end
local inflight = redis.call('ZCARD', KEYS[2])
local h_lim_r, h_lim_t = tonumber(ARGV[8]), tonumber(ARGV[9])
local h_rem_r, h_rem_t = tonumber(ARGV[10]), tonumber(ARGV[11])
local h_reset_r, h_reset_t = tonumber(ARGV[12]), tonumber(ARGV[13])
if h_lim_r > 0 then
  local first = lim_r == 0
  lim_r = h_lim_r
  if h_rem_r >= 0 and h_reset_r >= 0 then cap_r = math.max(1, math.floor(h_rem_r + h_reset_r * lim_r / 60000))
  elseif cap_r == 0 then cap_r = lim_r end
  if first then lvl_r = math.max(0, (h_rem_r >= 0 and h_rem_r or cap_r) - inflight) end
  if h_rem_r >= 0 then lvl_r = math.min(lvl_r, h_rem_r) end
end
if h_lim_t > 0 then
  local first = lim_t == 0
  lim_t = h_lim_t
  if h_rem_t >= 0 and h_reset_t >= 0 then cap_t = math.max(1, math.floor(h_rem_t + h_reset_t * lim_t / 60000))
  elseif cap_t == 0 then cap_t = lim_t end
  if first then lvl_t = math.max(0, (h_rem_t >= 0 and h_rem_t or cap_t) - inflight * est) end
  if h_rem_t >= 0 then lvl_t = math.min(lvl_t, h_rem_t) end
end
local latency = tonumber(ARGV[5])
if outcome == 'ok' and latency >= 0 then
  lat = (lat == 0) and latency or (0.8 * lat + 0.2 * latency)
  local c = charged >= 0 and charged or est
  tok = (tok == 0) and c or (0.8 * tok + 0.2 * c)
end
-- Little's law: calls in flight = throughput x latency, with headroom so the budget stays in use.
local target = tonumber(ARGV[15])
-- The budget allows the refill rate plus whatever is banked now, spent over the next BURST_MS: a
-- full per-minute bucket is used at once, a drained one at the sustained rate.
local BURST_MS = 2000
local per_ms = nil
if lim_r > 0 then per_ms = lim_r / 60000 + math.max(0, lvl_r) / BURST_MS end
if lim_t > 0 and tok > 0 then
  local t = (lim_t / 60000 + math.max(0, lvl_t) / BURST_MS) / tok
  if per_ms == nil or t < per_ms then per_ms = t end
end
if per_ms ~= nil and lat > 0 then
  target = math.ceil(per_ms * lat * tonumber(ARGV[17])) + 1
else
  -- No limits in the headers: additive increase per round trip, multiplicative decrease on trouble.
  target = num(f[9], target)
  if outcome == 'ok' then target = target + 1 / target
  elseif outcome == 'rate_limited' or outcome == 'failure' then target = target / 2 end
end
target = math.max(1, math.min(tonumber(ARGV[16]), target))
redis.call('HSET', KEYS[1], 'lim_r', lim_r, 'lim_t', lim_t, 'cap_r', cap_r, 'cap_t', cap_t,
  'lvl_r', lvl_r, 'lvl_t', lvl_t, 'ts', ts, 'paused_until', paused_until, 'lat', lat, 'tok', tok, 'target', target)

local b = redis.call('HMGET', KEYS[3], 'state', 'consec', 'win_start', 'win_ok', 'win_fail', 'probes')
local state = b[1] or 'closed'
local consec = tonumber(b[2]) or 0
local win_start, win_ok, win_fail = tonumber(b[3]) or now, tonumber(b[4]) or 0, tonumber(b[5]) or 0
if now - win_start > tonumber(ARGV[21]) then win_start, win_ok, win_fail = now, 0, 0 end
if outcome == 'ok' then
  consec = 0
  win_ok = win_ok + 1
  if state == 'half_open' then state, win_ok, win_fail = 'closed', 0, 0 end
elseif outcome == 'failure' then
  consec = consec + 1
  win_fail = win_fail + 1
  local total = win_ok + win_fail
  if state == 'half_open' or consec >= tonumber(ARGV[18])
    or (total >= tonumber(ARGV[20]) and win_fail / total >= tonumber(ARGV[19])) then
    if state ~= 'open' then redis.call('HINCRBY', KEYS[3], 'opened', 1) end
    state = 'open'
    redis.call('HSET', KEYS[3], 'opened_at', now, 'reopen_at', now + tonumber(ARGV[22]))
    consec, win_start, win_ok, win_fail = 0, now, 0, 0
  end
end
local probes = tonumber(b[6]) or 0
if ARGV[7] == '1' then probes = math.max(0, probes - 1) end
redis.call('HSET', KEYS[3], 'state', state, 'consec', consec, 'win_start', win_start, 'win_ok', win_ok,
  'win_fail', win_fail, 'probes', probes)
return {math.floor(target), state}
`;
