// A PostgreSQL wire-protocol server in front of one PGlite instance.
//
// PGlite is a single Postgres session. Several clients (Prisma's pool, pg-boss, the CLI) share it,
// so the server serialises their work in units that keep each client's view consistent:
//  - a unit is everything a client sent up to and including a Sync ('S') or a simple Query ('Q'),
//    so one client's Parse/Bind/Execute never interleaves with another's;
//  - while the session is inside a transaction, only the client that opened it is served; the
//    others queue, much as they would wait on locks in a real server;
//  - a client that disconnects mid-transaction has its transaction rolled back;
//  - session state is per client: a unit whose SQL changes it (SET, RESET, set_config,
//    DISCARD...) marks the client; after that client's units (outside a transaction) the server
//    saves its session settings and runs RESET ALL, and restores them before its next unit. So one
//    psql `SET search_path` (or pg_dump's settings) never leaks into the app's queries;
//  - a client idle inside a transaction while others wait is rolled back and disconnected after
//    idleInTransactionMs (like PostgreSQL's idle_in_transaction_session_timeout): 2 s for outside
//    clients (psql, pg_dump, scripts), 60 s for the app's own (application_name pairwise*, pgboss),
//    so a forgotten BEGIN in psql stalls the app for at most two seconds, once.
// Temporary tables and prepared statements stay shared (PGlite has one session): outside tools
// should not rely on them.
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
  /** From the startup message; "pairwise*" and "pgboss" are the app's own clients. */
  applicationName = "";
  /** This client has changed session state: saved and reset around its units. */
  dirty = false;
  /** Its session settings, saved after its last unit (restored before its next one). */
  settings: Array<{ name: string; setting: string }> | null = null;
  /** When its last unit finished (ms). */
  lastActive = Date.now();
  /** Units of this connection are processed in order; this chains them. */
  tail: Promise<void> = Promise.resolve();
  constructor(readonly socket: net.Socket) {}
}

export interface PgliteServerOptions {
  db: PGlite;
  host?: string;
  port?: number;
  /** How long a client may sit idle inside a transaction while others wait (ms). */
  idleInTransactionMs?: { app: number; outside: number };
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
        conn.applicationName = startupParam(buf.subarray(8, len), "application_name") ?? "";
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
      if ((type === "Q" || type === "P") && changesSession(sqlOf(type, msg))) conn.dirty = true;
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
        if (idx < 0 && this.queue.length) this.watchIdleOwner();
        if (idx < 0 || this.queue.length === 0) break;
        const unit = this.queue.splice(idx, 1)[0]!;
        if (!unit.conn.closed) {
          if (unit.conn.settings && this.owner !== unit.conn) await this.restore(unit.conn);
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
          unit.conn.lastActive = Date.now();
          if (unit.conn.dirty && !this.owner) await this.saveAndReset(unit.conn);
        }
        unit.done();
      }
    } finally {
      this.processing = false;
    }
  }

  /** Save a client's session settings and reset the shared session to the defaults. */
  private async saveAndReset(conn: Connection): Promise<void> {
    try {
      const r = await this.opts.db.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE source = 'session'`,
      );
      conn.settings = r.rows;
      await this.opts.db.exec("RESET ALL");
    } catch (err) {
      this.opts.log?.(`client #${conn.id}: resetting its session state failed: ${(err as Error).message}`);
    }
  }

  /** Put a client's own session settings back before its next unit. */
  private async restore(conn: Connection): Promise<void> {
    for (const { name, setting } of conn.settings ?? []) {
      try {
        await this.opts.db.query(`SELECT set_config($1, $2, false)`, [name, setting]);
      } catch {
        // a setting that cannot be set back (read-only now): the client runs with the default
      }
    }
  }

  private idleTimer: NodeJS.Timeout | null = null;
  /** The owner holds a transaction and sends nothing while others wait: give it a deadline. */
  private watchIdleOwner(): void {
    if (this.idleTimer || !this.owner) return;
    const owner = this.owner;
    const limits = this.opts.idleInTransactionMs ?? { app: 60_000, outside: 2_000 };
    const limit = /^(pairwise|pgboss|pg-boss)/i.test(owner.applicationName) ? limits.app : limits.outside;
    const wait = Math.max(0, owner.lastActive + limit - Date.now());
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.owner !== owner || owner.closed) return void this.pump();
      const busy = this.processing || this.queue.some((u) => u.conn === owner);
      const others = this.queue.some((u) => u.conn !== owner);
      if (busy || !others) return void this.pump();
      if (Date.now() - owner.lastActive < limit) return this.watchIdleOwner();
      this.opts.log?.(
        `client #${owner.id} (${owner.applicationName || "no application_name"}) was idle in a transaction for ${limit} ms while others waited: rolled back and disconnected`,
      );
      if (!owner.socket.destroyed)
        owner.socket.write(
          errorResponse(
            "FATAL",
            "25P03",
            "terminating connection due to idle-in-transaction timeout: the embedded database serves one session, and other clients were waiting",
          ),
        );
      owner.socket.destroy();
      void this.disconnect(owner);
    }, wait + 5);
    this.idleTimer.unref?.();
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

/** A parameter of a startup message's body (key\0value\0 pairs). */
function startupParam(body: Buffer, key: string): string | null {
  const parts = body.toString("utf8").split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === key) return parts[i + 1]!;
  return null;
}

/** The SQL text of a simple Query ('Q') or a Parse ('P': statement name, then the text). */
function sqlOf(type: string, msg: Uint8Array): string {
  const body = Buffer.from(msg.buffer, msg.byteOffset + 5, msg.byteLength - 5);
  if (type === "Q") return body.toString("utf8", 0, Math.max(0, body.indexOf(0)));
  const nameEnd = body.indexOf(0);
  const textEnd = body.indexOf(0, nameEnd + 1);
  return body.toString("utf8", nameEnd + 1, textEnd < 0 ? body.length : textEnd);
}

// Statements that change session state (SET LOCAL and SET TRANSACTION end with their transaction).
const SESSION_CHANGE = /(^|;)\s*(SET\s+(?!LOCAL\b|TRANSACTION\b)|RESET\b|DISCARD\b)|\bset_config\s*\(/i;
export function changesSession(sql: string): boolean {
  return SESSION_CHANGE.test(sql);
}

/** A backend ErrorResponse message. */
function errorResponse(severity: string, code: string, message: string): Buffer {
  const fields = Buffer.concat([
    Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${message}\0`, "utf8"),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write("E", 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
