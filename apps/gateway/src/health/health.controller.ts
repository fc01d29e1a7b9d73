import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../openapi/responses.js';
import { BackendReadiness } from './backend-readiness.service.js';
import { HealthReportSchema } from './health.schemas.js';

/** Probes for orchestrators and load balancers (docs/operations.md); never rate limited. */
@ApiTags('health')
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly backends: BackendReadiness,
  ) {}

  @Get('healthz')
  @ApiOperation({
    summary: 'Liveness: 200 while the process serves HTTP; checks no backend',
  })
  @ApiOkResponse({ description: 'alive', type: HealthReportSchema })
  @ApiErrors({})
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('readyz')
  @ApiOperation({
    summary: 'Readiness: each backend SERVING over grpc.health.v1, and not shutting down',
  })
  @ApiOkResponse({ description: 'ready: every backend SERVING', type: HealthReportSchema })
  @ApiServiceUnavailableResponse({
    description: 'not ready: a backend not SERVING or unreachable, or the gateway shutting down',
    type: HealthReportSchema,
  })
  @ApiErrors({})
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const { ready, result } = await this.backends.check();
    reply.status(ready ? 200 : 503);
    return result;
  }
}
