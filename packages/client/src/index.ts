export {
  type CompleteOptions,
  type GetOptions,
  isTerminal,
  SluiceClient,
  type SluiceClientOptions,
  type SubmitOptions,
  type WaitOptions,
} from './client.js';
export {
  SluiceApiError,
  SluiceConnectionError,
  SluiceError,
  SluiceRequestFailedError,
  SluiceTimeoutError,
} from './errors.js';
export type * from './types.js';
export {
  type BatchWebhookEvent,
  type BatchWebhookEventType,
  type RequestWebhookEvent,
  type RequestWebhookEventType,
  type TestWebhookEvent,
  type TestWebhookEventType,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookHeaders,
  WebhookVerificationError,
} from './webhooks.js';
