import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { AppError } from '@cloudflow/contracts';

/** Guards every /api/v1 route; failures keep the code and words of the strategy. */
@Injectable()
export class ApiAuthGuard extends AuthGuard('cloudflow') {
  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    if (error) throw error;
    if (!user) throw AppError.unauthorized('Authentication failed');
    return user;
  }
}
