import type {
  CallOptions,
  Client,
  ClientWritableStream,
  Metadata,
  requestCallback,
} from '@grpc/grpc-js';
import type { stream } from '#proto';

/**
 * The raw @grpc/grpc-js client behind the soccer `ClientGrpc`
 * (`getClientByServiceName`), for what Nest's Observable wrapper cannot do:
 * a client stream fed with back-pressure. Same channel, same interceptors.
 */
export interface SoccerRawClient extends Client {
  upload(
    metadata: Metadata,
    options: CallOptions,
    callback: requestCallback<stream.UploadResult>,
  ): ClientWritableStream<stream.UploadChunk>;
}
