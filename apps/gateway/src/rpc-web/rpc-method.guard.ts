import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiKeyGuard } from '../security/api-key.guard.js';
import { OpenStreamLimitGuard } from '../security/open-stream-limit.guard.js';
import { RpcWebProxy } from './rpc-web-proxy.service.js';

/**
 * The REST routes' guards, chosen by the kind of the method called, not by
 * its name: a method whose requests stream in writes (Upload, Chat: as
 * `PUT …/video` and `POST …/chat`, it needs the API key when keys are set),
 * and every streaming method counts against the per-address stream cap (as
 * the watch, chat and upload routes do). The rate limit, a global guard,
 * counts every call. An unknown method passes: it is answered UNIMPLEMENTED.
 */
@Injectable()
export class RpcMethodGuard implements CanActivate {
  constructor(
    private readonly proxy: RpcWebProxy,
    private readonly apiKey: ApiKeyGuard,
    private readonly streamCap: OpenStreamLimitGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const method = this.proxy.method(request.url.split('?')[0]);
    if (!method) return true;
    const kind = method.methodKind;
    if (kind === 'client_streaming' || kind === 'bidi_streaming') {
      this.apiKey.canActivate(context);
    }
    if (kind !== 'unary') await this.streamCap.canActivate(context);
    return true;
  }
}
