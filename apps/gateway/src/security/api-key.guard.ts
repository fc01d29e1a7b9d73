import {
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayEnv } from '../config/gateway.env.js';
import { ApiKeys, presentedApiKey } from './api-keys.js';

const MISSING = 'missing API key: send it as x-api-key or authorization: Bearer <key>';

/**
 * Lets a request through when API keys are configured only if it presents
 * one of them (`@RequiresApiKey()`); else 401 with `WWW-Authenticate: Bearer`.
 * Guards run before the handler, so a refused upload's body is never read
 * and soccer-service is never called. The refusal names no key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeys;

  constructor(config: ConfigService<GatewayEnv, true>) {
    this.keys = new ApiKeys(config.get('GATEWAY_API_KEYS', { infer: true }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.keys.required) return true;
    const http = context.switchToHttp();
    const key = presentedApiKey(http.getRequest<FastifyRequest>().headers);
    if (key !== undefined && this.keys.accepts(key)) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer');
    throw new UnauthorizedException(key === undefined ? MISSING : 'invalid API key');
  }
}
