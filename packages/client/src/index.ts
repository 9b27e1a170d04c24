// @trainer/client: a typed client of the trainer API. See README.md.
export { createTrainerClient } from './client.js';
export type { FollowJobOptions, KeySource, TrainerClient, TrainerClientOptions } from './client.js';
export { TrainerApiError, TrainerUnreachable } from './errors.js';
export type { TrainerError } from './errors.js';
export { settle, unwrap } from './outcome.js';
export type { DataOf, Outcome } from './outcome.js';
export { defaultBackoff } from './stream.js';
export type {
  Backoff,
  ConnectionChange,
  ConnectionState,
  Follow,
  FollowOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './stream.js';
export type * from './types.js';
export type { components, operations, paths } from './schema.js';
