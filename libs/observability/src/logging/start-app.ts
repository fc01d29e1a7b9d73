import type { LoggerService } from '@nestjs/common';
import type { ClassConstructor } from 'class-transformer';
import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { ConfigurationError, describeEnv, validateEnv, type AppEnv } from '#config';
import { nestLoggerParams } from '../observability.module.js';
import { createAppLogger } from './app-logger.js';

export interface StartAppOptions<E extends AppEnv> {
  /** The app's name, as ObservabilityModule.forApp has it: 'gateway', 'cheese-service'. */
  app: string;
  /** Its env class. */
  env: ClassConstructor<E>;
  /** Builds and starts the app, with `logger` as Nest's (NestFactory's `logger` option). */
  start(env: E, logger: LoggerService): Promise<void>;
}

/**
 * Every app's `main.ts`, around what builds the app:
 *
 * 1. the environment is validated before anything else; a bad value stops
 *    the start with one plain line per bad variable on stderr (no stack
 *    trace, no colour), exit code 1;
 * 2. the root logger is made, and Nest logs through it from its first line:
 *    JSON lines when stdout is not a terminal, pretty otherwise;
 * 3. one `configuration` line gives the effective value of every variable
 *    (secrets as "(secret)");
 * 4. `start` builds the app. A ConfigurationError it throws (a certificate
 *    that is not one) ends the start as in 1; any other failure is logged
 *    (fatal, with its stack) and also said on stderr, exit code 1.
 */
export async function startApp<E extends AppEnv>(options: StartAppOptions<E>): Promise<void> {
  let logger: Logger | undefined;
  try {
    const env = validateEnv(options.env)(process.env);
    // The same arguments as AppLoggerModule's, so both get the same logger.
    logger = createAppLogger(
      options.app,
      env.LOG_LEVEL,
      env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined,
    );
    logger.info({ config: describeEnv(options.env, env) }, 'configuration');
    await options.start(env, new StartupLogger(new PinoLogger(nestLoggerParams(logger)), {}));
  } catch (err) {
    exitOnStartupError(err, logger);
  }
}

/**
 * nestjs-pino's logger for Nest while the app is built, except that it
 * leaves a ConfigurationError to startApp: Nest's ExceptionHandler would
 * log it with its stack before handing it on.
 */
class StartupLogger extends PinoNestLogger {
  override error(message: unknown, ...optionalParams: unknown[]): void {
    if (message instanceof ConfigurationError) return;
    super.error(message, ...optionalParams);
  }
}

function exitOnStartupError(err: unknown, logger: Logger | undefined): never {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof ConfigurationError)) {
    logger?.fatal({ err }, `start-up failed: ${message}`);
  }
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
