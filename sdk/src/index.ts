// Kiln's TypeScript SDK, typed from the native API's OpenAPI document (sdk/openapi.json).
export { Kiln, type KilnOptions } from "./kiln";
export { KilnError, type ApiErrorCode, type ErrorCode } from "./errors";
export type { Jobs, CreateJobOptions } from "./jobs";
export type { Uploads, PutUploadOptions, UploadSource } from "./uploads";
export type { TusUploadOptions, TusUploadResult } from "./tus";
export { FileResumeStore } from "./resume-store";
export type { Origins } from "./origins";
export type { Secrets } from "./secrets";
export type { Presets } from "./presets";
export type { Keys } from "./keys";
export { type WebhookEvent, type WebhookHeaders, type Webhooks, WebhookVerificationError, verifyWebhook } from "./webhooks";
export type { WatchOptions } from "./watch";
export type { WebSocketConstructor, WebSocketLike } from "./watch-socket";
export type { DownloadOptions, DownloadResult } from "./download";
export type { RetryPolicy } from "./retry";
export type { CallOptions, Fetch } from "./transport";
export type * from "./types";
export type { components, paths } from "./generated/openapi";
