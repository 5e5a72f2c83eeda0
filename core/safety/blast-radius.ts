/**
 * The blast-radius guard: what a run may break on this target. Destructive faults on anything but the lab
 * need --destructive; taking etcd quorum away needs its own --allow-quorum-loss; protected nodes are never
 * touched; never more nodes down at once than the profile allows.
 */
import { isOwnLab } from '../profile/target-kind.ts';
import type { NodeSpec, Profile } from '../profile/schema.ts';

export interface Permissions {
  destructive: boolean;
  quorumLoss: boolean;
  /** load against the profile's service addresses on a non-lab target (--load) */
  load?: boolean;
  /** `run --upgrade-to`: the release a rolling-upgrade suite may roll the cluster to */
  upgradeTo?: string;
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

export class BlastRadius {
  constructor(
    private readonly profile: Profile,
    private readonly permissions: Permissions,
  ) {}

  private get isLab(): boolean {
    return isOwnLab(this.profile);
  }

  mayBeDestructive(): Verdict {
    if (this.isLab || this.permissions.destructive || this.profile.safety.allowDestructive) return { allowed: true };
    return { allowed: false, reason: `destructive faults on target "${this.profile.metadata.name}" need --destructive` };
  }

  mayLoseQuorum(): Verdict {
    if (this.isLab || this.permissions.quorumLoss || this.profile.safety.allowQuorumLoss) return { allowed: true };
    return {
      allowed: false,
      reason: `taking etcd quorum away (a second control-plane node down) on "${this.profile.metadata.name}" needs --allow-quorum-loss`,
    };
  }

  /** May a suite send load (bounded by safety.maxLoadRps and safety.maxLoadSeconds) to this target's services? */
  mayLoad(): Verdict {
    if (this.isLab || this.permissions.load) return { allowed: true };
    return { allowed: false, reason: `load against the services of "${this.profile.metadata.name}" needs --load` };
  }

  /** May `node` go down while `alreadyDown` are down? */
  mayTakeDown(node: NodeSpec, alreadyDown: NodeSpec[]): Verdict {
    const destructive = this.mayBeDestructive();
    if (!destructive.allowed) return destructive;
    if (this.profile.safety.protectedNodes.includes(node.name)) {
      return { allowed: false, reason: `node ${node.name} is listed in safety.protectedNodes` };
    }
    const down = alreadyDown.filter((n) => n.name !== node.name);
    const cps = this.profile.nodes.filter((n) => n.role === 'control-plane');
    const cpsDown = [...down, node].filter((n) => n.role === 'control-plane').length;
    const quorum = Math.floor(cps.length / 2) + 1;
    if (node.role === 'control-plane' && cps.length - cpsDown < quorum) {
      const q = this.mayLoseQuorum();
      if (!q.allowed) return q;
      return { allowed: true };
    }
    if (down.length + 1 > this.profile.safety.maxNodesDown) {
      return {
        allowed: false,
        reason: `${node.name} would be node ${down.length + 1} down at once; safety.maxNodesDown is ${this.profile.safety.maxNodesDown}`,
      };
    }
    return { allowed: true };
  }
}
