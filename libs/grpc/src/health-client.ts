import { dirname, join } from 'node:path';
import {
  credentials as grpcCredentials,
  loadPackageDefinition,
  Metadata as GrpcMetadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type GrpcObject,
  type Metadata,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by name. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthCheckResponse {
  status: HealthStatus;
}

/** A client of the standard grpc.health.v1.Health service. */
export interface HealthClient extends Client {
  check(
    request: { service: string },
    metadata: Metadata,
    options: CallOptions,
    callback: (err: ServiceError | null, response?: HealthCheckResponse) => void,
  ): void;
  watch(request: { service: string }): ClientReadableStream<HealthCheckResponse>;
}

/**
 * A plain grpc-js client of `grpc.health.v1.Health`, from the proto that
 * grpc-health-check ships (statuses as names): for tests, tools, probes.
 */
export function createHealthClient(
  target: string,
  credentials: ChannelCredentials = grpcCredentials.createInsecure(),
  options: ChannelOptions = {},
): HealthClient {
  const definition = loadSync('health/v1/health.proto', {
    includeDirs: [join(dirname(protoPath), '../..')],
    enums: String,
    defaults: true,
  });
  const v1 = (((loadPackageDefinition(definition).grpc as GrpcObject).health as GrpcObject).v1 ??
    {}) as GrpcObject;
  const Health = v1.Health as ServiceClientConstructor;
  return new Health(target, credentials, options) as unknown as HealthClient;
}

/** Check of `service` ('' for the whole server): its status, or the call's error. */
export function checkHealth(
  client: HealthClient,
  service: string,
  deadlineMs = 5000,
): Promise<HealthStatus> {
  return new Promise((resolve, reject) =>
    client.check(
      { service },
      new GrpcMetadata(),
      { deadline: Date.now() + deadlineMs },
      (err, res) => (err ? reject(err) : resolve(res!.status)),
    ),
  );
}

/** Resolves once Check(`service`) answers SERVING; rejects after `timeoutMs`. */
export async function waitForServing(
  client: HealthClient,
  service = '',
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const status = await checkHealth(client, service, 1000).catch(
      (err: ServiceError) => err.details || err.message,
    );
    if (status === 'SERVING') return;
    last = status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${JSON.stringify(service)} not SERVING after ${timeoutMs} ms: ${last}`);
}
