export * from './validate-env.js';
export * from './env-boolean.js';
export * from './app-env.js';
export * from './grpc-env.js';
export * from './grpc-security-env.js';
export * from './env-file.js';
export * from './secret-env.js';
export * from './grpc-service-env.js';
