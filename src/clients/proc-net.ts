/** Reading a network namespace's TCP sockets from /proc/net/tcp and tcp6, as `ss` does. */
import { endianness } from 'node:os';

/** /proc/net/tcp state codes (include/net/tcp_states.h). */
const STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/** 32-bit words as /proc/net prints them: each word's bytes in host order, in hex. */
const words = (bytes: number[]): string => {
  const buf = Buffer.from(bytes);
  if (endianness() === 'LE')
    for (let w = 0; w < buf.length; w += 4) buf.subarray(w, w + 4).reverse();
  return buf.toString('hex').toUpperCase();
};

/**
 * An IPv4 address and port as /proc/net/tcp lists it (e.g. 0100007F:1F90 for 127.0.0.1:8080),
 * and as /proc/net/tcp6 lists it for sockets that reach it as ::ffff:a.b.c.d (Java, .NET).
 */
export function procAddresses(address: string, port: number): [v4: string, mapped: string] {
  const v4 = address.split('.').map(Number);
  const p = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return [`${words(v4)}${p}`, `${words([...Array<number>(10).fill(0), 0xff, 0xff, ...v4])}${p}`];
}

export interface TcpSocket {
  localPort: number;
  state: string;
  /** The socket's inode; 0 once no process holds it (closed, TIME_WAIT). */
  inode: string;
}

/** The sockets whose remote end is one of `remotes`, from /proc/net/tcp and tcp6 tables. */
export function socketsTo(tables: readonly string[], remotes: readonly string[]): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (!cols[2] || !remotes.includes(cols[2]) || !cols[1] || !cols[3]) continue;
      out.push({
        localPort: parseInt(cols[1].split(':').pop() ?? '0', 16),
        state: STATES[cols[3]] ?? cols[3],
        inode: cols[9] ?? '0',
      });
    }
  }
  return out;
}

/** Whether a socket listens on `port` (any address), in /proc/net/tcp and tcp6 tables. */
export function listensOn(tables: readonly string[], port: number): boolean {
  const p = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return tables.some((table) =>
    table
      .split('\n')
      .slice(1)
      .some((line) => {
        const cols = line.trim().split(/\s+/);
        return cols[1]?.endsWith(p) === true && cols[3] === '0A';
      }),
  );
}
