// The seed's Node.js cluster, as the user's document describes it: the master forks
// one worker per requested CPU and shares its server handle with them; each worker
// answers "I am worker, pid:<pid>, ppid:<ppid>". GET /crash answers, then throws: the
// worker sends {act: 'suicide'}, the master forks a replacement at once, and the
// worker exits once its connections are closed.
// usage: node node-cluster.js PORT WORKERS KEEPALIVE_MS
const cluster = require('cluster');
const http = require('http');

const [port, workers, keepAlive] = process.argv.slice(2).map(Number);

if (cluster.isPrimary) {
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message) => {
      if (message && message.act === 'suicide') fork();
    });
  };
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', () => {});
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  });
} else {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`I am worker, pid:${process.pid}, ppid:${process.ppid}`);
    if (req.url === '/crash') throw new Error('crash after answering, like the seed');
  });
  server.keepAliveTimeout = keepAlive;
  server.listen(port, '127.0.0.1');
  process.on('uncaughtException', () => {
    process.send({ act: 'suicide' });
    server.close(() => process.exit(1));
    setTimeout(() => process.exit(1), 5000).unref();
  });
}
