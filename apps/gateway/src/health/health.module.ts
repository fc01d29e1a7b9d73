import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BackendReadiness } from './backend-readiness.service.js';
import { HealthController } from './health.controller.js';
import { ShutdownState } from './shutdown-state.js';

/** `GET /healthz` (liveness) and `GET /readyz` (readiness: backends, shutdown). */
@Module({
  imports: [TerminusModule.forRoot()],
  controllers: [HealthController],
  providers: [BackendReadiness, ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}
