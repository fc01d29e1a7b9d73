import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { Metadata } from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import { cheesefarm } from '#proto';
import { CHEESE_CLIENT } from '../grpc-clients/grpc-clients.module.js';
import { cheeseTypeName } from './cheese-types.js';

/** A cheese as the HTTP API shows it: the type by name. */
export interface CheeseView {
  type: string;
  age: number;
}

/** Orders cheese from cheese-service over gRPC. */
@Injectable()
export class CheeseOrdersService implements OnModuleInit {
  private cheeseService: cheesefarm.CheeseServiceClient;

  constructor(@Inject(CHEESE_CLIENT) private readonly client: ClientGrpc) {}

  onModuleInit(): void {
    this.cheeseService = this.client.getService<cheesefarm.CheeseServiceClient>(
      cheesefarm.CHEESE_SERVICE_NAME,
    );
  }

  async order(type: number): Promise<CheeseView> {
    const cheese = await lastValueFrom(this.cheeseService.order({ type }, new Metadata()));
    return { type: cheeseTypeName(cheese.type), age: cheese.age };
  }
}
