import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { SimConfig, SimConfigPatch } from './config.js';
import type { CallFilter, CallQueryResult } from './observe/call-log.js';
import type { SimStats } from './observe/stats.js';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.js';

export interface StartOptions extends SimulatorOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1, which is what keeps the unauthenticated /_sim routes private. */
  host?: string;
}

export interface RunningSimulator {
  /** OpenAI base URL, e.g. `http://127.0.0.1:8787/v1`. */
  url: string;
  /** Server root, e.g. `http://127.0.0.1:8787`, for /healthz and /_sim. */
  origin: string;
  port: number;
  simulator: Simulator;
  stats(): SimStats;
  config(): SimConfig;
  configure(patch: SimConfigPatch): SimConfig;
  reset(): void;
  calls(filter?: CallFilter): CallQueryResult;
  /** Stops listening, cuts open (including hung) connections; safe to call twice. */
  close(): Promise<void>;
}

/** Starts a simulator on `host:port` and resolves once it listens. */
export async function startSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const { port = 0, host = '127.0.0.1', ...simulatorOptions } = options;
  const simulator = createSimulator(simulatorOptions);
  // overrideGlobalObjects: false keeps the process-wide Request/Response untouched for in-process callers.
  const server = createAdaptorServer({ fetch: simulator.app.fetch, overrideGlobalObjects: false }) as Server;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostForUrl}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      simulator.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    url: `${origin}/v1`,
    origin,
    port: address.port,
    simulator,
    stats: simulator.stats,
    config: simulator.config,
    configure: simulator.configure,
    reset: simulator.reset,
    calls: simulator.calls,
    close,
  };
}
