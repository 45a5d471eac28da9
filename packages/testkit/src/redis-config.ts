export interface StartRedisOptions {
  /** Log every write to an append-only file so data survives kill() and restart(). Default false. */
  appendOnly?: boolean;
  /**
   * fsync policy of the append-only file. Default 'always', so that a write acknowledged before kill()
   * is reliably reloaded by restart().
   */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** Port to listen on. Default: a free ephemeral port. */
  port?: number;
  /** How long to wait for the server to answer PING. Default 15_000 ms (60_000 for the Docker fallback). */
  readyTimeoutMs?: number;
}

export interface RedisServerHandle {
  /** `redis://host:port`, ready to pass to ioredis. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Data directory (AOF files, log). For the Docker fallback this is a path inside the container. */
  readonly dir: string;
  /** 'process' for a local redis-server, 'container' for the Docker fallback. */
  readonly kind: 'process' | 'container';
  /** The last lines of the server log, for diagnosing a failing test. */
  logs(): Promise<string>;
  /** Graceful shutdown (SIGTERM), then removes the data. Safe to call twice; restart() is not possible after. */
  stop(): Promise<void>;
  /** SIGKILL, simulating a crash; the data directory is kept so restart() can reload the AOF. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (gracefully stopping it first if running). */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP) for `durationMs`, simulating a hung Redis; resolves once it runs again. */
  pause(durationMs: number): Promise<void>;
}

/** Settings shared by the local process and the container. */
export function redisConfigArgs(options: StartRedisOptions, dir: string): string[] {
  return [
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--appendfsync',
    options.appendFsync ?? 'always',
    '--maxmemory-policy',
    'noeviction',
  ];
}

/** The last `lines` lines of `text`. */
export function tailLines(text: string, lines = 200): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
