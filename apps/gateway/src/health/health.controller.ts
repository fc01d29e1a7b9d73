import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../openapi/responses.js';
import { BackendHealth, type BackendStatus } from './backend-health.service.js';
import { HealthReportSchema, ReadinessReportSchema } from './health.schemas.js';
import { ShutdownState } from './shutdown-state.js';

/** `/readyz`'s body: terminus's report of the gateway itself, plus the backends' health. */
export type ReadinessReport = HealthCheckResult & { backends: Record<string, BackendStatus> };

/** Probes for orchestrators and load balancers (docs/operations.md); never rate limited. */
@ApiTags('health')
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
    private readonly backends: BackendHealth,
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
    summary:
      'Readiness: this gateway can serve (not shutting down); the backends’ health is reported, ' +
      'not required',
  })
  @ApiOkResponse({
    description: 'ready, whatever the backends: the routes of a backend that is down answer 503',
    type: ReadinessReportSchema,
  })
  @ApiServiceUnavailableResponse({
    description: 'not ready: the gateway is shutting down',
    type: ReadinessReportSchema,
  })
  @ApiErrors({})
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const gateway = this.indicator.check('gateway');
    let result: HealthCheckResult;
    try {
      result = await this.health.check([
        () => (this.shutdown.shuttingDown ? gateway.down('shutting down') : gateway.up()),
      ]);
      reply.status(200);
    } catch (err) {
      // Terminus reports "not ready" by throwing its report in a 503.
      if (!(err instanceof ServiceUnavailableException)) throw err;
      result = err.getResponse() as HealthCheckResult;
      reply.status(503);
    }
    return { ...result, backends: this.backends.report() };
  }
}
