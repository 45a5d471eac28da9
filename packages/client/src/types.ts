/**
 * The public shapes of the Sluice API, declared here so the SDK carries no server dependency.
 * test/types.test.ts checks them against @sluice/core's contract at compile time, so they cannot drift.
 */

export type Priority = 'high' | 'normal' | 'low';
export type RequestStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled';
/** Statuses a request never leaves. */
export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

/** The error stored on a failed request. */
export interface RequestError {
  code: string;
  message: string;
  /** The upstream's HTTP status, when the upstream answered. */
  upstream_status?: number;
  /** The upstream's own error code, when it gave one. */
  upstream_code?: string | null;
}

/** Who produced a completed request's answer. */
export interface ServedBy {
  /** Upstream name from the server's configuration (`primary` is OPENAI_BASE_URL), or `cache`. */
  upstream: string;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What `GET /v1/requests/{id}` answers, and what `request.*` webhooks carry as `data`. */
export interface RequestView {
  id: string;
  object: 'request';
  status: RequestStatus;
  /** Unix seconds, like every timestamp here. */
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  model: string;
  priority: Priority;
  attempts: number;
  metadata: Record<string, string>;
  /** The upstream's `chat.completion` body, unchanged, once completed. */
  response: unknown | null;
  error: RequestError | null;
  usage: Usage | null;
  /** Which upstream and model answered (a fallback may differ from the requested model). */
  served_by: ServedBy | null;
  /** While queued or in progress: the estimated completion time (unix seconds), else null. */
  estimated_completion_at?: number | null;
}

/** The parts of OpenAI's `chat.completion` every compatible upstream returns. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      refusal?: string | null;
      tool_calls?: ToolCall[];
    };
    finish_reason: string | null;
  }[];
  usage?: Usage;
}

/** A request that completed: its `response` is the upstream's chat completion. */
export type CompletedRequestView = RequestView & { status: 'completed'; response: ChatCompletion };

// ---- The submit body: OpenAI's chat-completions request plus Sluice's priority and metadata. ----

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
  | { type: 'input_audio'; input_audio: { data: string; format: 'wav' | 'mp3' } }
  | { type: 'file'; file: { file_data?: string; file_id?: string; filename?: string } };

type TextOrParts = string | ContentPart[];

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: TextOrParts; name?: string }
  | { role: 'developer'; content: TextOrParts; name?: string }
  | { role: 'user'; content: TextOrParts; name?: string }
  | {
      role: 'assistant';
      content?: TextOrParts | null;
      name?: string;
      refusal?: string | null;
      tool_calls?: ToolCall[];
    }
  | { role: 'tool'; content: TextOrParts; tool_call_id: string };

export interface Tool {
  type: 'function';
  function: {
    name: string;
    description?: string;
    parameters?: Record<string, unknown>;
    strict?: boolean | null;
  };
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: {
        name: string;
        description?: string;
        schema?: Record<string, unknown>;
        strict?: boolean | null;
      };
    };

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** `POST /v1/requests`: the server validates every field and rejects unknown ones (400 with `param`). */
export interface SubmitRequest {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[] | null;
  presence_penalty?: number;
  frequency_penalty?: number;
  logit_bias?: Record<string, number>;
  logprobs?: boolean;
  top_logprobs?: number;
  seed?: number;
  response_format?: ResponseFormat;
  tools?: Tool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  user?: string;
  safety_identifier?: string;
  prompt_cache_key?: string;
  service_tier?: 'auto' | 'default' | 'flex' | 'scale' | 'priority';
  reasoning_effort?: 'minimal' | 'low' | 'medium' | 'high';
  store?: boolean;
  /** Streaming is not supported: Sluice answers asynchronously. */
  stream?: false;
  /** Priority inside the tenant's tier band, capped by what the tier allows. Default `normal`. */
  priority?: Priority;
  /** At most 16 pairs; keys ≤ 64 and values ≤ 512 characters. */
  metadata?: Record<string, string>;
  /** Send this request's webhook events only to this URL, which must be one of the tenant's endpoints. */
  webhook_url?: string;
}

/** The error body of every non-2xx answer, in OpenAI's shape. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
