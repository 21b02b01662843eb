// The seed's Node worker as PM2 runs it in cluster mode: PM2 is the master and shares
// the port through Node's cluster module, so the program listens on the port itself.
// GET /crash answers, then throws; PM2 restarts the process when it has exited (PM2
// has no notice that would start the replacement first).
// usage: PORT=N pm2-runtime start node-seed-port.js -i WORKERS
'use strict';
const http = require('http');

const server = http.createServer((req, res) => {
  const body = `I am worker, pid:${process.pid}, ppid:${process.ppid}`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  if (req.url === '/crash') setImmediate(() => { throw new Error('crash on purpose (/crash)'); });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.env.PORT), '127.0.0.1');
