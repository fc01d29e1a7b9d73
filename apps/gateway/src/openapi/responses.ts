import { applyDecorators } from '@nestjs/common';
import { ApiDefaultResponse, ApiOkResponse, ApiResponse } from '@nestjs/swagger';
import { ApiErrorSchema } from './models.js';

type Decorator = MethodDecorator & ClassDecorator;

/**
 * A route's error responses, HTTP status -> when, each with the API's one
 * error body; plus `default` for what no route expects (500 INTERNAL).
 */
export function ApiErrors(cases: Record<number, string>): Decorator {
  return applyDecorators(
    ...Object.entries(cases).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, type: ApiErrorSchema }),
    ),
    ApiDefaultResponse({ description: 'unexpected: 500 `INTERNAL`', type: ApiErrorSchema }),
  );
}

/** 200 as Server-Sent Events; `description` says which events come. */
export function ApiEventStream(description: string, example: string): Decorator {
  return ApiOkResponse({
    description,
    content: { 'text/event-stream': { schema: { type: 'string' }, example } },
  });
}

/** 200 as `multipart/x-mixed-replace` JPEG parts (MJPEG). */
export function ApiMjpegStream(description: string): Decorator {
  return ApiOkResponse({
    description,
    content: { 'multipart/x-mixed-replace': { schema: { type: 'string', format: 'binary' } } },
  });
}
