import { Module } from '@nestjs/common';

// Placeholder: filled in with the Uploads feature.
@Module({})
export class UploadsModule {}
