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
  GroupDeclareOptions, GroupRecord, RateLimitSpec, RateOverride, RateSlot, RevokedInfo, RevokeOptions,
} from '../shared/frames.js';
export type { FinishRequest } from './task-support.js';
// --- the contracts the task layer runs on (docs/transports.md)
export type {
  Delivery, DeliveryFields, EventLog, Transport, TransportEvents, TransportPublishOptions, TransportReconnecting,
} from './transport/transport.js';
export type { AtomicFinish, FinishRequest as TaskFinishRequest, ResultBackend, TaskLink } from './result-backend/result-backend.js';

export { TASK_STATES, READY_STATES, type TaskState } from '../shared/task-states.js';

// --- the task layer
export { Celeriac, type AppHooks, type OpenOptions, type StartupWait } from './app/celeriac.js';
export type { PublishRetryPolicy } from './app/publish-retry.js';
export type { RetryLog } from './app/broker-retry.js';
export { fromCeleryConfig } from './app/celery-config.js';
export { resolveSettings, SETTINGS, SETTING_NAMES, WORKER_POOLS } from './app/settings.js';
export type { Settings, SettingsInput, SettingName, WorkerPool } from './app/settings.js';
export type { QueueInput, QueueSetting, RouteSetting } from './app/setting-shapes.js';
// --- beat: schedule constructors and the entry types (beatSchedule, app.schedules)
export { crontab, solar } from './beat/schedules/index.js';
export type {
  BeatEntry, BeatEntryInput, BeatOptions, CrontabFields, MissedRunPolicy, ScheduleInput, ScheduleSpec, SolarEvent,
} from './beat/types.js';
export type { RateLimit } from './app/rate-limit.js';
export { Task, type ApplyOptions } from './tasks/task.js';
export type {
  BoundTaskFunction, CallOptions, ErrorMatcher, RequestInfo, RetryOptions, SignatureLike, TaskContext, TaskFunction, TaskOptions,
} from './tasks/types.js';
export type { TaskDefinition, TaskRegistry, ResolvedTaskOptions } from './tasks/definition.js';
export { AsyncResult, type GetResultOptions, type ResultState } from './results/async-result.js';
export type { ResultMeta } from './results/result-meta.js';
export type { RemoteErrorDetails } from './results/remote-error.js';
export { Signature } from './canvas/signature.js';
export { Worker, type WorkerOptions, type WorkerEvents, type TaskEventFields, type WorkerLog, type LogLevel } from './worker/worker.js';

// --- remote control and events (issue 3, items 7 and 8)
export { Control, type SendOptions } from './control/control.js';
export { Inspect } from './control/inspect.js';
export { CONTROL_EXCHANGE, REPLY_EXCHANGE, controlQueueName } from './control/protocol.js';
export type { ControlCommand, ReplyTo } from './control/protocol.js';
export type {
  BroadcastOptions, ByHost, DeliveryInfo, ErrorReply, OkReply, Replies, ScheduledTaskInfo, TaskInfo, WorkerStats,
} from './control/types.js';
export { Events, type EventHistory } from './events/events.js';
export type { EventSubscription, SubscribeOptions } from './events/receiver.js';
export type { EventReadQuery } from './event-requests.js';
export type { EventPage, EventRecord } from '../shared/frames.js';
export { EVENTS_EXCHANGE, EVENT_ID_HEADER, EVENT_TYPES, routingKeyOf } from './events/types.js';
export type {
  AnyEvent, EventBase, EventHandlers, EventInfo, EventOf, EventType, HistoryEvent, TaskFailedEvent, TaskReceivedEvent, TaskRejectedEvent, TaskRetriedEvent,
  TaskRevokedEvent, TaskSentEvent, TaskStartedEvent, TaskSucceededEvent, WorkerHeartbeatEvent, WorkerOfflineEvent, WorkerOnlineEvent,
} from './events/types.js';

// --- canvas: chain, group, chord, map/starmap
export { chain, Chain, type ChainStep, type ResultOf } from './canvas/chain.js';
export { group, Group, type ResultsOf } from './canvas/group.js';
export { chord, Chord, type ChordBody } from './canvas/chord.js';
export { xmap, xstarmap } from './canvas/map.js';
export { BUILTIN_TASKS } from './canvas/builtins.js';
export type { CanvasApp } from './canvas/canvas-app.js';
export type { SignatureSender } from './canvas/signature.js';
export { GroupResult } from './results/group-result.js';
export { ChainResult } from './results/chain-result.js';
export { ChordResult } from './results/chord-result.js';

// --- beat at run time: app.beat() and app.schedules (issue 9)
export { Beat, type BeatRunOptions, type BeatEvents } from './beat/beat.js';
export type { BeatFired } from './beat/fire-due.js';
export { Schedules, type ScheduleInfo, type ScheduleList, type BeatLeader } from './beat/schedules-api.js';
