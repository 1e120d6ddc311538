// A TCP proxy in front of a database, to cut its connections on demand (the way a restart, a
// network fault or pg_terminate_backend does), for fault tests on PostgreSQL and PGlite alike.
import net from "node:net";

export interface TcpProxy {
  /** The database URL through the proxy. */
  url: string;
  /** Destroy every open connection (both sides); returns how many. */
  cutAll(): number;
  /** Connections open now. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startTcpProxy(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl);
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const u = new URL(databaseUrl);
  u.hostname = "127.0.0.1";
  u.port = String((server.address() as net.AddressInfo).port);
  return {
    url: u.toString(),
    cutAll() {
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      return n;
    },
    get open() {
      return pairs.size;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => r());
      }),
  };
}
