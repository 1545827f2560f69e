/**
 * The gRPC client's entry: grpc-js reads its tracers from the environment once, when it loads, so
 * its keepalive trace is turned on here before the client (and with it grpc-js) is imported. The
 * client reads the trace through grpc-js's logger and prints nothing of it.
 */
process.env.GRPC_TRACE = 'keepalive';
process.env.GRPC_VERBOSITY = 'DEBUG';
await import('./client.js');
