import { AppError, ErrorCode } from '@cloudflow/contracts';
import { ConnectorError, mayPassOnRetry } from './connector-error';

describe('mayPassOnRetry', () => {
  it('follows what a connector says of its own failure', () => {
    expect(mayPassOnRetry(new ConnectorError('connection refused', false))).toBe(true);
    expect(mayPassOnRetry(new ConnectorError('the password is wrong', true))).toBe(false);
  });

  it('retries a service that did not answer or failed inside, never a refusal', () => {
    expect(mayPassOnRetry(AppError.unavailable('broker silent'))).toBe(true);
    expect(mayPassOnRetry(new AppError(ErrorCode.Internal, 'boom'))).toBe(true);
    expect(mayPassOnRetry(AppError.notFound('Data source', 'ds_1'))).toBe(false);
    expect(mayPassOnRetry(new AppError(ErrorCode.InvalidPipelineConfig, 'no parse'))).toBe(false);
  });
});
