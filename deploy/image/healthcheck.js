// HEALTHCHECK of the CloudFlow image (slim images have no curl): exit 0 when
// GET http://127.0.0.1:$PORT<path> answers 200 within 3 s, 1 otherwise.
//
//   node deploy/image/healthcheck.js            # /healthz: the process serves HTTP
//   node deploy/image/healthcheck.js /readyz    # Kafka and MongoDB answer too
'use strict';
const http = require('node:http');

const path = process.argv[2] || '/healthz';
const port = Number(process.env.PORT || 8080);
// A wildcard listen address is reached on loopback; a specific one only on itself.
const listen = process.env.HOST || '';
const host = ['', '0.0.0.0', '::'].includes(listen) ? '127.0.0.1' : listen;

const fail = (reason) => {
  process.stderr.write(`healthcheck: http://${host}:${port}${path}: ${reason}\n`);
  process.exit(1);
};

const request = http.get({ host, port, path, timeout: 3000 }, (response) => {
  response.resume();
  if (response.statusCode === 200) process.exit(0);
  fail(`HTTP ${response.statusCode}`);
});
request.on('timeout', () => request.destroy(new Error('no answer within 3 s')));
request.on('error', (error) => fail(error.message));
