import { ApiProperty, ApiPropertyOptional, ApiSchema, type SchemaObject } from '@nestjs/swagger';

/** One indicator of a health report, as terminus writes it. */
const INDICATOR: SchemaObject = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    message: { type: 'string', description: 'why it is down', example: 'shutting down' },
    servingStatus: { type: 'string', description: 'grpc.health.v1 status', example: 'SERVING' },
    statusCode: { type: 'integer', description: 'the same, as its enum number', example: 1 },
    responseTime: { type: 'integer', description: 'how long the check took, ms' },
  },
  additionalProperties: true,
};

const INDICATORS = { type: 'object', additionalProperties: INDICATOR } as const;

@ApiSchema({
  name: 'HealthReport',
  description:
    "@nestjs/terminus's report. Keys: `gateway` (down while shutting down), " +
    '`cheese-service`, `soccer-service` (grpc.health.v1 of each backend); none for `/healthz`.',
})
export class HealthReportSchema {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' })
  status: string;

  @ApiPropertyOptional({ ...INDICATORS, description: 'the indicators that are up' })
  info?: Record<string, unknown>;

  @ApiPropertyOptional({ ...INDICATORS, description: 'the indicators that are down' })
  error?: Record<string, unknown>;

  @ApiProperty({ ...INDICATORS, description: 'every indicator' })
  details: Record<string, unknown>;
}

@ApiSchema({
  name: 'ReadinessReport',
  description:
    "`/readyz`: the gateway's own readiness (`gateway`), plus `backends`: each backend's " +
    'grpc.health.v1 status at its last check, which does not decide readiness.',
})
export class ReadinessReportSchema extends HealthReportSchema {
  @ApiProperty({
    type: 'object',
    additionalProperties: {
      ...INDICATOR,
      properties: {
        ...INDICATOR.properties,
        checkedAt: { type: 'string', format: 'date-time', description: 'when it was checked' },
      },
    },
    description: 'by backend: `cheese-service`, `soccer-service`',
  })
  backends: Record<string, unknown>;
}
