import type { TrailNode } from '../../scripts/trail/collect.ts';

/** Every node of a trail's causal trees, depth first: each before what it caused. */
export const trailNodes = (nodes: readonly TrailNode[], out: TrailNode[] = []): TrailNode[] => {
  for (const n of nodes) {
    out.push(n);
    trailNodes(n.caused, out);
  }
  return out;
};
