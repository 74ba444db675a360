/** A real SMTP peer for the report tests: smtp-server on 127.0.0.1, messages kept raw and parsed with mailparser. */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string | undefined;
  rcptTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpPeer {
  port: number;
  /** `smtp://user:password@127.0.0.1:port`. */
  url: string;
  received: ReceivedMail[];
  /** Sessions that tried to log in with a wrong password. */
  rejectedLogins: number;
  /** Resolves once `n` messages arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export const SMTP_USER = 'mlmon-reports';
export const SMTP_PASSWORD = 'pa55-w0rd-never-logged';

/** Starts a peer that requires AUTH (user and password above); STARTTLS off, plain auth allowed on loopback. */
export async function startSmtpPeer(options: { failFirst?: number } = {}): Promise<SmtpPeer> {
  let failures = options.failFirst ?? 0;
  const peer: Omit<SmtpPeer, 'port' | 'url' | 'close'> & { port: number; url: string } = {
    port: 0,
    url: '',
    received: [],
    rejectedLogins: 0,
    waitFor: async (n, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (peer.received.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${peer.received.length} of ${n} mails arrived`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return peer.received;
    },
  };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: SMTP_USER });
      else {
        peer.rejectedLogins++;
        callback(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const error = new Error('mailbox busy, try again later') as Error & { responseCode: number };
          error.responseCode = 451;
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw, { skipImageLinks: true }).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            peer.received.push({
              from: from ? from.address : undefined,
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              raw,
              parsed,
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  peer.port = typeof address === 'object' && address ? address.port : 0;
  peer.url = `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${peer.port}`;
  return Object.assign(peer, {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Width and height from a PNG's IHDR chunk, after checking the 8-byte signature. */
export function pngSize(buffer: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!buffer.subarray(0, 8).equals(signature)) throw new Error('not a PNG: bad signature');
  if (buffer.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG: first chunk is not IHDR');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}
