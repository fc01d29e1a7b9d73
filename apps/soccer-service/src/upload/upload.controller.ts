import { Controller } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { stream } from '#proto';
import { MatchUploadService } from './match-upload.service.js';
import { rpcExceptionStatus } from './rpc-exception-status.js';

type UploadCall = ServerReadableStream<stream.UploadChunk, stream.UploadResult>;

/** gRPC `stream.Soccer/Upload`: wiring only, the work is in MatchUploadService. */
@Controller()
export class UploadController {
  constructor(private readonly uploads: MatchUploadService) {}

  /**
   * The raw call (@GrpcStreamCall), not @GrpcStreamMethod's Observable: Nest
   * reads that one with no pause, while piping the call is what lets the
   * disk pace the client.
   */
  @GrpcStreamCall(stream.SOCCER_SERVICE_NAME, 'Upload')
  upload(call: UploadCall, callback: sendUnaryData<stream.UploadResult>): Promise<void> {
    return this.uploads.store(call, cancellationSignal(call)).then(
      (result) => callback(null, result),
      (err: unknown) => callback(rpcExceptionStatus(err)),
    );
  }
}

/** Aborts when the client cancels the call or its deadline passes. */
function cancellationSignal(call: UploadCall): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  call.once('cancelled', () => controller.abort());
  return controller.signal;
}
