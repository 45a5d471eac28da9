import { timingSafeEqual } from 'node:crypto';
import { ApiError } from '@sluice/core';
import type { MiddlewareHandler } from 'hono';
import type { ApiDeps, ApiEnv } from '../context.js';

function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1]?.trim() || null;
}

/** Constant-time string comparison (hash lengths leak nothing useful). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

const WWW = { 'WWW-Authenticate': 'Bearer' };

/** Client key auth: sets `tenant` or answers 401. */
export function tenantAuth(deps: Pick<ApiDeps, 'tenants'>): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const key = bearer(c.req.header('authorization'));
    if (!key) {
      throw new ApiError(
        'missing_api_key',
        'You didn\'t provide an API key. Send it as "Authorization: Bearer <key>".',
        null,
        WWW,
      );
    }
    const found = await deps.tenants.authenticate(key);
    if (!found) throw new ApiError('invalid_api_key', 'Incorrect API key provided.', null, WWW);
    c.set('tenant', found.tenant);
    await next();
  };
}

/** Bearer-token auth against one of `tokens` (unset tokens are skipped); 403 when none is configured. */
export function tokenAuth(tokens: (string | undefined)[], what: string): MiddlewareHandler<ApiEnv> {
  const configured = tokens.filter((t): t is string => Boolean(t));
  return async (c, next) => {
    if (configured.length === 0) {
      throw new ApiError('admin_disabled', `The ${what} is disabled: set ADMIN_TOKEN to enable it.`);
    }
    const token = bearer(c.req.header('authorization'));
    if (!token)
      throw new ApiError('missing_api_key', `The ${what} needs "Authorization: Bearer <token>".`, null, WWW);
    if (!configured.some((t) => safeEqual(t, token))) {
      throw new ApiError('invalid_api_key', `Incorrect token for the ${what}.`, null, WWW);
    }
    await next();
  };
}
