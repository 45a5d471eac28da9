import { ApiError, createTenantSchema } from '@sluice/core';
import { readControllerState } from '@sluice/upstream';
import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { tokenAuth } from '../../middleware/auth.js';
import { readJson } from '../../middleware/json-body.js';

/** The operator API under /admin, behind ADMIN_TOKEN: tenants and their API keys. */
export function registerAdmin(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.use('/admin/*', tokenAuth([deps.config.ADMIN_TOKEN], 'admin API'));

  app.post('/admin/tenants', async (c) => {
    const input = await readJson(c, createTenantSchema);
    const tenant = await deps.tenants.create(input.name, input.tier);
    deps.log.info({ tenantId: tenant.id, tier: tenant.tier }, 'tenant created');
    return c.json({ ...tenant, object: 'tenant' }, 201);
  });

  app.get('/admin/tenants', async (c) => {
    const tenants = await deps.tenants.list();
    return c.json({ object: 'list', data: tenants.map((t) => ({ ...t, object: 'tenant' })) });
  });

  app.get('/admin/tenants/:id', async (c) => {
    const tenant = await deps.tenants.get(c.req.param('id'));
    if (!tenant)
      throw new ApiError('not_found', `No tenant found with id '${c.req.param('id').slice(0, 64)}'.`, 'id');
    return c.json({ ...tenant, object: 'tenant' });
  });

  app.post('/admin/tenants/:id/keys', async (c) => {
    const tenant = await deps.tenants.get(c.req.param('id'));
    if (!tenant)
      throw new ApiError('not_found', `No tenant found with id '${c.req.param('id').slice(0, 64)}'.`, 'id');
    const { info, key } = await deps.tenants.createKey(tenant.id);
    deps.log.info({ tenantId: tenant.id, keyId: info.id }, 'api key created');
    return c.json({ ...info, object: 'api_key', key }, 201);
  });

  /** The shared rate-limit controller and circuit breakers, per upstream and model. */
  app.get('/admin/upstreams', async (c) => {
    const [scopes, globalConcurrency] = await Promise.all([
      readControllerState(deps.redis, deps.keys),
      deps.queue.getGlobalConcurrency(),
    ]);
    return c.json({ object: 'list', global_concurrency: globalConcurrency, data: scopes });
  });

  app.delete('/admin/keys/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await deps.tenants.revokeKey(id))) {
      throw new ApiError('not_found', `No API key found with id '${id.slice(0, 64)}'.`, 'id');
    }
    deps.log.info({ keyId: id }, 'api key revoked');
    return c.json({ id, object: 'api_key', deleted: true });
  });
}
