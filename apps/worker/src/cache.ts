/**
 * The seam for a response cache. When every route of a request is unavailable (breakers open), the
 * worker asks the cache for an answer to the identical request before it waits; a real cache
 * (exact-match or semantic) plugs in here. Until one exists, nothing is cached.
 */
export interface ResponseCache {
  /** A stored chat.completion for exactly this upstream body, or null. */
  lookup(body: Record<string, unknown>): Promise<Record<string, unknown> | null>;
}

export const noCache: ResponseCache = {
  lookup: async () => null,
};
