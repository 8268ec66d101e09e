import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { PIPELINES_COLLECTION, PipelineSchema } from './pipeline.schema';
import { PipelinesController } from './pipelines.controller';
import { PipelinesRepository } from './pipelines.repository';
import { PipelinesService } from './pipelines.service';

@Module({
  imports: [MongooseModule.forFeature([{ name: PIPELINES_COLLECTION, schema: PipelineSchema }])],
  controllers: [PipelinesController],
  providers: [PipelinesService, PipelinesRepository],
})
export class PipelinesModule {}
