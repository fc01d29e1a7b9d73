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
 * Passes when no keys are configured or `key` is one of them; else sets
 * `WWW-Authenticate: Bearer` through `setHeader` and throws the 401.
 */
export function checkApiKey(
  keys: ApiKeys,
  key: string | undefined,
  setHeader: (name: string, value: string) => void,
): void {
  if (!keys.required) return;
  if (key !== undefined && keys.accepts(key)) return;
  setHeader('www-authenticate', 'Bearer');
  throw new UnauthorizedException(key === undefined ? MISSING : 'invalid API key');
}

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
    const reply = http.getResponse<FastifyReply>();
    const key = presentedApiKey(http.getRequest<FastifyRequest>().headers);
    checkApiKey(this.keys, key, (name, value) => void reply.header(name, value));
    return true;
  }
}
