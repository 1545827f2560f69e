/**
 * gRPC keepalive in grpc-js, grpc-go and grpc-java. Each writes the strategy under its own
 * library's rule (`lib=`): grpc-go and grpc-java raise a Time below 10 s to 10 s, and the comment
 * gives the worst case that rule leaves (src/strategies/grpc.ts).
 */
import { sec } from '../core/window.js';
import { formatStrategy, type Strategy } from '../strategies/index.js';
import { grpcTimeMs, type GrpcLib, type GrpcStrategy } from '../strategies/grpc.js';
import type { Emitter } from './types.js';

/** emit() (src/emit/index.ts) hands an emitter only strategies of its own kinds. */
const asGrpc = (s: Strategy, lib: GrpcLib): GrpcStrategy => ({ ...(s as GrpcStrategy), lib });

/** The latest a silent server is noticed by the ping (a stream open, nothing unacknowledged). */
const worst = (s: GrpcStrategy): string => `by the ping within ${sec(grpcTimeMs(s) + s.timeoutMs)}`;

const raised = (s: GrpcStrategy): string =>
  grpcTimeMs(s) === s.timeMs
    ? ''
    : ` (it raises time ${sec(s.timeMs)} to its minimum, ${sec(grpcTimeMs(s))})`;

const goDuration = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000} * time.Second` : `${ms} * time.Millisecond`;

export const grpcJs: Emitter = {
  library: 'grpc-js',
  language: 'javascript',
  kinds: ['grpc'],
  source:
    '@grpc/grpc-js channel options grpc.keepalive_time_ms, grpc.keepalive_timeout_ms, grpc.keepalive_permit_without_calls (doc/keepalive.md, src/transport.ts)',
  emit(strategy) {
    const s = asGrpc(strategy, 'js');
    return `// ${formatStrategy(s)}
// grpc-js pings keepalive_time after the last ping ack (data does not reset it) and drops the
// connection when the ack is keepalive_timeout late: a silent server is noticed ${worst(s)}.
// The server must allow pings this often (grpc.keepalive_permit_without_calls and, on C-core or
// Go servers, a minimum ping interval no longer than ${sec(s.timeMs)}), or it answers GOAWAY too_many_pings.
const client = new Client(address, grpc.credentials.createInsecure(), {
  'grpc.keepalive_time_ms': ${s.timeMs},
  'grpc.keepalive_timeout_ms': ${s.timeoutMs},
  'grpc.keepalive_permit_without_calls': ${s.withoutCalls ? 1 : 0},
});
`;
  },
};

export const grpcGo: Emitter = {
  library: 'grpc-go',
  language: 'go',
  kinds: ['grpc'],
  lib: 'go',
  source:
    'google.golang.org/grpc keepalive.ClientParameters and EnforcementPolicy (keepalive/keepalive.go), grpc.WithKeepaliveParams (dialoptions.go), internal/transport http2_client.go keepalive()',
  emit(strategy) {
    const s = asGrpc(strategy, 'go');
    return `// ${formatStrategy(s)}
// grpc-go pings Time after the last data read${raised(s)}
// and closes the connection when the ack is Timeout late; it also sets TCP_USER_TIMEOUT to
// Timeout, so data unacknowledged that long aborts it sooner: a silent server is noticed ${worst(s)}.
// grpc.Dial works from 1.33 on; from 1.63, grpc.NewClient takes the same options.
conn, err := grpc.Dial(target,
	grpc.WithInsecure(),
	grpc.WithKeepaliveParams(keepalive.ClientParameters{
		Time:                ${goDuration(s.timeMs)},
		Timeout:             ${goDuration(s.timeoutMs)},
		PermitWithoutStream: ${s.withoutCalls},
	}))
// The server must let the client ping that often, or it answers GOAWAY too_many_pings
// (EnforcementPolicy's MinTime defaults to 5 minutes):
//   grpc.NewServer(grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
//   	MinTime:             ${goDuration(Math.min(grpcTimeMs(s), s.timeMs))},
//   	PermitWithoutStream: ${s.withoutCalls},
//   }))
`;
  },
};

export const grpcJava: Emitter = {
  library: 'grpc-java',
  language: 'java',
  kinds: ['grpc'],
  lib: 'java',
  source:
    'io.grpc.netty NettyChannelBuilder keepAliveTime, keepAliveTimeout, keepAliveWithoutCalls; NettyServerBuilder permitKeepAliveTime; io.grpc.internal.KeepAliveManager',
  emit(strategy) {
    const s = asGrpc(strategy, 'java');
    return `// ${formatStrategy(s)}
// grpc-java pings keepAliveTime after the last data read${raised(s)}
// and shuts the transport down when the ack is keepAliveTimeout late; on Netty's epoll transport
// it also sets TCP_USER_TIMEOUT to keepAliveTimeout: a silent server is noticed ${worst(s)}.
ManagedChannel channel = NettyChannelBuilder.forTarget(target)
    .usePlaintext()
    .keepAliveTime(${s.timeMs}, TimeUnit.MILLISECONDS)
    .keepAliveTimeout(${s.timeoutMs}, TimeUnit.MILLISECONDS)
    .keepAliveWithoutCalls(${s.withoutCalls})
    .build();
// The server must permit it, or it answers GOAWAY too_many_pings (default: every 5 minutes):
//   NettyServerBuilder.forPort(port).permitKeepAliveTime(${grpcTimeMs(s)}, TimeUnit.MILLISECONDS)
//       .permitKeepAliveWithoutCalls(${s.withoutCalls})
`;
  },
};
