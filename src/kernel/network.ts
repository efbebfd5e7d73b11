/** A firewall rule as data: table, chain and the iptables arguments. */
export interface FirewallRule {
  table: 'filter' | 'nat';
  chain: string;
  args: string[];
}

/**
 * The host network operations the bridge driver needs (the seed's networkdriver). Contract:
 * - `createBridge` is idempotent for the same name and address; a name held by a non-bridge
 *   link fails with Conflict.
 * - `addRule` of a rule already present adds nothing; `deleteRule` of an absent rule is a no-op.
 * - every resource created can be listed and removed, so a daemon restart can reconcile.
 * - `publishPort` binds the host side for real (also on the fake, on loopback) and forwards
 *   to the container side until `unpublishPort`.
 */
export interface NetworkKernel {
  createBridge(name: string, cidr: string, mtu: number): Promise<void>;
  deleteBridge(name: string): Promise<void>;
  listLinks(): Promise<{ name: string; kind: string; addresses: string[]; mtu: number }[]>;
  connectContainer(containerId: string, bridge: string, opts: { address: string; gateway: string; mtu: number; mac: string }): Promise<{ hostVeth: string }>;
  disconnectContainer(containerId: string, hostVeth: string): Promise<void>;
  setSysctl(key: string, value: string): Promise<void>;
  getSysctl(key: string): Promise<string>;
  addRule(rule: FirewallRule): Promise<void>;
  deleteRule(rule: FirewallRule): Promise<void>;
  listRules(table: FirewallRule['table']): Promise<FirewallRule[]>;
  publishPort(spec: { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; containerIp: string; containerPort: number }): Promise<{ hostPort: number }>;
  unpublishPort(spec: { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number }): Promise<void>;
}
