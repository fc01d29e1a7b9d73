import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';
import { ApiErrors } from '../openapi/responses.js';

/**
 * The gateway's Prometheus endpoint: its HTTP, gRPC client and process
 * metrics. Never rate limited: scrapers must not be turned away.
 */
@ApiTags('operations')
@SkipThrottle()
@Controller()
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics of the gateway (text exposition format)' })
  @ApiOkResponse({
    description:
      'HTTP requests by route and status, gRPC client calls by method and code, process ' +
      'metrics; docs/operations.md lists them',
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example:
          '# HELP http_requests_total HTTP requests answered, by method, route pattern and status code.\n' +
          '# TYPE http_requests_total counter\n' +
          'http_requests_total{method="POST",route="/v1/cheese/orders",status_code="200"} 42\n',
      },
    },
  })
  @ApiErrors({})
  async metrics(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.registry.metrics();
    void reply.header('content-type', this.registry.contentType);
    return text;
  }
}
