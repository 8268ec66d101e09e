import './tracing';
import { runService } from '@cloudflow/runtime';
import { workerService } from './worker.service';

void runService(workerService);
