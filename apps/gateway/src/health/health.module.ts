import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BackendHealth } from './backend-health.service.js';
import { HealthController } from './health.controller.js';
import { ShutdownState } from './shutdown-state.js';

/** `GET /healthz` (liveness) and `GET /readyz` (readiness, and the backends' health). */
@Module({
  imports: [TerminusModule.forRoot()],
  controllers: [HealthController],
  providers: [BackendHealth, ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}
