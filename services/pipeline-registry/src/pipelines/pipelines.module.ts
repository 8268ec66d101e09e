import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import {
  PIPELINES_COLLECTION,
  PIPELINE_VERSIONS_COLLECTION,
  PipelineSchema,
  PipelineVersionSchema,
} from './pipeline.schema';
import { PipelinesController } from './pipelines.controller';
import { PipelinesRepository } from './pipelines.repository';
import { PipelinesService } from './pipelines.service';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: PIPELINES_COLLECTION, schema: PipelineSchema },
      { name: PIPELINE_VERSIONS_COLLECTION, schema: PipelineVersionSchema },
    ]),
  ],
  controllers: [PipelinesController],
  providers: [PipelinesService, PipelinesRepository],
})
export class PipelinesModule {}
