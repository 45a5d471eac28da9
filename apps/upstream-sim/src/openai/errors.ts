/** OpenAI's error envelope; all four keys are always present. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The organization named in rate-limit messages. */
export const ORGANIZATION = 'org-sim';

const RATE_LIMIT_HINT = 'Visit https://platform.openai.com/account/rate-limits to learn more.';

export function openAIError(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** OpenAI's 429 body for an exhausted RPM or TPM budget. */
export function rateLimitError(input: {
  model: string;
  budget: 'requests' | 'tokens';
  limit: number;
  used: number;
  requested: number;
  retryAfter: string;
}): OpenAIErrorBody {
  const per = input.budget === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
  return openAIError(
    `Rate limit reached for ${input.model} in organization ${ORGANIZATION} on ${per}: Limit ${input.limit}, ` +
      `Used ${input.used}, Requested ${input.requested}. Please try again in ${input.retryAfter}. ${RATE_LIMIT_HINT}`,
    input.budget,
    'rate_limit_exceeded',
  );
}

/** OpenAI's 429 body for a request whose token charge exceeds the whole TPM bucket: retrying never helps. */
export function requestTooLargeError(model: string, limit: number, requested: number): OpenAIErrorBody {
  return openAIError(
    `Request too large for ${model} in organization ${ORGANIZATION} on tokens per min (TPM): Limit ${limit}, ` +
      `Requested ${requested}. The input or output tokens must be reduced in order to run successfully. ${RATE_LIMIT_HINT}`,
    'tokens',
    'rate_limit_exceeded',
  );
}

/** The body OpenAI sends for a given status, used by injected faults and `[sim:status=N]` directives. */
export function statusError(status: number, model: string, code?: string): OpenAIErrorBody {
  if (code === 'insufficient_quota') {
    return openAIError(
      'You exceeded your current quota, please check your plan and billing details.',
      'insufficient_quota',
      'insufficient_quota',
    );
  }
  const known = KNOWN_STATUS_ERRORS[status];
  if (known) return openAIError(known.message(model), known.type, code ?? known.code);
  return status >= 500
    ? openAIError(`Simulated upstream error (status ${status}).`, 'server_error', code ?? null)
    : openAIError(`Simulated client error (status ${status}).`, 'invalid_request_error', code ?? null);
}

const KNOWN_STATUS_ERRORS: Record<
  number,
  { message: (model: string) => string; type: string; code: string | null } | undefined
> = {
  400: { message: () => 'Simulated invalid request.', type: 'invalid_request_error', code: null },
  401: {
    message: () => 'Incorrect API key provided (simulated).',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: {
    message: () => 'You are not allowed to make this request (simulated).',
    type: 'invalid_request_error',
    code: null,
  },
  404: {
    message: (model) => `The model \`${model}\` does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  409: { message: () => 'Simulated conflict.', type: 'invalid_request_error', code: null },
  422: { message: () => 'Simulated unprocessable request.', type: 'invalid_request_error', code: null },
  429: {
    message: (model) =>
      `Rate limit reached for ${model} in organization ${ORGANIZATION} on requests per min (RPM): simulated. ${RATE_LIMIT_HINT}`,
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message: () => 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    code: null,
  },
  502: { message: () => 'Bad gateway.', type: 'server_error', code: null },
  503: {
    message: () => 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    code: null,
  },
};
