export * from './validate-env.js';
export * from './env-boolean.js';
export * from './grpc-env.js';
