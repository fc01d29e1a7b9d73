import {
  credentials as grpcCredentials,
  loadPackageDefinition,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { GRPC_SERVICES, loadServiceProto, type GrpcServiceKey } from '#proto';
import { keepCallsAliveAfterGoaway } from './keepalive-after-goaway.js';

/**
 * A plain @grpc/grpc-js client of one of GRPC_SERVICES, with the very loader
 * options the apps use: for tests, demos and tools that talk gRPC without Nest.
 */
export function createGrpcClient(
  key: GrpcServiceKey,
  target: string,
  credentials: ChannelCredentials = grpcCredentials.createInsecure(),
  options: ChannelOptions = {},
): Client {
  keepCallsAliveAfterGoaway();
  const { package: pkg, service } = GRPC_SERVICES[key];
  const namespace = loadPackageDefinition(loadServiceProto(key))[pkg] as GrpcObject;
  const Constructor = namespace[service] as ServiceClientConstructor;
  return new Constructor(target, credentials, options);
}
