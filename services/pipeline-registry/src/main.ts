import './tracing';
import { runService } from '@cloudflow/runtime';
import { pipelineRegistryService } from './pipeline-registry.service';

void runService(pipelineRegistryService);
