// The public surface of the client SDK (`import { connect } from 'celeriac'`).
// Only what is exported here is API; the modules behind it may change.
export { connect } from './connect.js';
export { Connection } from './connection.js';
export type { Body, ConnectionEvents, GetOptions, PublishOptions, ReconnectingInfo } from './api-types.js';
export type { ConnectOptions } from './options.js';
export type { BackoffOptions } from './backoff.js';
export { Message } from './message.js';
export type { AckOptions, MessageFields, NackOptions, RejectOptions } from './message.js';
export type { MessageHandler } from './consumer.js';
export { CeleriacError, ERRORS, isErrorCode } from '../shared/errors.js';
export type { ErrorCode, ErrorScope } from '../shared/errors.js';
export { EXCHANGE_TYPES } from '../shared/frames.js';
export type {
  ConsumeOptions, DeleteExchangeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, MessageProperties,
  QueueInfo, QueueOptions, ResultRecord, ResultStoreOptions, TrackOptions, FinishPublish, FinishResult,
} from '../shared/frames.js';

export { TASK_STATES, READY_STATES, type TaskState } from '../shared/task-states.js';
