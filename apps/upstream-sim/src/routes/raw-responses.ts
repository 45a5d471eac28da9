import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { nodeOutgoing, rawHeaders, type SimContext } from './context.js';

/**
 * 200 with `content-type: application/json` and a complete body that is not valid JSON, like a proxy that
 * spliced an HTML error page into the answer.
 */
export function malformedResponse(c: SimContext, validJson: string): Response {
  const middle = Math.floor(validJson.length / 2);
  const body = `${validJson.slice(0, middle)}<html><body>502 Bad Gateway</body></html>${validJson.slice(middle)}`;
  return new Response(body, {
    status: 200,
    headers: { ...rawHeaders(c), 'content-type': 'application/json' },
  });
}

/**
 * 200 whose body stops halfway: over HTTP the `content-length` promises the whole answer, half is written and
 * the socket is destroyed, so clients see a connection error mid-body. In-process (`app.request()`) there is
 * no socket, so the half body is returned as a complete response instead.
 */
export function truncatedResponse(c: SimContext, validJson: string): Response {
  const half = validJson.slice(0, Math.floor(validJson.length / 2));
  const headers = { ...rawHeaders(c), 'content-type': 'application/json' };
  const outgoing = nodeOutgoing(c);
  if (!outgoing) return new Response(half, { status: 200, headers });

  c.get('info').rawStatus = 200;
  outgoing.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(validJson)) });
  outgoing.write(half, () => outgoing.destroy());
  return RESPONSE_ALREADY_SENT;
}

/** Closes the connection without an answer (after a hang, or when the client already left). */
export function dropConnection(c: SimContext): Response {
  c.get('info').rawStatus = null;
  const outgoing = nodeOutgoing(c);
  if (!outgoing) return new Response(null, { status: 499 });
  outgoing.destroy();
  return RESPONSE_ALREADY_SENT;
}
