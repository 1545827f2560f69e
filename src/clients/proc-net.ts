/** Reading a network namespace's TCP sockets from /proc/net/tcp (IPv4), as `ss` does. */
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

/** An IPv4 address and port as /proc/net/tcp prints them: host-order hex, e.g. 0100007F:1F90. */
export function procAddress(address: string, port: number): string {
  const word = Buffer.from(address.split('.').map(Number));
  const host = endianness() === 'LE' ? word.reverse() : word;
  return `${host.toString('hex').toUpperCase()}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The sockets to `remote` by local port, with their state. */
export function socketsTo(table: string, remote: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[2] !== remote || !cols[1] || !cols[3]) continue;
    out.set(parseInt(cols[1].split(':')[1] ?? '0', 16), STATES[cols[3]] ?? cols[3]);
  }
  return out;
}
