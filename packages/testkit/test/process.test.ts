import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getFreePort, type ProcessHandle, startProcess, tsxBin } from '../src/index.js';

// A tiny HTTP server that becomes ready after a short delay and shuts down cleanly on SIGTERM.
const SERVER_SCRIPT = `
import { createServer } from 'node:http';
const port = Number(process.env.PORT);
const server = createServer((_req, res) => res.end(process.env.GREETING ?? 'no greeting'));
setTimeout(() => server.listen(port, '127.0.0.1', () => console.log('listening on ' + port)), 200);
process.on('SIGTERM', () => {
  console.error('got SIGTERM');
  server.close(() => process.exit(0));
});
`;

describe('startProcess', () => {
  let dir = '';
  let serverScript = '';
  const handles: ProcessHandle[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'testkit-process-'));
    serverScript = join(dir, 'server.mjs');
    await writeFile(serverScript, SERVER_SCRIPT);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((handle) => handle.kill()));
  });

  const startServer = async (command: string) => {
    const port = await getFreePort();
    const handle = await startProcess({
      name: 'server',
      command,
      args: [serverScript],
      env: { PORT: String(port), GREETING: 'hi from env' },
      readyUrl: `http://127.0.0.1:${port}/`,
    });
    handles.push(handle);
    return { handle, url: `http://127.0.0.1:${port}/` };
  };

  it('waits for readyUrl, captures output, passes env and stops with the exit code', async () => {
    const { handle, url } = await startServer(process.execPath);
    expect(handle.output()).toContain('listening on');
    expect(await (await fetch(url)).text()).toBe('hi from env');

    expect(await handle.stop()).toBe(0);
    expect(await handle.stop()).toBe(0);
    expect(handle.output()).toContain('got SIGTERM');
    expect(await handle.exited).toEqual({ code: 0, signal: null });
  });

  it('kill() takes down the whole process tree, including the node process under tsx', async () => {
    const { handle, url } = await startServer(tsxBin);
    expect(await (await fetch(url)).text()).toBe('hi from env');

    await handle.kill();
    expect((await handle.exited).signal).toBe('SIGKILL');
    await expect(fetch(url)).rejects.toThrow();
  });

  it('stop() under tsx lets the script shut down gracefully', async () => {
    const { handle } = await startServer(tsxBin);
    expect(await handle.stop()).toBe(0);
    expect(handle.output()).toContain('got SIGTERM');
  });

  it('throws with the output when the process exits before it is ready', async () => {
    const script = "console.log('starting'); console.error('boom: bad config'); process.exit(3)";
    const start = startProcess({
      name: 'doomed',
      command: process.execPath,
      args: ['-e', script],
      readyUrl: `http://127.0.0.1:${await getFreePort()}/`,
    });
    await expect(start).rejects.toThrow(/startProcess\(doomed\): exited with code 3[\s\S]*boom: bad config/);
  });

  it('throws with the output and kills the process when readyUrl never answers 200', async () => {
    const start = startProcess({
      name: 'silent',
      command: process.execPath,
      args: ['-e', "console.log('never listens'); setInterval(() => {}, 1000)"],
      readyUrl: `http://127.0.0.1:${await getFreePort()}/`,
      readyTimeoutMs: 500,
    });
    await expect(start).rejects.toThrow(/did not answer 200 within 500 ms[\s\S]*never listens/);
  });

  it('keeps only the last lines of output', async () => {
    const handle = await startProcess({
      name: 'chatty',
      command: process.execPath,
      args: ['-e', 'for (let i = 0; i < 500; i++) console.log("line " + i)'],
    });
    expect(await handle.exited).toEqual({ code: 0, signal: null });
    const lines = handle.output().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines[0]).toBe('line 300');
    expect(lines.at(-1)).toBe('line 499');
  });

  it('throws when the command cannot be spawned', async () => {
    await expect(startProcess({ name: 'missing', command: '/nonexistent/bin', args: [] })).rejects.toThrow(
      /startProcess\(missing\): could not spawn \/nonexistent\/bin/,
    );
  });
});
