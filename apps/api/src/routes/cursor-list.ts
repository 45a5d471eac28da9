/**
 * OpenAI's cursor-paginated list envelope (`GET /v1/files`, `GET /v1/batches`): the SDKs'
 * auto-pagination reads `has_more` and passes `last_id` back as `after`.
 */
export function cursorList<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}
