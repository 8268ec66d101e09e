import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { compactDecrypt } from 'jose';
import type { Connection } from 'mongoose';
import { AppError, ErrorCode, type TransitKeys as TransitKeySet } from '@cloudflow/contracts';
import {
  DATASOURCE_TRANSIT_KEYS,
  SealedKeyPairs,
  SecretBox,
  databaseOf,
} from '@cloudflow/persistence';
import { SECRET_BOX } from './secret-box.token';

/**
 * The broker's ECDH-ES key pair: the gateway seals every connection string
 * it receives to the public half (a compact JWE), so passwords cross Kafka
 * readable by the broker alone (ADR 0010).
 */
@Injectable()
export class TransitKeys implements OnModuleInit {
  private readonly logger = new Logger(TransitKeys.name);
  private readonly keys: SealedKeyPairs;

  constructor(@InjectConnection() connection: Connection, @Inject(SECRET_BOX) box: SecretBox) {
    this.keys = new SealedKeyPairs(
      databaseOf(connection),
      DATASOURCE_TRANSIT_KEYS,
      box,
      'ECDH-ES',
      {
        crv: 'P-256',
      },
    );
  }

  async onModuleInit(): Promise<void> {
    const { kid } = await this.keys.current();
    this.logger.log({ kid }, 'data source transit key loaded');
  }

  async publicKeys(): Promise<TransitKeySet> {
    return { keys: await this.keys.publicKeys('enc') };
  }

  /** Opens a connection string the gateway sealed; a JWE it cannot open is a 400. */
  async open(jwe: string): Promise<string> {
    try {
      const { plaintext } = await compactDecrypt(
        jwe,
        async (header) => {
          const key = header.kid ? await this.keys.byId(header.kid) : undefined;
          if (!key) throw new Error('unknown transit key');
          return key;
        },
        { keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: ['A256GCM'] },
      );
      return new TextDecoder().decode(plaintext);
    } catch {
      throw new AppError(
        ErrorCode.BadRequest,
        'The connection string could not be read on its way to the broker; send it again',
      );
    }
  }
}
