// The shared-state peer of bench/run: sessions and a counter in Redis, the way a Node
// user builds them (express, express-session, connect-redis and the redis client), on
// a cluster of N workers. Usage: node node-session-cluster.js PORT WORKERS REDIS_SOCKET
'use strict';
const cluster = require('node:cluster');

const [port, workers, redisSocket] = process.argv.slice(2);

if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  cluster.on('exit', () => cluster.fork());
} else {
  const express = require('express');
  const session = require('express-session');
  const RedisStore = require('connect-redis').default;
  const { createClient } = require('redis');

  const client = createClient({ socket: { path: redisSocket } });
  client.on('error', (error) => console.error('redis:', error.message));
  client.connect();

  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(session({
    store: new RedisStore({ client, prefix: 'node:sess:' }),
    secret: 'bench only',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 24 * 3600 * 1000 },
  }));
  app.get('/', (req, res) => res.send('ok'));
  app.post('/login', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = req.body.user;
      res.send(`logged in as ${req.body.user}\n`);
    });
  });
  app.get('/me', (req, res) => {
    if (!req.session.user) return res.status(401).send('not logged in\n');
    res.send(`${req.session.user}\n`);
  });
  app.post('/visits', async (req, res, next) => {
    try {
      res.send(`${await client.incr('node:visits')}\n`);
    } catch (error) {
      next(error);
    }
  });
  app.get('/visits', async (req, res, next) => {
    try {
      res.send(`${(await client.get('node:visits')) || 0}\n`);
    } catch (error) {
      next(error);
    }
  });
  app.listen(Number(port), '127.0.0.1');
}
