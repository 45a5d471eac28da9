import type * as core from '@sluice/core';
import { describe, expectTypeOf, it } from 'vitest';
import type * as client from '../src/index.js';

// The SDK re-declares the contract so it has no server dependency; these compile-time checks (tsc runs
// over test/) fail as soon as either side changes a field.
describe('the client types match @sluice/core', () => {
  it('RequestView and its parts', () => {
    expectTypeOf<client.RequestView>().toEqualTypeOf<core.RequestView>();
    expectTypeOf<client.RequestError>().toEqualTypeOf<core.RequestError>();
    expectTypeOf<client.ServedBy>().toEqualTypeOf<core.ServedBy>();
    expectTypeOf<client.Usage>().toEqualTypeOf<core.Usage>();
    expectTypeOf<client.RequestStatus>().toEqualTypeOf<core.RequestStatus>();
    expectTypeOf<client.Priority>().toEqualTypeOf<core.Priority>();
  });

  it('SubmitRequest', () => {
    expectTypeOf<client.SubmitRequest>().toEqualTypeOf<core.SubmitRequest>();
  });

  it('the error envelope', () => {
    expectTypeOf<client.ErrorBody>().toEqualTypeOf<core.OpenAIErrorBody>();
  });

  it('webhook event names and payloads', () => {
    expectTypeOf<client.WebhookEventType>().toEqualTypeOf<core.WebhookEventType>();
    expectTypeOf<client.WebhookEvent>().toExtend<core.WebhookPayload>();
  });

  it('request webhooks carry the request view', () => {
    type Completed = Extract<client.WebhookEvent, { type: 'request.completed' }>;
    expectTypeOf<Completed['data']>().toEqualTypeOf<core.RequestView>();
  });
});
