import { Module } from '@nestjs/common';

// Placeholder: filled in with the Matches feature.
@Module({})
export class MatchesModule {}
