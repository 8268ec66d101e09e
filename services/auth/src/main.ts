import './tracing';
import { runService } from '@cloudflow/runtime';
import { authService } from './auth.service';

void runService(authService);
