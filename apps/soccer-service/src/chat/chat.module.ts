import { Module } from '@nestjs/common';

// Placeholder: filled in with the Chat feature.
@Module({})
export class ChatModule {}
