import type { ServerResponse } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';

/** Per-request data shared by middleware and handlers. */
export interface RequestInfo {
  requestId: string;
  startedAt: number;
  /** Headers for every response of this request, also written by the raw (non-Hono) writers. */
  headers: Record<string, string>;
  /** Bearer token, once authenticated; rate limits are kept per token. */
  apiKey?: string;
  /** Set by handlers that bypass Hono: the status written (null when nothing was). */
  rawStatus?: number | null;
}

// Bindings are absent when the app is driven in-process with `app.request()`.
export type SimEnv = { Bindings: Partial<HttpBindings>; Variables: { info: RequestInfo } };
export type SimContext = Context<SimEnv>;

/** Sets a header on the Hono response and remembers it for raw writers. */
export function setHeader(c: SimContext, name: string, value: string): void {
  c.get('info').headers[name] = value;
  c.header(name, value);
}

export function setHeaders(c: SimContext, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) setHeader(c, name, value);
}

/** All headers for a raw response, with the processing time measured now. */
export function rawHeaders(c: SimContext): Record<string, string> {
  const info = c.get('info');
  return { ...info.headers, 'openai-processing-ms': String(Date.now() - info.startedAt) };
}

/** The Node.js response when served over HTTP by @hono/node-server. */
export function nodeOutgoing(c: SimContext): ServerResponse | undefined {
  return c.env?.outgoing;
}

/** True for the marker response of handlers that wrote to the socket themselves. */
export function isAlreadySent(response: Response): boolean {
  return response === RESPONSE_ALREADY_SENT || response.headers.has('x-hono-already-sent');
}
