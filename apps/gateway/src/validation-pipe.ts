import { ValidationPipe } from '@nestjs/common';

/**
 * The one validation of request input: DTOs' class-validator rules, values
 * converted to their types, unknown fields refused (400), the first failing
 * rule of a field reported. Global (GatewayModule), and used as it is for
 * what is not a Nest route (the chat WebSocket's handshake).
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
  });
}
