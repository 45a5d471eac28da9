/**
 * One run of `pnpm bench:batch`: start the processes, write the input file, upload it with the openai SDK,
 * create the batch, follow it every `pollMs` (batches.retrieve for its status and counts, the Redis hash
 * `<prefix>:batch:<id>` for `enqueued`, which the Batch object does not carry), send interactive requests
 * while it drains, and check the output file. Every phase has a hard time limit.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI, { toFile } from 'openai';
import { checkOutput, LINE_MAX_TOKENS, type OutputCheck, writeInputFile } from './batch-file.js';
import { CpuMeter, type CpuShare, type PhaseMemory, pidListeningOn, RssSampler } from './batch-proc.js';
import { type BatchStack, type Measured, startBatchStack } from './batch-stack.js';
import { type Outcome, openLoop, sluiceRequest } from './clients.js';
import type { Limits } from './config.js';
import { type Ceiling, ceilingOf, type SimStats, type Summary, summarize } from './stats.js';

export interface BatchSettings {
  lines: number;
  limits: Limits;
  /** How often the batch is polled, ms. */
  pollMs: number;
  /** Idle reference: this many interactive requests before the batch, one every `interactiveEveryMs`. */
  idleInteractive: number;
  interactiveEveryMs: number;
  /**
   * Interactive requests from the moment the batch is `in_progress` (so while it is enqueued) until this
   * long after every line was enqueued (while it drains), s.
   */
  interactiveSeconds: number;
  /** Hard limits of each phase, s. */
  limitsSeconds: {
    generate: number;
    upload: number;
    validate: number;
    enqueue: number;
    drain: number;
    finalize: number;
    download: number;
    interactive: number;
  };
}

export interface Interactive {
  sent: number;
  completed: number;
  failed: number;
  open: number;
  /** Send → completed, ms. */
  latency: Summary;
  /** Send → 202, ms. */
  ack: Summary;
  failures: Record<string, number>;
  /** Requests sent while batch lines were still waiting (before every line had ended). */
  overlapping: number;
  /** Completed requests that took longer than 1 s. */
  overOneSecond: number;
}

export interface BatchRunResult {
  settings: BatchSettings;
  processes: { api: Measured; worker: Measured; redisPid?: number; simPid?: number };
  file: { bytes: number; seconds: number };
  /** files.create: start → File object, s. */
  upload?: { seconds: number; fileId: string; bytes: number };
  batchId?: string;
  /** batches.create call, ms. */
  createMs?: number;
  /** batches.create answered → `in_progress` seen by a poll, ms; and the server's own stamps, ms. */
  validation?: { observedMs: number; serverMs?: number };
  enqueue?: {
    /** `in_progress` seen → `enqueued` ≥ total seen (Redis hash), ms. */
    observedMs?: number;
    /** Upload started → every line enqueued (the goal's measure), ms. */
    uploadToEnqueuedMs?: number;
    /** Lines ÷ (server in_progress_at → enqueued seen), per second. */
    perSecond?: number;
    /** Lines enqueued when measuring stopped (if it timed out). */
    reached: number;
    total: number;
    timedOut: boolean;
    /** Completions-queue jobs by state (API /metrics) when enqueueing was seen done. */
    queueAtDone?: Record<string, number>;
    /** Lines already ended when enqueueing was seen done. */
    endedAtDone?: number;
    /** Enqueueing rate per fifth of the file (lines/s between the polls that saw each fifth's end). */
    perFifth?: number[];
  };
  drain?: {
    /** Server in_progress_at → every line ended (completed + failed = total) seen, s. */
    seconds: number;
    ended: number;
    total: number;
    timedOut: boolean;
    /** Lines ended per second over the window. */
    perSecond: number;
    /** For a capped drain: total ÷ perSecond. */
    projectedSeconds?: number;
    sim: SimStats;
    ceiling: Ceiling;
    /** Batch lines ended per second after enqueueing finished (steady state), if measurable. */
    steadyPerSecond?: number;
    /** BullMQ global concurrency of the completions queue sampled during the drain. */
    globalConcurrency?: Summary;
  };
  /** Every line ended → `completed` seen (the sweeper's tick + writing the output file), s. */
  finalizeSeconds?: number;
  finalizeTimedOut?: boolean;
  /** batches.create → `completed`, s. */
  createToCompletedSeconds?: number;
  status?: string;
  requestCounts?: { total: number; completed: number; failed: number };
  output?: OutputCheck & { seconds: number };
  errorFile?: OutputCheck;
  memory: Record<string, Map<string, PhaseMemory>>;
  redisMemory?: { afterEnqueue?: number; peak?: number };
  cpu: Record<string, Record<string, CpuShare>>;
  interactive: {
    idle?: Interactive;
    /** Sent between `in_progress` and every line enqueued. */
    duringEnqueue?: Interactive;
    /** Sent after every line was enqueued, while lines were draining. */
    duringDrain?: Interactive;
  };
  problems: string[];
  notes: string[];
  /** The first error that stopped the run early, if any. */
  error?: string;
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const now = () => performance.now();

/** Redis fields of the batch hash this benchmark reads. */
interface HashView {
  status?: string;
  enqueued: number;
  total: number;
  createdAt?: number;
  inProgressAt?: number;
  concurrency?: number;
}

async function readHash(stack: BatchStack, batchId: string): Promise<HashView> {
  const replies = await stack.redis
    .pipeline()
    .hmget(`${stack.prefix}:batch:${batchId}`, 'status', 'enqueued', 'total', 'created_at', 'in_progress_at')
    // BullMQ's global concurrency of the completions queue, which the worker sets from the controller's target.
    .hget(`${stack.prefix}:q:completions:meta`, 'concurrency')
    .exec();
  const [status, enqueued, total, createdAt, inProgressAt] = (replies?.[0]?.[1] ?? []) as (string | null)[];
  const concurrency = replies?.[1]?.[1] as string | null | undefined;
  return {
    ...(concurrency && { concurrency: Number(concurrency) }),
    ...(status && { status }),
    enqueued: Number(enqueued ?? 0),
    total: Number(total ?? 0),
    ...(createdAt && { createdAt: Number(createdAt) }),
    ...(inProgressAt && { inProgressAt: Number(inProgressAt) }),
  };
}

function interactiveOf(outcomes: Outcome[], overlapping: (o: Outcome) => boolean): Interactive {
  const failures: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.status === 'failed') failures[o.code ?? 'unknown'] = (failures[o.code ?? 'unknown'] ?? 0) + 1;
    if (o.status === 'open') failures[`open: ${o.lastSeen ?? '?'}`] = 1;
  }
  return {
    sent: outcomes.length,
    completed: outcomes.filter((o) => o.status === 'completed').length,
    failed: outcomes.filter((o) => o.status === 'failed' || o.status === 'cancelled').length,
    open: outcomes.filter((o) => o.status === 'open').length,
    latency: summarize(outcomes.flatMap((o) => (o.status === 'completed' && o.doneMs ? [o.doneMs] : []))),
    ack: summarize(outcomes.flatMap((o) => (o.ackMs === undefined ? [] : [o.ackMs]))),
    failures,
    overlapping: outcomes.filter(overlapping).length,
    overOneSecond: outcomes.filter((o) => o.status === 'completed' && (o.doneMs ?? 0) > 1_000).length,
  };
}

async function redisMemory(stack: BatchStack): Promise<{ used?: number; peak?: number }> {
  try {
    const info = await stack.redis.info('memory');
    const field = (name: string) => {
      const v = new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1];
      return v ? Number(v) : undefined;
    };
    return { used: field('used_memory'), peak: field('used_memory_peak') };
  } catch {
    return {};
  }
}

/** Runs the whole benchmark once; never throws (a failure is recorded in `error`). */
export async function runBatch(settings: BatchSettings): Promise<BatchRunResult> {
  const L = settings.limitsSeconds;
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-batch-'));
  const inputPath = join(workDir, 'input.jsonl');
  const result: BatchRunResult = {
    settings,
    processes: { api: { pid: 0, how: 'not started' }, worker: { pid: 0, how: 'not started' } },
    file: { bytes: 0, seconds: 0 },
    memory: {},
    cpu: {},
    interactive: {},
    problems: [],
    notes: [],
  };
  let stack: BatchStack | undefined;
  let sampler: RssSampler | undefined;
  const stopAll = new AbortController();
  try {
    // ------------------------------------------------------------ the input file (before any process)
    log(`writing ${settings.lines.toLocaleString('en-US')} lines to ${inputPath}`);
    let t = now();
    result.file.bytes = await writeInputFile(
      inputPath,
      settings.lines,
      AbortSignal.timeout(L.generate * 1000),
    );
    result.file.seconds = (now() - t) / 1000;

    // ------------------------------------------------------------ processes
    log('starting redis-server, the simulator, the API and one worker');
    stack = await startBatchStack(settings.limits);
    const simPid = pidListeningOn(Number(new URL(stack.sim.origin).port));
    result.processes = {
      api: stack.api,
      worker: stack.worker,
      ...(stack.redisPid !== undefined && { redisPid: stack.redisPid }),
      ...(simPid !== undefined && { simPid }),
    };
    log(`API measured as ${stack.api.how}`);
    log(`worker measured as ${stack.worker.how}`);
    const pids: Record<string, number> = { api: stack.api.pid, worker: stack.worker.pid };
    if (stack.redisPid !== undefined) pids.redis = stack.redisPid;
    if (simPid !== undefined) pids.simulator = simPid;
    sampler = new RssSampler({ api: stack.api.pid, worker: stack.worker.pid }, 100);
    sampler.start();
    const cpu = new CpuMeter(pids);

    sampler.begin('run');
    const apiUrl = stack.apiUrl;
    const owner = await stack.createTenant('bench-batch-owner', 'pro');
    const interactiveTenant = await stack.createTenant('bench-interactive', 'pro');
    const openai = new OpenAI({ apiKey: owner.key, baseURL: `${stack.apiUrl}/v1`, maxRetries: 0 });

    // ------------------------------------------------------------ idle reference for interactive latency
    const idleCount = settings.idleInteractive;
    log(`idle reference: ${idleCount} interactive requests, one every ${settings.interactiveEveryMs} ms`);
    const idleDeadline = now() + L.interactive * 1000;
    const idle = await Promise.all(
      await openLoop(idleCount, 1000 / settings.interactiveEveryMs, () =>
        sluiceRequest(apiUrl, interactiveTenant, idleDeadline, stopAll.signal),
      ),
    );
    result.interactive.idle = interactiveOf(idle, () => false);

    // ------------------------------------------------------------ upload
    sampler.begin('idle');
    await delay(300);
    sampler.end('idle');
    sampler.begin('upload+enqueue');
    cpu.mark('upload');
    log('uploading the file with openai.files.create');
    const uploadStart = now();
    const file = await openai.files.create(
      { file: await toFile(createReadStream(inputPath), 'bench-batch.jsonl'), purpose: 'batch' },
      { timeout: L.upload * 1000, signal: AbortSignal.timeout(L.upload * 1000) },
    );
    result.upload = { seconds: (now() - uploadStart) / 1000, fileId: file.id, bytes: file.bytes };
    log(`uploaded ${file.bytes.toLocaleString('en-US')} bytes in ${result.upload.seconds.toFixed(2)} s`);
    if (file.bytes !== result.file.bytes) {
      result.notes.push(`the File object says ${file.bytes} bytes; ${result.file.bytes} were written`);
    }
    cpu.mark('uploaded');

    // ------------------------------------------------------------ create and follow the batch
    // Every bucket full again (the idle requests used some), and the upstream counters at zero.
    await stack.sim.reset();
    t = now();
    const batch = await openai.batches.create(
      { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' },
      { timeout: 30_000 },
    );
    const created = now();
    result.batchId = batch.id;
    result.createMs = created - t;
    log(`created ${batch.id} (${batch.status}) in ${result.createMs.toFixed(0)} ms`);

    let inProgressSeen: number | undefined;
    let enqueuedSeen: number | undefined;
    let endedSeen: number | undefined;
    let completedSeen: number | undefined;
    let serverInProgressAt: number | undefined;
    let serverCreatedAt: number | undefined;
    let last: OpenAI.Batches.Batch = batch;
    let hash: HashView = { enqueued: 0, total: 0 };
    /** (time, ended) once enqueueing is done, for the steady-state drain rate. */
    const endedTrace: { at: number; ended: number }[] = [];
    let interactiveRun: Promise<Outcome[]> | undefined;
    let endedCount = 0;
    const concurrencySamples: number[] = [];
    /** (time, enqueued) while enqueueing, from server in_progress_at on. */
    const enqueueTrace: { at: number; enqueued: number }[] = [];
    let simAtEnded: SimStats | undefined;
    let lastProgress = created;
    let pollErrors = 0;
    let lastPollError = '';
    let phase: 'validate' | 'enqueue' | 'drain' | 'finalize' = 'validate';
    let phaseStart = created;
    const phaseLimit = () => L[phase] * 1000;
    const ended = () => (last.request_counts?.completed ?? 0) + (last.request_counts?.failed ?? 0);
    const wallOffset = Date.now() - now();

    // Set once every line is enqueued (or measuring stops): interactive sending ends then + interactiveSeconds.
    let interactiveStopAt = Number.POSITIVE_INFINITY;
    const startInteractive = () => {
      log(
        `interactive: one pro-tier request every ${settings.interactiveEveryMs} ms until ` +
          `${settings.interactiveSeconds} s after every line is enqueued`,
      );
      interactiveRun = (async () => {
        const sent: Promise<Outcome>[] = [];
        const start = now();
        // Open loop on a fixed schedule; stops at the latest when measuring stops (stopAll).
        while (!stopAll.signal.aborted && now() < interactiveStopAt) {
          sent.push(sluiceRequest(apiUrl, interactiveTenant, now() + L.interactive * 1000, stopAll.signal));
          const nextAt = start + sent.length * settings.interactiveEveryMs;
          await delay(Math.max(0, nextAt - now()));
        }
        return Promise.all(sent);
      })();
    };

    for (;;) {
      const tick = now();
      if (tick - phaseStart > phaseLimit()) {
        log(`${phase}: hard limit of ${phaseLimit() / 1000} s reached; stopping measurement`);
        break;
      }
      try {
        const [b, h] = await Promise.all([
          openai.batches.retrieve(batch.id, { timeout: 10_000 }),
          readHash(stack, batch.id),
        ]);
        last = b;
        hash = h;
        serverCreatedAt ??= h.createdAt;
        serverInProgressAt ??= h.inProgressAt;
      } catch (err) {
        pollErrors++;
        lastPollError = err instanceof Error ? err.message : String(err);
      }
      const at = now();
      if (['failed', 'cancelled', 'expired'].includes(last.status)) {
        result.error = `the batch ended ${last.status}: ${JSON.stringify(last.errors ?? null).slice(0, 500)}`;
        break;
      }
      if (phase === 'validate' && last.status !== 'validating') {
        inProgressSeen = at;
        phase = 'enqueue';
        phaseStart = at;
        log(
          `in_progress after ${((at - created) / 1000).toFixed(2)} s (total ${last.request_counts?.total})`,
        );
        cpu.mark('in_progress');
        startInteractive();
      }
      if (phase === 'enqueue') enqueueTrace.push({ at, enqueued: hash.enqueued });
      if (phase === 'enqueue' && hash.total > 0 && hash.enqueued >= hash.total) {
        enqueuedSeen = at;
        interactiveStopAt = at + settings.interactiveSeconds * 1000;
        phase = 'drain';
        phaseStart = at;
        sampler.end('upload+enqueue');
        sampler.begin('drain');
        cpu.mark('enqueued');
        const queue = await stack.apiMetrics();
        const states: Record<string, number> = {};
        for (const s of queue) if (s.name === 'sluice_queue_jobs') states[s.labels.state ?? '?'] = s.value;
        const mem = await redisMemory(stack);
        result.redisMemory = { ...(mem.used !== undefined && { afterEnqueue: mem.used }) };
        result.enqueue = {
          reached: hash.enqueued,
          total: hash.total,
          timedOut: false,
          queueAtDone: states,
          endedAtDone: ended(),
        };
        log(
          `all ${hash.total.toLocaleString('en-US')} lines enqueued ${((at - uploadStart) / 1000).toFixed(2)} s ` +
            `after the upload started (${ended()} already ended)`,
        );
      }
      if (phase === 'drain') {
        endedTrace.push({ at, ended: ended() });
        if (hash.concurrency !== undefined) concurrencySamples.push(hash.concurrency);
        if (last.status === 'finalizing' || last.status === 'completed' || ended() >= hash.total) {
          endedSeen = at;
          phase = 'finalize';
          phaseStart = at;
          cpu.mark('ended');
          endedCount = ended();
          simAtEnded = await stack.sim.stats();
          log(`every line ended ${((at - created) / 1000).toFixed(1)} s after create`);
        }
      }
      if (phase === 'finalize' && last.status === 'completed') {
        completedSeen = at;
        cpu.mark('completed');
        sampler.end('drain');
        log(`completed ${((at - created) / 1000).toFixed(1)} s after create`);
        break;
      }
      if (at - lastProgress >= 15_000) {
        lastProgress = at;
        log(
          `${phase}: ${last.status}, enqueued ${hash.enqueued.toLocaleString('en-US')}, ended ` +
            `${ended().toLocaleString('en-US')} of ${hash.total.toLocaleString('en-US')}`,
        );
      }
      await delay(Math.max(0, settings.pollMs - (now() - tick)));
    }
    if (pollErrors > 0)
      result.notes.push(`${pollErrors} polls failed; the last: ${lastPollError.slice(0, 200)}`);

    // ------------------------------------------------------------ what was reached
    result.status = last.status;
    result.requestCounts = last.request_counts;
    const total = hash.total || last.request_counts?.total || settings.lines;
    if (inProgressSeen !== undefined) {
      result.validation = {
        observedMs: inProgressSeen - created,
        ...(serverInProgressAt !== undefined &&
          serverCreatedAt !== undefined && { serverMs: serverInProgressAt - serverCreatedAt }),
      };
    }
    const windowStart =
      serverInProgressAt !== undefined ? serverInProgressAt - wallOffset : (inProgressSeen ?? created);
    if (inProgressSeen !== undefined) {
      result.enqueue ??= { reached: hash.enqueued, total, timedOut: true };
      // The rate over each fifth of the file: does enqueueing slow down as the queue fills?
      const fifths: number[] = [];
      let from = { at: windowStart, enqueued: 0 };
      for (let k = 1; k <= 5; k++) {
        const to = enqueueTrace.find((p) => p.enqueued >= (total * k) / 5);
        if (!to || to.at <= from.at) break;
        fifths.push((to.enqueued - from.enqueued) / ((to.at - from.at) / 1000));
        from = to;
      }
      if (fifths.length > 0) result.enqueue.perFifth = fifths;
      if (enqueuedSeen !== undefined) {
        result.enqueue.observedMs = enqueuedSeen - inProgressSeen;
        result.enqueue.uploadToEnqueuedMs = enqueuedSeen - uploadStart;
        result.enqueue.perSecond = total / Math.max(0.001, (enqueuedSeen - windowStart) / 1000);
      } else {
        sampler.end('upload+enqueue');
        cpu.mark('enqueued');
      }
    }
    if (enqueuedSeen !== undefined) {
      const endAt = endedSeen ?? now();
      const seconds = (endAt - windowStart) / 1000;
      const endedNow = endedSeen !== undefined ? endedCount : ended();
      const sim = simAtEnded ?? (await stack.sim.stats());
      if (endedSeen === undefined) cpu.mark('ended');
      const perSecond = endedNow / Math.max(0.001, seconds);
      // Steady state: from enqueueing done to the last line (or the cap), excluding the start-up.
      const first = endedTrace[0];
      const lastTrace = endedTrace.at(-1);
      const steady =
        first && lastTrace && lastTrace.at - first.at > 2_000
          ? (lastTrace.ended - first.ended) / ((lastTrace.at - first.at) / 1000)
          : undefined;
      result.drain = {
        seconds,
        ended: endedNow,
        total,
        timedOut: endedSeen === undefined,
        perSecond,
        ...(endedSeen === undefined && { projectedSeconds: total / Math.max(0.001, perSecond) }),
        sim,
        ceiling: ceilingOf(settings.limits, stack.sim.chargeTokens + LINE_MAX_TOKENS, seconds),
        ...(steady !== undefined && { steadyPerSecond: steady }),
        ...(concurrencySamples.length > 0 && { globalConcurrency: summarize(concurrencySamples) }),
      };
      if (endedSeen !== undefined) {
        if (completedSeen !== undefined) {
          result.finalizeSeconds = (completedSeen - endedSeen) / 1000;
          result.createToCompletedSeconds = (completedSeen - created) / 1000;
        } else {
          result.finalizeTimedOut = true;
          sampler.end('drain');
        }
      } else {
        sampler.end('drain');
      }
    }
    const mem = await redisMemory(stack);
    if (mem.peak !== undefined) result.redisMemory = { ...result.redisMemory, peak: mem.peak };

    // ------------------------------------------------------------ interactive outcomes
    if (interactiveRun) {
      interactiveStopAt = Math.min(interactiveStopAt, now());
      const outcomes = await interactiveRun;
      const endedAt = endedSeen ?? Number.POSITIVE_INFINITY;
      const enqueuedAt = enqueuedSeen ?? Number.POSITIVE_INFINITY;
      const pending = (o: Outcome) => o.sentAt < endedAt;
      result.interactive.duringEnqueue = interactiveOf(
        outcomes.filter((o) => o.sentAt < enqueuedAt),
        pending,
      );
      result.interactive.duringDrain = interactiveOf(
        outcomes.filter((o) => o.sentAt >= enqueuedAt),
        pending,
      );
    }

    // ------------------------------------------------------------ the output file
    if (completedSeen !== undefined && last.output_file_id) {
      log('downloading the output file with openai.files.content');
      t = now();
      const res = await openai.files.content(last.output_file_id, {
        timeout: L.download * 1000,
        signal: AbortSignal.timeout(L.download * 1000),
      });
      result.output = { ...(await checkOutput(res.body, total)), seconds: (now() - t) / 1000 };
      if (last.error_file_id) {
        const err = await openai.files.content(last.error_file_id, { timeout: L.download * 1000 });
        result.errorFile = await checkOutput(err.body, total);
      }
    }

    // ------------------------------------------------------------ CPU per phase
    const phases: [string, string, string][] = [
      ['upload', 'upload', 'uploaded'],
      ['validate+enqueue', 'in_progress', 'enqueued'],
      ['drain (after enqueue)', 'enqueued', 'ended'],
      ['finalize', 'ended', 'completed'],
    ];
    for (const [name, from, to] of phases) {
      const c = cpu.between(from, to);
      if (Object.keys(c).length) result.cpu[name] = c;
    }
  } catch (err) {
    result.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`stopped early: ${result.error.split('\n')[0]}`);
  } finally {
    stopAll.abort();
    sampler?.stop();
    if (sampler) result.memory = Object.fromEntries(sampler.phases);
    if (stack) {
      result.problems.push(...stack.problems());
      const warnings = stack.output('worker', 5).filter((l) => /warn|error/i.test(l));
      if (warnings.length) result.notes.push(`worker's last warnings: ${warnings.join(' | ').slice(0, 800)}`);
      log('stopping the processes');
      await stack.stop().catch((err) => result.problems.push(`stopping: ${String(err)}`));
    }
    rmSync(workDir, { recursive: true, force: true });
  }
  return result;
}
