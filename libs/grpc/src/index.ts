export * from './grpc-link.js';
export * from './grpc-client-options.js';
export * from './grpc-server-options.js';
export * from './grpc-target.js';
export * from './grpc-auth.js';
export * from './grpc-credentials.js';
export * from './reloading-tls-files.js';
export {
  readCaCertificate,
  readTlsMaterial,
  type PemFile,
  type TlsFiles,
  type TlsMaterial,
} from './tls-files.js';
export * from './unary-deadline.interceptor.js';
export * from './call-deadline.js';
export * from './answer-lost-retry.interceptor.js';
export * from './read-gate.js';
export * from './grpc-client.js';
export * from './encoded-message.js';
export * from './health-client.js';
export * from './operations/grpc-health.js';
export * from './operations/grpc-operations.js';
export * from './operations/grpc-operations.module.js';
export * from './operations/grpc-probe-routes.js';
export * from './operations/serve-until-signal.js';
export * from './operations/run-grpc-service.js';
export * from './operations/grpc-server.js';
export * from './shutdown/close-within-grace.js';
export * from './shutdown/on-shutdown-signal.js';
export * from './tls-metrics.js';
