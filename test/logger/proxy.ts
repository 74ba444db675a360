/**
 * A real HTTP proxy in front of the real Elasticsearch, controlled by the test: each request is
 * forwarded (and its answer passed back unchanged), answered with a 503 or a 413 of our own, or
 * stalled (read in full, never answered) — so the logger meets a failing, hanging or size-limited
 * cluster while everything it does reach is stored by the real server.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * `forward`: pass through. `fail503`: answer 503 without forwarding. `stall`: never answer, never
 * forward. `forwardThenStall`: forward (Elasticsearch stores it) but never pass the answer back — the
 * ambiguous failure a timeout or a reset connection leaves the client with. `tooLarge`: answer 413
 * with nginx's page, as an ingress with `client_max_body_size` does for a body over its limit.
 */
export type ProxyAction = 'forward' | 'fail503' | 'stall' | 'forwardThenStall' | 'tooLarge';

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
  /** Bytes of the body as received (UTF-8). */
  bytes: number;
  action: ProxyAction;
  /** For forwarded requests: the status Elasticsearch answered. */
  status?: number;
}

export class EsProxy {
  /** Decides what happens to each request; forward everything by default. */
  decide: (req: { method: string; path: string; body: string; bytes: number }) => ProxyAction = () =>
    'forward';
  /** Milliseconds to hold a forwarded request before passing it on (a slow cluster); 0 by default. */
  delayMs: (req: { method: string; path: string; body: string }) => number = () => 0;
  readonly requests: ProxiedRequest[] = [];
  /** Client sockets currently open (the logger's keep-alive connections). */
  readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<IncomingMessage>();
  private server: Server | undefined;
  private target: URL;
  url = '';

  constructor(target: string) {
    this.target = new URL(target);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const info = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          body: body.toString('utf8'),
          bytes: body.length,
        };
        const action = this.decide(info);
        const record: ProxiedRequest = { ...info, action };
        this.requests.push(record);
        if (action === 'stall') {
          this.stalled.add(req);
          return;
        }
        if (action === 'fail503') {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ error: { type: 'proxy_unavailable', reason: 'test proxy' }, status: 503 }),
          );
          return;
        }
        if (action === 'tooLarge') {
          res.writeHead(413, { 'content-type': 'text/html' });
          res.end(
            '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n' +
              '<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n' +
              '</body>\r\n</html>\r\n',
          );
          return;
        }
        const headers = { ...req.headers, host: this.target.host };
        const forward = () => {
          const upstream = request(
            {
              host: this.target.hostname,
              port: this.target.port,
              method: req.method,
              path: req.url,
              headers,
            },
            (answer) => {
              record.status = answer.statusCode;
              if (action === 'forwardThenStall') {
                answer.resume();
                return;
              }
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          upstream.on('error', (error) => {
            res.writeHead(502);
            res.end(String(error));
          });
          upstream.end(body);
        };
        const delay = this.delayMs(info);
        if (delay > 0) setTimeout(forward, delay);
        else forward();
      });
    });
    // Never close an idle keep-alive connection from this side: only the client closes them.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy has no port');
    this.url = `http://127.0.0.1:${address.port}`;
    return this.url;
  }

  /** Bulk requests seen so far (any action). */
  bulks(): ProxiedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/_bulk'));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.stalled.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
