import { connect } from 'node:net';

/**
 * Resolves with the server's process id once Redis answers PING, otherwise undefined.
 *
 * PING is pipelined with INFO because a server still loading its AOF answers -LOADING to PING (so it is
 * not ready yet), and the process id lets the caller make sure the answer came from its own server
 * rather than from another test's server that won a race for the same port.
 */
export function probeRedis(host: string, port: number, timeoutMs = 1_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = connect({ host, port });
    const finish = (pid: number | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (!reply.includes('\r\n')) return;
      if (!reply.startsWith('+PONG\r\n')) return finish(undefined);
      const match = /process_id:(\d+)\r\n/.exec(reply);
      if (match?.[1]) finish(Number(match[1]));
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}
