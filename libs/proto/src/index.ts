export * from './grpc-options.js';
export * from './unary-deadline.interceptor.js';
export * as cheesefarm from './generated/cheesefarm/cheese.pb.js';
export * as stream from './generated/stream/stream.pb.js';
export * from './grpc-client.js';
