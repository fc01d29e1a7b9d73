import { Inject, Injectable } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import type { cheesefarm } from '#proto';
import { CHEESE_SERVICE } from '../grpc-clients/grpc-clients.module.js';
import type { CheeseView } from '../openapi/models.js';
import { cheeseTypeName } from './cheese-types.js';

/** Orders cheese from cheese-service over gRPC. */
@Injectable()
export class CheeseOrdersService {
  constructor(
    @Inject(CHEESE_SERVICE) private readonly cheeseService: cheesefarm.CheeseServiceClient,
  ) {}

  async order(type: number): Promise<CheeseView> {
    const cheese = await lastValueFrom(this.cheeseService.order({ type }, new Metadata()));
    return { type: cheeseTypeName(cheese.type), age: cheese.age };
  }
}
