import './tracing';
import { runService } from '@cloudflow/runtime';
import { gatewayService } from './gateway.service';

void runService(gatewayService);
