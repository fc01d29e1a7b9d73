export * from './grpc-registry.js';
export * from './rich-status.js';
export * from './service-schemas.js';
export * from './match-id.js';
export * as cheesefarm from './generated/cheesefarm/cheese.pb.js';
export * as stream from './generated/stream/stream.pb.js';
