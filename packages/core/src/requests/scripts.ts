/**
 * Lua scripts for request-record transitions. Each runs atomically, so a cancel racing a worker,
 * or two workers racing after a stall, can never produce two terminal states.
 */

/**
 * Create a request record, honouring an idempotency key.
 * KEYS[1] request hash, KEYS[2] idempotency key ('' = none), KEYS[3] open-requests zset
 * ARGV[1] request id, ARGV[2] created_at ms, ARGV[3] record ttl s, ARGV[4] idempotency value,
 * ARGV[5] idempotency ttl s, ARGV[6..] field/value pairs
 * Returns nil when created, '__exists__' if the record already exists, else the existing
 * idempotency value.
 */
export const CREATE_REQUEST = `
-- Never overwrite: a batch re-enqueued after a crash must not reset lines that already ran.
if redis.call('EXISTS', KEYS[1]) == 1 then return '__exists__' end
if KEYS[2] ~= '' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return existing end
end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[1])
if KEYS[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', tonumber(ARGV[5]))
end
return nil
`;

/**
 * Create the records of many batch lines in one call (no idempotency keys; a line's id is its key).
 * KEYS[1] open-requests zset, KEYS[2..] request hashes, one per line
 * ARGV[1] created_at ms, ARGV[2] record ttl s, ARGV[3] number of shared field/value pairs S,
 * ARGV[4 .. 3+2S] the shared pairs, then five values per line: id, model, custom_id, line, body.
 * Existing records are left alone (a chunk re-added after a crash). Returns how many were created.
 */
export const CREATE_BATCH_LINES = `
local shared = {}
local s = tonumber(ARGV[3])
for i = 4, 3 + 2 * s do shared[#shared + 1] = ARGV[i] end
local created = 0
local base = 4 + 2 * s
for k = 2, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 0 then
    local j = base + (k - 2) * 5
    redis.call('HSET', KEYS[k], 'id', ARGV[j], 'model', ARGV[j + 1], 'custom_id', ARGV[j + 2],
      'line', ARGV[j + 3], 'body', ARGV[j + 4], unpack(shared))
    redis.call('EXPIRE', KEYS[k], tonumber(ARGV[2]))
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), ARGV[j])
    created = created + 1
  end
end
return created
`;

/**
 * Move a request to in_progress for an attempt.
 * KEYS[1] request hash; ARGV[1] now ms, ARGV[2] attempt number
 * Returns 'ok', 'missing', or the terminal status it already has.
 */
export const START_ATTEMPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'completed' or status == 'failed' or status == 'cancelled' then return status end
redis.call('HSET', KEYS[1], 'status', 'in_progress', 'attempts', ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'started_at') == 0 then
  redis.call('HSET', KEYS[1], 'started_at', ARGV[1])
end
return 'ok'
`;

/**
 * Put an in-progress request back to queued while it waits for a retry.
 * KEYS[1] request hash; ARGV[1] last error JSON
 * Returns 'ok', 'missing', or the status it has.
 */
export const REQUEUE = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'in_progress' and status ~= 'queued' then return status end
redis.call('HSET', KEYS[1], 'status', 'queued', 'last_error', ARGV[1])
return 'ok'
`;

/**
 * Move a request to a terminal state, once.
 * KEYS[1] request hash, KEYS[2] open-requests zset, KEYS[3] completions bucket counter,
 * KEYS[4] webhook outbox zset, KEYS[5] the batch hash of a batch line ('' otherwise),
 * KEYS[6] durations bucket counter (ms from first start to completion, for estimates)
 * ARGV[1] terminal status, ARGV[2] now ms, ARGV[3] result ttl s (for a batch line, counted from the
 * end of its batch's window), ARGV[4] pub/sub channel,
 * ARGV[5] request id, ARGV[6] required current status ('' = any non-terminal), ARGV[7] prompt tokens,
 * ARGV[8] completion tokens, ARGV[9..] field/value pairs
 * A request's terminal event is queued in the webhook outbox in the same step; a batch line instead
 * counts towards its batch (request_counts and usage), also in the same step.
 * Returns 'ok', 'missing', or the status that prevented the change.
 */
export const FINISH = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'completed' or status == 'failed' or status == 'cancelled' then return status end
if ARGV[6] ~= '' and status ~= ARGV[6] then return status end
local fields = {'status', ARGV[1], 'completed_at', ARGV[2]}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HDEL', KEYS[1], 'body')
local ttl = tonumber(ARGV[3])
if KEYS[5] ~= '' then
  -- A batch line is read again when its batch finalizes, up to the end of the window: keep it until
  -- then, plus the usual retention.
  local expires = tonumber(redis.call('HGET', KEYS[5], 'expires_at') or '0')
  local untilEnd = math.ceil((expires - tonumber(ARGV[2])) / 1000)
  if untilEnd > 0 then ttl = ttl + untilEnd end
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZREM', KEYS[2], ARGV[5])
if ARGV[1] == 'completed' then
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], 120)
  local started = tonumber(redis.call('HGET', KEYS[1], 'started_at') or '0')
  if started > 0 then
    redis.call('INCRBY', KEYS[6], math.max(0, tonumber(ARGV[2]) - started))
    redis.call('EXPIRE', KEYS[6], 120)
  end
end
if KEYS[5] ~= '' then
  redis.call('HINCRBY', KEYS[5], ARGV[1], 1)
  redis.call('HINCRBY', KEYS[5], 'input_tokens', tonumber(ARGV[7]))
  redis.call('HINCRBY', KEYS[5], 'output_tokens', tonumber(ARGV[8]))
else
  redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[5])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 'ok'
`;
