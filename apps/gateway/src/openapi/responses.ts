import { applyDecorators } from '@nestjs/common';
import { ApiDefaultResponse, ApiHeader, ApiOkResponse, ApiResponse } from '@nestjs/swagger';
import { GRPC_TIMEOUT_HEADER, REQUEST_TIMEOUT_HEADER } from '../request-timeout.js';
import { ApiErrorBody } from './models.js';

/** `Retry-After` of an error whose service said when to try again (RetryInfo). */
const RETRY_INFO_HEADER = {
  'Retry-After': {
    description: "seconds, from the error's RetryInfo detail, when it has one",
    schema: { type: 'integer' },
  },
};

type Decorator = MethodDecorator & ClassDecorator;

/**
 * A route's error responses, HTTP status -> when, each with the API's one
 * error body; plus `default` for what no route expects (500 INTERNAL).
 */
export function ApiErrors(cases: Record<number, string>): Decorator {
  return applyDecorators(
    ...Object.entries(cases).map(([status, description]) =>
      ApiResponse({
        status: Number(status),
        description,
        type: ApiErrorBody,
        ...(status === '503' && { headers: RETRY_INFO_HEADER }),
      }),
    ),
    ApiDefaultResponse({ description: 'unexpected: 500 `INTERNAL`', type: ApiErrorBody }),
  );
}

/**
 * 200 as Server-Sent Events; `description` says which events come. With
 * `ndjson`, the same stream as `application/x-ndjson` (grpc-gateway's
 * streaming format), for a client whose `Accept` asks for it.
 */
export function ApiEventStream(
  description: string,
  example: string,
  ndjson?: { example: string },
): Decorator {
  return ApiOkResponse({
    description,
    content: {
      'text/event-stream': { schema: { type: 'string' }, example },
      ...(ndjson && {
        'application/x-ndjson': { schema: { type: 'string' }, example: ndjson.example },
      }),
    },
  });
}

/**
 * The headers that shorten the deadline of a route's gRPC call: either one,
 * capped by GATEWAY_DEADLINE_MS; a malformed value is 400.
 */
export function ApiDeadlineHeaders(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: GRPC_TIMEOUT_HEADER,
      required: false,
      description:
        "deadline of the gRPC call, as gRPC writes it (grpc-gateway's header): 1-8 digits " +
        'and a unit, H M S m u n, e.g. `500m`; at most GATEWAY_DEADLINE_MS',
      schema: { type: 'string', pattern: '^\\d{1,8}[HMSmun]$' },
    }),
    ApiHeader({
      name: REQUEST_TIMEOUT_HEADER,
      required: false,
      description: 'the same in seconds, e.g. `0.5`, when there is no grpc-timeout',
      schema: { type: 'string', pattern: '^\\d{1,6}(\\.\\d{1,3})?$' },
    }),
  );
}

/** 200 as `multipart/x-mixed-replace` JPEG parts (MJPEG). */
export function ApiMjpegStream(description: string): Decorator {
  return ApiOkResponse({
    description,
    content: { 'multipart/x-mixed-replace': { schema: { type: 'string', format: 'binary' } } },
  });
}
