import { HttpException, Logger } from '@nestjs/common';
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { retryDelayMs, statusDetailsJson, statusFromTrailers } from '#proto';
import type { ApiErrorBody } from '../openapi/models.js';
import { grpcStatusFromHttp, grpcStatusName, httpStatusFromGrpc } from './grpc-http-status.js';

export interface ApiError {
  httpStatus: number;
  body: ApiErrorBody;
  /** Seconds for `Retry-After`, from the error's RetryInfo. */
  retryAfterSeconds?: number;
}

const logger = new Logger('ApiError');

/** A gRPC call's error, as @grpc/grpc-js raises it. */
function isGrpcError(
  e: unknown,
): e is Error & { code: number; details?: string; metadata?: Metadata } {
  return (
    e instanceof Error &&
    typeof (e as { code?: unknown }).code === 'number' &&
    'metadata' in e &&
    Number.isInteger((e as unknown as { code: number }).code)
  );
}

/** An error raised by the HTTP platform (body parser, router) with its own status. */
function platformStatus(e: unknown): number | undefined {
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : undefined;
}

/**
 * The API's error body for gRPC status `code`; the one place it is built.
 * `details` (the service's google.rpc.Status details) is added when there are any.
 */
export function apiErrorBody(code: number, message: string): ApiErrorBody {
  return { code, status: grpcStatusName(code), message };
}

/**
 * Turns anything thrown while serving a request into the API's error: gRPC
 * errors keep their code, HTTP-layer errors get the code that names them,
 * and anything else is a 500 whose details go to the log, not the client.
 */
export function toApiError(exception: unknown): ApiError {
  if (isGrpcError(exception)) {
    const message = exception.details || exception.message;
    const error: ApiError = {
      httpStatus: httpStatusFromGrpc(exception.code),
      body: apiErrorBody(exception.code, message),
    };
    const status = statusFromTrailers(exception.metadata);
    if (status && status.details.length > 0) {
      error.body.details = statusDetailsJson(status);
      const delayMs = retryDelayMs(status);
      if (delayMs !== undefined) error.retryAfterSeconds = Math.ceil(delayMs / 1000);
    }
    return error;
  }
  if (exception instanceof HttpException) {
    const httpStatus = exception.getStatus();
    const response = exception.getResponse();
    const raw =
      typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = Array.isArray(raw)
      ? raw.join('; ')
      : typeof raw === 'string'
        ? raw
        : exception.message;
    return { httpStatus, body: apiErrorBody(grpcStatusFromHttp(httpStatus), message) };
  }
  const httpStatus = platformStatus(exception);
  if (httpStatus !== undefined && httpStatus < 500) {
    const message = exception instanceof Error ? exception.message : 'bad request';
    return { httpStatus, body: apiErrorBody(grpcStatusFromHttp(httpStatus), message) };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : exception);
  return { httpStatus: 500, body: apiErrorBody(GrpcStatus.INTERNAL, 'internal error') };
}
