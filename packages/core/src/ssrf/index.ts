// SSRF protection for tenant-supplied webhook URLs: check at registration (checkWebhookUrl), and again
// at delivery on the address actually connected to (createGuardedLookup + assertConnectTarget).
export { type AddressPolicy, type AddressVerdict, isBlockedAddress } from './address.js';
export {
  checkWebhookUrl,
  MAX_WEBHOOK_URL_LENGTH,
  type ResolveHostname,
  resolveHostname,
  type WebhookUrlCheck,
  type WebhookUrlCheckOptions,
} from './check-url.js';
export {
  assertConnectTarget,
  createGuardedLookup,
  type GuardedLookupOptions,
  type LookupAll,
  SsrfBlockedError,
} from './guarded-lookup.js';
