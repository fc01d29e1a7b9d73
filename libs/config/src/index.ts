export * from './validate-env.js';
export * from './grpc-env.js';
