// The AMQP 0-9-1 wire codec, pure functions over bytes (no sockets, no engine): what the AMQP
// listener's connections use to read frames and write them. Everything public is re-exported here.
export { ByteWriter } from './bytes.js';
export { ContentAssembler, type ChannelFrame, type Command, type ContentCommand } from './assembler.js';
export { HEARTBEAT_FRAME, bodyFrameCount, encodeContentCommand, encodeMethodFrame, writeContent, writeDeliver, writeHeartbeat, writeMethodFrame } from './encode.js';
export { FieldTable, type FieldEntry, type FieldType, type FieldValue, type PlainFieldValue } from './field-table.js';
export {
  FRAME_OVERHEAD, PROTOCOL_HEADER, decodeFrames, readProtocolHeader,
  type BodyFrame, type DecodeOptions, type DecodeResult, type Frame, type HeaderFrame, type HeartbeatFrame, type MethodFrame, type ProtocolHeaderResult,
} from './frames.js';
export { METHOD_BY_ID, METHOD_BY_NAME, decodeMethod, unknownMethodError, writeMethod } from './methods.js';
export { decodeProperties, writeProperties } from './properties.js';
export {
  BASIC_PROPERTIES, CLASS, FRAME, HARD_ERRORS, METHODS, METHOD_ID, REPLY,
  type ArgSpec, type BasicProperties, type Method, type MethodArgs, type MethodInit, type MethodInput, type MethodName, type MethodOf, type MethodSpec, type WireType,
} from './spec.js';
