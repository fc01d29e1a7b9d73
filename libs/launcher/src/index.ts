export * from './apps.js';
export * from './app-process.js';
export * from './free-port.js';
export * from './dev-certs.js';
export * from './inspector.js';
export * from './output-tail.js';
export { acceptsConnections, portListener } from './port-listener.js';
