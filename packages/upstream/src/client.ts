import OpenAI from 'openai';

/** Where and how to call an OpenAI-compatible upstream. */
export interface UpstreamOptions {
  baseURL: string;
  apiKey: string;
  /** Per-attempt timeout, ms. */
  timeoutMs: number;
}

export interface UpstreamResult {
  /** The upstream's chat.completion, unchanged. */
  completion: Record<string, unknown>;
  headers: Headers;
  upstreamRequestId: string | null;
}

/** Thrown when a 200 answer is not a chat completion; classified as a retryable invalid response. */
export class InvalidUpstreamResponseError extends Error {
  override name = 'InvalidUpstreamResponseError';
}

/**
 * The OpenAI adapter. SDK retries are off: the queue owns retries, so one attempt = one HTTP call,
 * and the job's AbortSignal cancels the call on shutdown.
 */
export class UpstreamClient {
  private readonly client: OpenAI;

  constructor(readonly options: UpstreamOptions) {
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey,
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  /** One call to `endpoint` (`/v1/chat/completions` or `/v1/embeddings`). */
  async call(endpoint: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<UpstreamResult> {
    return endpoint === '/v1/embeddings' ? this.embeddings(body, signal) : this.chatCompletion(body, signal);
  }

  async embeddings(body: Record<string, unknown>, signal?: AbortSignal): Promise<UpstreamResult> {
    const { data, response, request_id } = await this.client.embeddings
      .create(body as unknown as OpenAI.EmbeddingCreateParams, {
        signal,
        timeout: this.options.timeoutMs,
        maxRetries: 0,
      })
      .withResponse();
    const result = data as unknown as Record<string, unknown>;
    if (!result || typeof result !== 'object' || !Array.isArray(result.data)) {
      throw new InvalidUpstreamResponseError('upstream answered 200 without embeddings');
    }
    return { completion: result, headers: response.headers, upstreamRequestId: request_id ?? null };
  }

  async chatCompletion(body: Record<string, unknown>, signal?: AbortSignal): Promise<UpstreamResult> {
    const { data, response, request_id } = await this.client.chat.completions
      .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
        signal,
        timeout: this.options.timeoutMs,
        maxRetries: 0,
      })
      .withResponse();
    const completion = data as unknown as Record<string, unknown>;
    if (!completion || typeof completion !== 'object' || !Array.isArray(completion.choices)) {
      throw new InvalidUpstreamResponseError('upstream answered 200 without choices');
    }
    return { completion, headers: response.headers, upstreamRequestId: request_id ?? null };
  }
}
