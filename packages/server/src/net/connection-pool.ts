/**
 * Keep-alive connections for outbound requests that go to the same receiver again and again
 * (webhooks), without weakening the DNS pinning of pinned-http.ts.
 *
 * Every request is still checked on its own: its host is resolved and every address vetted before
 * it is sent. The pool only decides which socket carries it, and it keeps one agent per *checked
 * address* (plus port, scheme and host name, which TLS verifies against): a socket in an agent was
 * opened to that agent's address, so a request can only ride a connection to the address that was
 * just checked for it. A host whose DNS answer changes gets a new agent; the old one's idle sockets
 * time out. Beyond `maxAgents`, the least recently used agent is dropped (its idle connections closed).
 */
import http from "node:http";
import https from "node:https";

/** What the pool needs of a checked target (pinned-http.ts's CheckedTarget has it). */
export interface PooledTarget {
  url: URL;
  hostname: string;
  port: number;
  /** The request is pinned to the first. */
  addresses: ReadonlyArray<{ address: string }>;
}

export interface ConnectionPoolOptions {
  /** Idle connections kept per address (default 8). */
  maxIdlePerAddress?: number;
  /** An idle connection is closed after this long (default 4 s: under Node's 5 s server default). */
  idleMs?: number;
  /** Addresses with an agent at once (default 256). */
  maxAgents?: number;
}

export class ConnectionPool {
  private readonly agents = new Map<string, http.Agent>();
  private readonly options: Required<ConnectionPoolOptions>;

  constructor(options: ConnectionPoolOptions = {}) {
    this.options = {
      maxIdlePerAddress: options.maxIdlePerAddress ?? 8,
      idleMs: options.idleMs ?? 4000,
      maxAgents: options.maxAgents ?? 256,
    };
  }

  /** The agent for requests pinned to `target.addresses[0]`. */
  agentFor(target: PooledTarget): http.Agent {
    const pinned = target.addresses[0]!;
    const tls = target.url.protocol === "https:";
    const key = `${tls ? "https" : "http"}|${pinned.address}|${target.port}|${target.hostname}`;
    let agent = this.agents.get(key);
    if (agent) {
      this.agents.delete(key); // re-inserted last: the Map's order is least recently used first
    } else {
      const settings = {
        keepAlive: true,
        maxFreeSockets: this.options.maxIdlePerAddress,
        timeout: this.options.idleMs,
        scheduling: "lifo" as const, // the most recently used socket is the least likely to be closed
      };
      agent = tls ? new https.Agent(settings) : new http.Agent(settings);
      if (this.agents.size >= this.options.maxAgents) {
        const [oldestKey, oldest] = this.agents.entries().next().value!;
        this.agents.delete(oldestKey);
        // Close its idle connections only: a slow request may still be using one of the others,
        // which goes idle when it ends and is closed by the idle timeout.
        for (const sockets of Object.values(oldest.freeSockets)) for (const s of sockets ?? []) s.destroy();
      }
    }
    this.agents.set(key, agent);
    return agent;
  }

  /** Close every pooled connection (at shutdown). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
