import './tracing';
import { runService } from '@cloudflow/runtime';
import { datasourceBrokerService } from './datasource-broker.service';

void runService(datasourceBrokerService);
