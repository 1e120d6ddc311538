// A PostgreSQL wire-protocol server in front of one PGlite instance.
//
// PGlite is a single Postgres session. Several clients (Prisma's pool, pg-boss, the CLI) share it,
// so the server serialises their work in units that keep each client's view consistent:
//  - a unit is everything a client sent up to and including a Sync ('S') or a simple Query ('Q'),
//    so one client's Parse/Bind/Execute never interleaves with another's;
//  - while the session is inside a transaction, only the client that opened it is served; the
//    others queue, much as they would wait on locks in a real server;
//  - a client that disconnects mid-transaction has its transaction rolled back.
// This replaces @electric-sql/pglite-socket's multiplexer, which interleaves single messages of
// different clients (a Parse of one between another's Parse and Bind) under concurrency.
import net from "node:net";
import type { PGlite } from "@electric-sql/pglite";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;

interface Unit {
  conn: Connection;
  messages: Uint8Array[];
  done: () => void;
}

class Connection {
  static nextId = 1;
  readonly id = Connection.nextId++;
  buffer: Buffer = Buffer.alloc(0);
  started = false;
  pending: Uint8Array[] = [];
  closed = false;
  /** Units of this connection are processed in order; this chains them. */
  tail: Promise<void> = Promise.resolve();
  constructor(readonly socket: net.Socket) {}
}

export interface PgliteServerOptions {
  db: PGlite;
  host?: string;
  port?: number;
  /** Called with a message when something unexpected happens to a client. */
  log?: (msg: string) => void;
}

export class PgliteServer {
  private server: net.Server | null = null;
  private readonly queue: Unit[] = [];
  private owner: Connection | null = null;
  private processing = false;
  private readonly conns = new Set<Connection>();
  private stopping = false;
  port = 0;

  constructor(private readonly opts: PgliteServerOptions) {}

  async start(): Promise<{ host: string; port: number }> {
    const host = this.opts.host ?? "127.0.0.1";
    await this.opts.db.waitReady;
    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.opts.port ?? 0, host, () => {
        this.server!.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address();
    if (!addr || typeof addr !== "object") throw new Error("PGlite server has no address");
    this.port = addr.port;
    return { host, port: this.port };
  }

  /** Stop accepting, let queued work finish, roll back what a client left open, close sockets. */
  async stop(): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const c of this.conns) c.socket.end();
    const deadline = Date.now() + 5000;
    while ((this.processing || this.queue.length) && Date.now() < deadline) await sleep(20);
    for (const c of this.conns) c.socket.destroy();
    if (this.opts.db.isInTransaction()) await this.opts.db.exec("ROLLBACK");
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Connection(socket);
    this.conns.add(conn);
    socket.on("data", (chunk: Buffer) => {
      conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
      try {
        this.frame(conn);
      } catch (err) {
        this.opts.log?.(`client #${conn.id}: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => void this.disconnect(conn));
  }

  /** Split the byte stream into messages and units. */
  private frame(conn: Connection): void {
    for (;;) {
      const buf = conn.buffer;
      if (!conn.started) {
        if (buf.length < 8) return;
        const len = buf.readInt32BE(0);
        if (buf.length < len) return;
        const code = buf.readInt32BE(4);
        conn.buffer = buf.subarray(len);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.socket.write("N"); // no TLS on a localhost-only server
          continue;
        }
        if (code === CANCEL_REQUEST) {
          conn.socket.end();
          return;
        }
        if (code !== PROTOCOL_3) throw new Error(`unsupported protocol ${code}`);
        conn.started = true;
        this.enqueue(conn, [new Uint8Array(buf.subarray(0, len))]);
        continue;
      }
      if (buf.length < 5) return;
      const len = buf.readInt32BE(1) + 1;
      if (buf.length < len) return;
      const type = String.fromCharCode(buf[0]!);
      const msg = new Uint8Array(buf.subarray(0, len));
      conn.buffer = buf.subarray(len);
      if (type === "X") {
        conn.socket.end(); // Terminate: never forward, it would end the shared session
        return;
      }
      conn.pending.push(msg);
      if (type === "S" || type === "Q" || type === "H" || type === "c" || type === "f") {
        const messages = conn.pending;
        conn.pending = [];
        this.enqueue(conn, messages);
      }
    }
  }

  private enqueue(conn: Connection, messages: Uint8Array[]): void {
    conn.tail = conn.tail.then(
      () =>
        new Promise<void>((done) => {
          this.queue.push({ conn, messages, done });
          void this.pump();
        }),
    );
  }

  private async pump(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const idx = this.owner ? this.queue.findIndex((u) => u.conn === this.owner) : 0;
        if (idx < 0 || this.queue.length === 0) break;
        const unit = this.queue.splice(idx, 1)[0]!;
        if (!unit.conn.closed) {
          for (const m of unit.messages) {
            try {
              await this.opts.db.execProtocolRawStream(m, {
                onRawData: (data: Uint8Array) => {
                  if (!unit.conn.closed && data.length) unit.conn.socket.write(data);
                },
              });
            } catch (err) {
              this.opts.log?.(`client #${unit.conn.id}: ${(err as Error).message}`);
            }
          }
          this.owner = this.opts.db.isInTransaction() ? unit.conn : null;
        }
        unit.done();
      }
    } finally {
      this.processing = false;
    }
  }

  private async disconnect(conn: Connection): Promise<void> {
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    // Drop its queued work; if it held the session inside a transaction, roll that back.
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.conn === conn) this.queue.splice(i, 1)[0]!.done();
    }
    if (this.owner === conn) {
      while (this.processing) await sleep(1);
      if (this.owner === conn) {
        if (this.opts.db.isInTransaction()) await this.opts.db.exec("ROLLBACK");
        this.owner = null;
      }
      void this.pump();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
