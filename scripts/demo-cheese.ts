/**
 * `npm run demo:cheese [-- COUNT]`: the talk's cheese client, on the
 * generated client interface: orders random cheeses in a loop and prints them.
 */
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { cheesefarm } from '#proto';
import { grpcClientOptions, grpcClientSecurity } from '#grpc';

const target = process.env.CHEESE_GRPC_URL ?? 'localhost:4000';
const count = Number(process.argv[2] ?? Infinity);

const client = new ClientGrpcProxy(
  grpcClientOptions('cheese', {
    url: target,
    maxMessageBytes: 4 * 1024 * 1024,
    unaryDeadlineMs: 5000,
    // The gateway's variables: GRPC_TLS_CA (+ client cert/key), GRPC_AUTH_TOKEN.
    security: grpcClientSecurity(process.env),
  }).options,
);
const cheeses = client.getService<cheesefarm.CheeseServiceClient>(cheesefarm.CHEESE_SERVICE_NAME);

console.log(`Ordering cheese from ${target} (Ctrl-C stops)`);
for (let i = 0; i < count; i++) {
  const type = randomInt(0, 5);
  try {
    const cheese = await lastValueFrom(cheeses.order({ type }, new Metadata()));
    console.log(`[gRPC] Received=${cheesefarm.CheeseType[cheese.type]} age=${cheese.age} days`);
  } catch (err) {
    console.error(`[gRPC] ${(err as Error).message}`);
    await sleep(3000);
  }
}
client.close();
