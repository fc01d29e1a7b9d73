import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiErrorBody } from '../openapi/models.js';
import { ApiKeyGuard } from './api-key.guard.js';

/** The OpenAPI security schemes of the API key: either header works. */
export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';

/**
 * A write: when GATEWAY_API_KEYS is set, the request needs one of the keys
 * (`x-api-key: <key>` or `authorization: Bearer <key>`), else 401.
 */
export function RequiresApiKey(): MethodDecorator {
  return applyDecorators(
    UseGuards(ApiKeyGuard),
    ApiSecurity(API_KEY_SCHEME),
    ApiBearerAuth(BEARER_SCHEME),
    ApiUnauthorizedResponse({
      description:
        '`UNAUTHENTICATED`: API keys are configured (GATEWAY_API_KEYS) and the request sent ' +
        'none, or a wrong one',
      type: ApiErrorBody,
      headers: {
        'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } },
      },
    }),
  );
}
