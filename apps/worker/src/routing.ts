import { type Scope, UpstreamClient, upstreamIdOf } from '@sluice/upstream';
import type { WorkerConfig } from './config.js';

/** One upstream the worker can call. */
export interface Upstream {
  /** Name from configuration: `primary` (OPENAI_BASE_URL) or a key of UPSTREAMS. */
  name: string;
  /** Stable id for the controller's budgets (name + hash of base URL and key). */
  id: string;
  client: UpstreamClient;
}

/** Where one call goes: an upstream and the model to ask it for. */
export interface Route {
  upstream: Upstream;
  model: string;
  scope: Scope;
}

/**
 * The primary upstream plus the configured extra ones, and the fallback chain of each model:
 * the request's own model on the primary first, then MODEL_FALLBACKS in order.
 */
export class Router {
  private readonly upstreams = new Map<string, Upstream>();

  constructor(
    private readonly config: WorkerConfig,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const add = (name: string, baseURL: string, apiKey: string) => {
      this.upstreams.set(name, {
        name,
        id: upstreamIdOf(name, baseURL, apiKey),
        client: new UpstreamClient({ baseURL, apiKey, timeoutMs: config.UPSTREAM_TIMEOUT_MS }),
      });
    };
    add('primary', config.OPENAI_BASE_URL, config.OPENAI_API_KEY);
    for (const [name, u] of Object.entries(config.UPSTREAMS)) {
      const key = env[u.apiKeyEnv];
      if (!key) throw new Error(`UPSTREAMS.${name}: environment variable ${u.apiKeyEnv} is not set`);
      add(name, u.baseURL, key);
    }
    for (const [model, chain] of Object.entries(config.MODEL_FALLBACKS)) {
      for (const entry of chain) {
        const name = entry.includes('/') ? entry.slice(0, entry.indexOf('/')) : 'primary';
        if (!this.upstreams.has(name)) {
          throw new Error(`MODEL_FALLBACKS.${model}: unknown upstream '${name}' (define it in UPSTREAMS)`);
        }
      }
    }
  }

  /** The routes to try for `model`, in order. */
  routes(model: string): Route[] {
    const chain = [model, ...(this.config.MODEL_FALLBACKS[model] ?? [])];
    return chain.map((entry) => {
      const slash = entry.indexOf('/');
      const upstream = this.upstreams.get(slash >= 0 ? entry.slice(0, slash) : 'primary') as Upstream;
      const m = slash >= 0 ? entry.slice(slash + 1) : entry;
      return { upstream, model: m, scope: { upstreamId: upstream.id, model: m } };
    });
  }
}
