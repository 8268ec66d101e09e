import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CALLBACK_PATH = '/callback';

/** What the browser brought back: a code, or the authorization server's refusal. */
export type CallbackResult =
  | { ok: true; code: string }
  | { ok: false; error: string; description?: string };

export interface LoopbackReceiver {
  /** `http://127.0.0.1:<port>/callback`, to send as redirect_uri. */
  redirectUri: string;
  /** Settles with the first redirect carrying this login's `state`. */
  result: Promise<CallbackResult>;
  close(): void;
}

/**
 * The native-app redirect of RFC 8252 (7.3): a one-shot HTTP server on the
 * loopback IP literal and a port the system picks, so that nothing else on
 * the network can reach it and two logins never collide. A redirect whose
 * `state` is not this login's is answered 400 and otherwise ignored: only
 * our own authorization request can end the wait.
 */
export async function startLoopbackReceiver(state: string): Promise<LoopbackReceiver> {
  let settle!: (result: CallbackResult) => void;
  const result = new Promise<CallbackResult>((resolve) => (settle = resolve));
  let done = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      return page(res, 404, 'Not found', 'This address only receives CloudFlow sign-ins.');
    }
    if (done || url.searchParams.get('state') !== state) {
      return page(
        res,
        400,
        'Unknown sign-in',
        'This sign-in does not belong to the cloudflow login that is waiting. Start again from the terminal.',
      );
    }
    const code = url.searchParams.get('code');
    const error = url.searchParams.get('error');
    done = true;
    const outcome: CallbackResult =
      code && !error
        ? { ok: true, code }
        : {
            ok: false,
            error: error ?? 'invalid_request',
            description: url.searchParams.get('error_description') ?? undefined,
          };
    // Settled once the page is on its way, so that closing the server cannot cut it off;
    // and one shot: nothing else is served after it.
    res.on('finish', () => {
      server.close();
      settle(outcome);
    });
    if (outcome.ok) {
      page(
        res,
        200,
        'Signed in',
        'You are signed in to CloudFlow. You can close this window and return to the terminal.',
      );
    } else {
      page(res, 400, 'Sign-in failed', outcome.description ?? outcome.error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    result,
    close: () => {
      server.close();
      server.closeIdleConnections();
    },
  };
}

function page(res: ServerResponse, status: number, title: string, message: string): void {
  const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  res.end(
    `<!doctype html><html><head><meta charset="utf-8"><title>CloudFlow: ${escape(title)}</title></head>` +
      `<body><h1>${escape(title)}</h1><p>${escape(message)}</p></body></html>`,
  );
}
