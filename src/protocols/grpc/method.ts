/** The lab's one gRPC method: bidirectional, raw bytes both ways (no protobuf needed). */
const raw = (b: Buffer): Buffer => b;

export const GRPC_METHOD = {
  path: '/halfopen.Lab/Stream',
  requestStream: true,
  responseStream: true,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
} as const;
