export * from './metrics-registry.js';
export * from './grpc-call-metrics.js';
export * from './grpc-server-metrics.interceptor.js';
export * from './grpc-client-metrics.interceptor.js';
export * from './http-metrics.js';
export * from './metrics-server.js';
export * from './prometheus-text.js';
