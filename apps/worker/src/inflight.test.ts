import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { InFlight } from './inflight.js';

const job = {} as Job<unknown, string>;

describe('InFlight', () => {
  it('counts running calls and wakes idle() waiters when the last one ends', async () => {
    const inFlight = new InFlight();
    let release: () => void = () => undefined;
    const wrapped = inFlight.track<unknown, string>(
      () => new Promise<string>((resolve) => (release = () => resolve('done'))),
    );
    const running = wrapped(job);
    expect(inFlight.count).toBe(1);
    let idle = false;
    const waiting = inFlight.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(idle).toBe(false);
    release();
    expect(await running).toBe('done');
    await waiting;
    expect(inFlight.count).toBe(0);
  });

  it('still counts down when the processor throws', async () => {
    const inFlight = new InFlight();
    const wrapped = inFlight.track<unknown, string>(async () => {
      throw new Error('boom');
    });
    await expect(wrapped(job)).rejects.toThrow('boom');
    expect(inFlight.count).toBe(0);
    await inFlight.idle();
  });

  it('keeps arity 3 and passes the signal through, or BullMQ would not hand the processor its AbortSignal', async () => {
    const inFlight = new InFlight();
    const wrapped = inFlight.track<unknown, string>(
      async (_job, token, signal) => `${token}:${signal?.aborted}`,
    );
    expect(wrapped.length).toBe(3);
    const controller = new AbortController();
    controller.abort();
    expect(await wrapped(job, 'tok', controller.signal)).toBe('tok:true');
  });
});
